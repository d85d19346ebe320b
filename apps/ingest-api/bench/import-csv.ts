/**
 * Import throughput, ratios from one run (not a test):
 *   tsx bench/import-csv.ts [rows=100000] [--rounds=3] [--prisma]
 *       engine vs raw COPY, interleaved rounds (the order alternates), medians; --prisma adds
 *       one Prisma createMany run
 *   tsx bench/import-csv.ts --memory [rows=1000000]   peak RSS of a streamed import
 * Uses BENCH_DATABASE_URL / TEST_DATABASE_URL (superuser) or an embedded PostgreSQL.
 * "Ours" = the import as the worker runs it (`runStoredImport`): the upload read back from object
 * storage (the local folder driver), decoded, parsed and normalised, COPY to staging, SQL
 * matching/dedupe/suppression, upserts, per-row errors, status, all in one tenant transaction,
 * then the upload deleted. The upload itself and the API's header check happen before (untimed).
 * "Raw COPY" = the same rows already normalised in memory, COPY'd straight into crm.companies,
 * crm.people and crm.positions in one transaction as the superuser (no validation at all; COPY
 * is refused under RLS for the app role).
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createPrismaClient } from '@prospectflow/db-schema/prisma';
import {
  createImport,
  importStorageKey,
  prepareCsvFile,
  runImport,
  runStoredImport,
} from '@prospectflow/import-engine';
import { createLocalStorage } from '@prospectflow/object-storage';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { cpuMeter, cpuMeterWorks } from './cpu-time.js';
import { csvStream, siren } from './import-data.js';
import { benchDatabase } from './import-db.js';

const memoryMode = process.argv.includes('--memory');
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 3);
const withPrisma = process.argv.includes('--prisma');
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

const storageDir = mkdtempSync(join(tmpdir(), 'pf-bench-import-storage-'));
const storage = createLocalStorage(storageDir);
const prepared = await prepareCsvFile(path);

interface Timing {
  seconds: number;
  /** CPU seconds of this process + the database's backends (null without a local server). */
  cpu: number | null;
  /** Of which the database's backends. */
  cpuPostgres: number | null;
}

const measureCpu = await cpuMeterWorks(db.name, () => admin.query('SELECT 1'));
const cpuSince = (meter: ReturnType<typeof cpuMeter>) => {
  const used = meter();
  return measureCpu
    ? { cpu: used.node + used.postgres, cpuPostgres: used.postgres }
    : { cpu: null, cpuPostgres: null };
};

/** The import as the worker runs it, from the upload stored the way the API stores it. */
async function stored(): Promise<Timing> {
  const tenant = await newTenant();
  const id = randomUUID();
  const storageKey = importStorageKey(tenant.organisationId, id, 'csv');
  await storage.put(storageKey, createReadStream(path));
  await createImport(pool, tenant, {
    id,
    sourceKind: 'csv',
    storageKey,
    mapping: {
      request: {},
      encoding: prepared.encoding.encoding,
      bomLength: prepared.encoding.bomLength,
      delimiter: prepared.delimiter,
    },
  });
  const meter = cpuMeter(db.name);
  const started = performance.now();
  const outcome = await runStoredImport(pool, storage, {
    tenant,
    importId: id,
    attempt: 1,
    maxAttempts: 1,
    runBy: 'bench',
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSince(meter);
  if (outcome?.status !== 'succeeded' || outcome.counts.inserted !== rows)
    throw new Error(`import: ${JSON.stringify(outcome)}`);
  return { seconds, ...cpu };
}

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

async function rawCopy(): Promise<Timing> {
  const tenant = await newTenant();
  const data = shaped();
  const meter = cpuMeter(db.name);
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
  return { seconds: (performance.now() - started) / 1000, ...cpuSince(meter) };
}

/**
 * Prisma splits a createMany over its parameter limit into chunks it sends all at once on the
 * transaction's one pg client (pg deprecates overlapping queries; pg 9 refuses them). Chunks of
 * our own, each under the limit and awaited in turn, keep the baseline one query at a time.
 */
const CHUNK_ROWS = 2000;
async function inChunks<T>(rows: T[], write: (chunk: T[]) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) await write(rows.slice(i, i + CHUNK_ROWS));
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
      const companies = data.companies.map(split).map(([id, name, s, naf, url, domain, city]) => ({
        id: id!,
        name: name!,
        siren: s!,
        nafCode: naf!,
        websiteUrl: url!,
        domain: domain!,
        city: city!,
      }));
      await inChunks(companies, (chunk) => tx.company.createMany({ data: chunk }));
      const people = data.people
        .map(split)
        .map(([id, firstName, lastName]) => ({ id: id!, firstName: firstName!, lastName: lastName! }));
      await inChunks(people, (chunk) => tx.person.createMany({ data: chunk }));
      const positions = data.positions.map(split).map(([personId, companyId, title, email, phone]) => ({
        personId: personId!,
        companyId: companyId!,
        title: title!,
        email: email!,
        phone: phone!,
      }));
      await inChunks(positions, (chunk) => tx.position.createMany({ data: chunk }));
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
    const median = (xs: number[]) => {
      const sorted = [...xs].sort((a, b) => a - b);
      const mid = Math.floor(sorted.length / 2);
      return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    };
    const rate = (s: number) => Math.round(rows / s);
    const copies: Timing[] = [];
    const engines: Timing[] = [];
    console.log(`rows: ${rows}, rounds: ${rounds} (COPY and import interleaved, order alternating)`);
    const cpuText = (t: Timing) =>
      t.cpu === null ? '' : ` (CPU ${t.cpu.toFixed(2)} s, PostgreSQL ${t.cpuPostgres!.toFixed(2)} s)`;
    for (let round = 0; round < rounds; round++) {
      let copy: Timing;
      let engine: Timing;
      if (round % 2 === 0) {
        copy = await rawCopy();
        engine = await stored();
      } else {
        engine = await stored();
        copy = await rawCopy();
      }
      copies.push(copy);
      engines.push(engine);
      const cpuRatio = copy.cpu !== null && engine.cpu ? `, CPU ${(copy.cpu / engine.cpu).toFixed(2)}x` : '';
      console.log(
        `round ${round + 1}: raw COPY ${copy.seconds.toFixed(2)} s${cpuText(copy)}, import ${engine.seconds.toFixed(2)} s${cpuText(engine)} = ${(copy.seconds / engine.seconds).toFixed(2)}x COPY${cpuRatio}`,
      );
    }
    const copy = median(copies.map((t) => t.seconds));
    const engine = median(engines.map((t) => t.seconds));
    console.log(`raw COPY (median):   ${copy.toFixed(2)} s  ${rate(copy)} rows/s`);
    console.log(`import (median):     ${engine.toFixed(2)} s  ${rate(engine)} rows/s`);
    console.log(
      `median ratio ${median(copies.map((c, i) => c.seconds / engines[i]!.seconds)).toFixed(2)}x COPY (target >= 0.7x)`,
    );
    if (measureCpu) {
      const cpuRatios = copies.map((c, i) => c.cpu! / engines[i]!.cpu!);
      console.log(
        `CPU (this process + the database's backends): median ratio ${median(cpuRatios).toFixed(2)}x COPY; ` +
          `COPY ${median(copies.map((t) => t.cpu!)).toFixed(2)} s, import ${median(engines.map((t) => t.cpu!)).toFixed(2)} s`,
      );
    }
    if (withPrisma) {
      const prisma = await prismaCreateMany();
      console.log(
        `Prisma createMany:   ${prisma.toFixed(2)} s  ${rate(prisma)} rows/s  → import ${(prisma / engine).toFixed(2)}x Prisma`,
      );
    }
  }
} finally {
  rmSync(path, { force: true });
  rmSync(storageDir, { recursive: true, force: true });
  await pool.end();
  await admin.end();
  await db.stop();
}
