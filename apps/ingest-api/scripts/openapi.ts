import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { buildDocument, DOCUMENT_PATH, lintDocument, readCommitted, serialise } from './openapi-document.js';

const HELP = `Usage: pnpm --filter @prospectflow/ingest-api openapi [--check]

Builds the app (no database, Redis or network needed), lints its OpenAPI document with Redocly's
recommended rules, writes it to apps/ingest-api/openapi.json and regenerates the client's types
(pnpm --filter @prospectflow/api-client generate). Commit both files.

  --check   write nothing; exit 1 when openapi.json or the client's types are stale, or the lint fails
  --help    this text
`;

const { values } = parseArgs({ options: { check: { type: 'boolean' }, help: { type: 'boolean' } } });
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const document = await buildDocument();
const problems = await lintDocument(document);
for (const problem of problems) console.error(`lint: ${problem}`);

/** The client's types follow the document (packages/api-client). */
const client = (script: string) =>
  spawnSync('pnpm', ['--silent', '--filter', '@prospectflow/api-client', 'run', script], { stdio: 'inherit' })
    .status === 0;

if (values.check) {
  const current = fs.existsSync(DOCUMENT_PATH) && isDeepStrictEqual(readCommitted(), document);
  if (!current)
    console.error(`${DOCUMENT_PATH} is stale: run pnpm --filter @prospectflow/ingest-api openapi`);
  const types = current && client('generate:check');
  process.exit(current && types && problems.length === 0 ? 0 : 1);
}
fs.writeFileSync(DOCUMENT_PATH, serialise(document));
console.log(`wrote ${DOCUMENT_PATH}`);
const generated = client('generate');
process.exit(problems.length === 0 && generated ? 0 : 1);
