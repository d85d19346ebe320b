/**
 * Import throughput, ratios from one run (not a test):
 *   tsx bench/import-csv.ts [rows=100000]      engine vs raw COPY vs Prisma createMany
 *   tsx bench/import-csv.ts --memory [rows=1000000]   peak RSS of a streamed import
 * Uses BENCH_DATABASE_URL / TEST_DATABASE_URL (superuser) or an embedded PostgreSQL.
 * "Ours" = the import engine end to end from a CSV file on disk (decode, parse, COPY to staging,
 * SQL validation/normalisation/dedupe/suppression, upserts, per-row errors, status) in one
 * tenant transaction; HTTP spooling is excluded (a sequential disk write).
 * "Raw COPY" = the same rows already normalised in memory, COPY'd straight into crm.companies,
 * crm.people and crm.positions in one transaction as the superuser (no validation at all; COPY
 * is refused under RLS for the app role).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createPrismaClient } from '@prospectflow/db-schema';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { prepareCsvFile } from '../src/imports/prepare.js';
import { createImport } from '../src/imports/repository.js';
import { runImport } from '../src/imports/run-import.js';
import { csvStream, siren } from './import-data.js';
import { benchDatabase } from './import-db.js';

const memoryMode = process.argv.includes('--memory');
const rows = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? (memoryMode ? 1_000_000 : 100_000));
const db = await benchDatabase();
const pool = new pg.Pool({ connectionString: db.appUrl, max: 4 });
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 2 });

async function newTenant() {
  const organisationId = randomUUID();
  await admin.query('INSERT INTO iam.organisations (id, name, slug) VALUES ($1, $2, $3)', [
    organisationId,
    'Bench',
    `b-${organisationId}`,
  ]);
  return { organisationId };
}

const path = join(tmpdir(), `pf-bench-${rows}.csv`);
await pipeline(csvStream(rows), createWriteStream(path));

async function ours(): Promise<number> {
  const tenant = await newTenant();
  const started = performance.now();
  const prepared = await prepareCsvFile(path);
  const record = await createImport(pool, tenant, { sourceKind: 'csv' });
  const outcome = await runImport(pool, {
    importId: record.id,
    tenant,
    source: {
      kind: 'csv',
      open: () => createReadStream(path, { highWaterMark: 256 * 1024 }),
      encoding: prepared.encoding,
      delimiter: prepared.delimiter,
    },
  });
  const seconds = (performance.now() - started) / 1000;
  if (outcome.status !== 'succeeded' || outcome.counts.inserted !== rows)
    throw new Error(`import: ${JSON.stringify(outcome)}`);
  return seconds;
}

/** The same rows, normalised as the import would store them. */
function shaped() {
  const companies: string[] = [];
  const people: string[] = [];
  const positions: string[] = [];
  const companyIds: string[] = [];
  for (let i = 0; i < rows; i++) {
    const c = Math.floor(i / 4);
    if (i % 4 === 0) {
      companyIds[c] = randomUUID();
      companies.push(
        `${companyIds[c]}\tSociété ${c}\t${siren(10_000_000 + c)}\t62.01Z\thttps://www.societe${c}.fr\tsociete${c}.fr\tLyon\n`,
      );
    }
    const person = randomUUID();
    people.push(`${person}\tPrénom${i}\tNom${i}\n`);
    positions.push(
      `${person}\t${companyIds[c]}\tDirecteur\tcontact${i}@societe${c}.fr\t+33612${String(i % 100).padStart(2, '0')}3456\n`,
    );
  }
  return { companies, people, positions };
}

async function copyInto(client: pg.PoolClient, sql: string, lines: string[]) {
  const stream = client.query(copyFrom(sql));
  await pipeline(async function* () {
    for (let i = 0; i < lines.length; i += 2000) yield lines.slice(i, i + 2000).join('');
  }, stream);
}

async function rawCopy(): Promise<number> {
  const tenant = await newTenant();
  const data = shaped();
  const started = performance.now();
  // COPY FROM refuses tables under row-level security for roles bound by it, so the baseline runs
  // as the superuser (RLS bypassed) with organisation_id supplied: the fastest possible load.
  const client = await admin.connect();
  const org = `${tenant.organisationId}\t`;
  try {
    await client.query('BEGIN');
    await copyInto(
      client,
      'COPY crm.companies (organisation_id, id, name, siren, naf_code, website_url, domain, city) FROM STDIN',
      data.companies.map((l) => org + l),
    );
    await copyInto(
      client,
      'COPY crm.people (organisation_id, id, first_name, last_name) FROM STDIN',
      data.people.map((l) => org + l),
    );
    await copyInto(
      client,
      'COPY crm.positions (organisation_id, person_id, company_id, title, email, phone) FROM STDIN',
      data.positions.map((l) => org + l),
    );
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return (performance.now() - started) / 1000;
}

async function prismaCreateMany(): Promise<number> {
  const tenant = await newTenant();
  const data = shaped();
  const split = (line: string) => line.slice(0, -1).split('\t');
  const prisma = createPrismaClient(db.appUrl);
  const started = performance.now();
  await prisma.$transaction(
    async (tx) => {
      await tx.$queryRaw`SELECT set_config('app.organisation_id', ${tenant.organisationId}, true)`;
      await tx.company.createMany({
        data: data.companies.map(split).map(([id, name, s, naf, url, domain, city]) => ({
          id: id!,
          name: name!,
          siren: s!,
          nafCode: naf!,
          websiteUrl: url!,
          domain: domain!,
          city: city!,
        })),
      });
      await tx.person.createMany({
        data: data.people
          .map(split)
          .map(([id, firstName, lastName]) => ({ id: id!, firstName: firstName!, lastName: lastName! })),
      });
      await tx.position.createMany({
        data: data.positions.map(split).map(([personId, companyId, title, email, phone]) => ({
          personId: personId!,
          companyId: companyId!,
          title: title!,
          email: email!,
          phone: phone!,
        })),
      });
    },
    { timeout: 600_000, maxWait: 10_000 },
  );
  const seconds = (performance.now() - started) / 1000;
  await prisma.$disconnect();
  return seconds;
}

try {
  if (memoryMode) {
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 20);
    const seconds = await ours();
    clearInterval(sampler);
    const mb = (n: number) => Math.round(n / 1024 / 1024);
    console.log(
      `memory: ${rows} rows in ${seconds.toFixed(1)} s; RSS before ${mb(before)} MB, sampled peak ${mb(peak)} MB, ` +
        `process maxRSS ${Math.round(process.resourceUsage().maxRSS / 1024)} MB (target < 300 MB)`,
    );
  } else {
    const copy = await rawCopy();
    const engine = await ours();
    const prisma = await prismaCreateMany();
    const rate = (s: number) => Math.round(rows / s);
    console.log(`rows: ${rows}`);
    console.log(`raw COPY:           ${copy.toFixed(2)} s  ${rate(copy)} rows/s`);
    console.log(
      `import engine:      ${engine.toFixed(2)} s  ${rate(engine)} rows/s  = ${(copy / engine).toFixed(2)}x COPY (target >= 0.5x)`,
    );
    console.log(
      `Prisma createMany:  ${prisma.toFixed(2)} s  ${rate(prisma)} rows/s  → engine ${(prisma / engine).toFixed(2)}x Prisma`,
    );
  }
} finally {
  rmSync(path, { force: true });
  await pool.end();
  await admin.end();
  await db.stop();
}
