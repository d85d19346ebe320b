import { randomUUID } from 'node:crypto';
import { roleUrl } from '@prospectflow/db-schema';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';

export interface TenantFixture {
  database: TestDatabase;
  /** URL as prospectflow_app (NOBYPASSRLS, RLS applies). */
  appUrl: string;
  /** URL as prospectflow_worker. */
  workerUrl: string;
  organisations: string[];
  drop(): Promise<void>;
}

/** A database of this test file's own, with `count` organisations (a global table, inserted as superuser). */
export async function createTenantFixture(label: string, count: number): Promise<TenantFixture> {
  const database = await createTestDatabase(label);
  const organisations = Array.from({ length: count }, () => randomUUID());
  const admin = new pg.Client({ connectionString: database.adminUrl });
  await admin.connect();
  try {
    await admin.query(
      `INSERT INTO iam.organisations (id, name, slug)
       SELECT id, 'Org ' || n, 'org-' || n FROM unnest($1::uuid[]) WITH ORDINALITY AS o(id, n)`,
      [organisations],
    );
  } finally {
    await admin.end();
  }
  return {
    database,
    appUrl: roleUrl(database.adminUrl, 'app'),
    workerUrl: roleUrl(database.adminUrl, 'worker'),
    organisations,
    drop: () => database.drop(),
  };
}

/** Superuser query on the fixture database (bypasses RLS) — the ground truth for assertions. */
export async function adminQuery<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  values?: unknown[],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

/** Counts what a pool hands out, without standing in for the database. */
export function watchPool(pool: pg.Pool): { acquired: () => number; connected: () => number } {
  let acquired = 0;
  let connected = 0;
  pool.on('acquire', () => {
    acquired += 1;
  });
  pool.on('connect', () => {
    connected += 1;
  });
  return { acquired: () => acquired, connected: () => connected };
}

/** A pause of random length: same tick, next macrotask, or a timer (rarely: a timer holds the unit's connection ~1 ms), to interleave concurrent work. */
export function randomPause(random: () => number): Promise<void> {
  const r = random();
  if (r < 0.45) return Promise.resolve();
  if (r < 0.95) return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 2)));
}

/** Deterministic PRNG (mulberry32) so a failing interleaving can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
