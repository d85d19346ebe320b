#!/usr/bin/env node
/** pnpm stores:example <dir>: writes generated copies of the three legacy stores (runbook example). */
import { resolve } from 'node:path';
import { makeExampleStores } from './example-stores.js';

const USAGE = `Usage: stores:example <directory>
Writes generated copies of the three legacy stores of seed 004 under <directory>/data/
(analysis_storage/analysis_data.db, prompts.db, governance/governance.db): every SQLite storage
class, NULLs, JSON text, epoch and ISO dates, duplicate keys and broken rows. The directory must
not hold them already.
`;

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const [arg] = args;
// `--bogus` is an unknown option, not a directory to write into.
if (!arg || args.length > 1 || arg.startsWith('-')) {
  process.stderr.write(arg?.startsWith('-') ? `stores:example: unknown option ${arg}\n${USAGE}` : USAGE);
  process.exit(2);
}
const stores = makeExampleStores(resolve(process.env.INIT_CWD ?? process.cwd(), arg));
for (const [name, file] of Object.entries(stores.files)) process.stdout.write(`${name}: ${file}\n`);
