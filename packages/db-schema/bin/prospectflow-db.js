#!/usr/bin/env node
// The `prospectflow-db` command. A committed file, not dist/cli.js itself: pnpm install links a
// workspace package's bins into its dependants before anything is built, and warned once per
// dependant when the target did not exist yet.
import { runCli } from '../dist/cli.js';

process.exitCode = await runCli(process.argv.slice(2));
