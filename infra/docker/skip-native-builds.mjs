#!/usr/bin/env node
// Used by the Dockerfiles right after `turbo prune`: the pruned lockfile still lists better-sqlite3
// because Prisma names it as an optional peer, but no app image loads it (the legacy SQLite
// importer lives in apps/legacy-import). Taking it off pnpm's allowed build scripts means the
// install never compiles it and needs no C toolchain; pnpm then skips its install script with a
// notice. The legacy-import image compiles it once, in a stage of its own (its Dockerfile).
// usage: node infra/docker/skip-native-builds.mjs <package.json>...
import { readFileSync, writeFileSync } from 'node:fs';

const notBuilt = new Set(['better-sqlite3']);
const files = process.argv.slice(2);
if (files.length === 0 || files.includes('--help') || files.includes('-h')) {
  console.log('usage: node infra/docker/skip-native-builds.mjs <package.json>...');
  process.exit(files.length === 0 ? 1 : 0);
}
for (const file of files) {
  const manifest = JSON.parse(readFileSync(file, 'utf8'));
  const allowed = manifest.pnpm?.onlyBuiltDependencies ?? [];
  manifest.pnpm = { ...manifest.pnpm, onlyBuiltDependencies: allowed.filter((name) => !notBuilt.has(name)) };
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
}
