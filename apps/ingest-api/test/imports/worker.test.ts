import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { PHAROW_HEADER, pharowRow, toCsv } from './helpers.js';
import type { ImportBody } from './http-helpers.js';
import { spawnWorker, type WorkerProcess } from './worker-process.js';

/**
 * Imports run by real worker processes (apps/worker): a worker killed with SIGKILL in the middle
 * of an import leaves nothing and the next attempt imports the stored file once; attempts are
 * bounded; imports are bounded per organisation and per process and queued beyond that.
 */
let t: TestApp;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  t = await buildTestApp({
    label: 'imports_worker',
    env: { IMPORT_MAX_ATTEMPTS: '2', RATE_LIMIT_MAX: '1000000' },
  });
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.stop('SIGKILL');
});
afterAll(async () => {
  await t?.close();
});

function worker(env: Record<string, string> = {}): WorkerProcess {
  const w = spawnWorker(t, env);
  workers.push(w);
  return w;
}

const bigCsv = (rows: number, from = 0) =>
  toCsv([PHAROW_HEADER, ...Array.from({ length: rows }, (_, i) => pharowRow(from + i))]);

async function post(user: TestUser, csv: string): Promise<ImportBody> {
  const response = await t.request(user, {
    method: 'POST',
    url: '/v1/imports',
    headers: { 'content-type': 'text/csv' },
    payload: csv,
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json() as ImportBody;
}

async function get(user: TestUser, id: string): Promise<ImportBody> {
  const response = await t.request(user, { method: 'GET', url: `/v1/imports/${id}?errorsLimit=1` });
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as ImportBody;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 300_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const finished = (user: TestUser, id: string) =>
  until(`import ${id} to finish`, async () => {
    const body = await get(user, id);
    return body.status === 'succeeded' || body.status === 'failed' ? body : undefined;
  });

/** Waits until attempt `attempt` of the import is running and has staged at least `rows` rows. */
const midImport = (id: string, rows: number, attempt = 1) =>
  until(`attempt ${attempt} of import ${id} to be mid-way`, async () => {
    const { rows: found } = await t.admin.query(
      `SELECT i.status, i.rows_processed, t.status AS task_status, t.attempts FROM crm.imports i
         JOIN outreach.tasks t ON t.organisation_id = i.organisation_id AND t.id = i.task_id
        WHERE i.id = $1`,
      [id],
    );
    const row = found[0];
    return row?.status === 'running' &&
      row.task_status === 'running' &&
      row.attempts === attempt &&
      row.rows_processed >= rows
      ? true
      : undefined;
  });

async function count(organisationId: string, table: string): Promise<number> {
  const { rows } = await t.admin.query(`SELECT count(*)::int AS n FROM ${table} WHERE organisation_id = $1`, [
    organisationId,
  ]);
  return rows[0].n;
}

describe('imports run by worker processes', () => {
  it('a worker killed mid-import leaves nothing; the retry imports the stored file exactly once', async () => {
    const user = await t.signUp();
    const rows = 40_000;
    const accepted = await post(user, bigCsv(rows));
    expect(accepted).toMatchObject({ status: 'queued', execution: { attempts: 0, maxAttempts: 2 } });

    const first = worker();
    await midImport(accepted.id, 5_000);
    await first.stop('SIGKILL');
    // Nothing of the killed attempt is visible: its transaction never committed.
    for (const table of ['crm.companies', 'crm.people', 'crm.positions'])
      expect(await count(user.organisationId, table), table).toBe(0);

    worker();
    const done = await finished(user, accepted.id);
    expect(done).toMatchObject({
      status: 'succeeded',
      counts: { inserted: rows, updated: 0, failed: 0 },
      progress: { rowsProcessed: rows, rowsTotal: rows },
      execution: { attempts: 2, maxAttempts: 2 },
    });
    for (const table of ['crm.companies', 'crm.people', 'crm.positions'])
      expect(await count(user.organisationId, table), table).toBe(rows);
    const { rows: tasks } = await t.admin.query(
      `SELECT status, attempts FROM outreach.tasks WHERE organisation_id = $1 AND type = 'run_import'`,
      [user.organisationId],
    );
    expect(tasks).toEqual([{ status: 'succeeded', attempts: 2 }]);
    const { rows: dupes } = await t.admin.query(
      `SELECT count(*)::int AS n FROM (SELECT siren FROM crm.companies WHERE organisation_id = $1
        GROUP BY siren HAVING count(*) > 1) d`,
      [user.organisationId],
    );
    expect(dupes[0].n).toBe(0);
  }, 600_000);

  it('fails with a reason once every attempt was interrupted, and imports nothing', async () => {
    const user = await t.signUp();
    const accepted = await post(user, bigCsv(40_000, 100_000));
    for (let attempt = 1; attempt <= 2; attempt++) {
      const w = worker();
      await midImport(accepted.id, 2_000, attempt);
      await w.stop('SIGKILL');
    }
    worker(); // its lease sweeper finds the last attempt's lease expired: out of attempts
    const done = await finished(user, accepted.id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'import_interrupted' } });
    expect(done.execution).toMatchObject({ attempts: 2, maxAttempts: 2 });
    expect(await count(user.organisationId, 'crm.positions')).toBe(0);
  }, 600_000);

  it('runs at most IMPORT_ORG_CONCURRENCY imports per organisation and IMPORT_SLOTS per process; the rest is queued', async () => {
    const a = await t.signUp();
    const b = await t.signUp();
    const imports: Array<[TestUser, ImportBody]> = [];
    for (let i = 0; i < 3; i++) imports.push([a, await post(a, bigCsv(8_000, 200_000 + i * 10_000))]);
    imports.push([b, await post(b, bigCsv(8_000, 300_000))]);
    imports.push([b, await post(b, bigCsv(8_000, 310_000))]);

    let maxTotal = 0;
    let maxPerOrganisation = 0;
    let sampling = true;
    onTestFinished(() => {
      sampling = false;
    });
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await t.admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM outreach.tasks WHERE type = 'run_import' AND status = 'running'
            AND organisation_id = ANY ($1::uuid[]) GROUP BY organisation_id`,
          [[a.organisationId, b.organisationId]],
        );
        maxTotal = Math.max(
          maxTotal,
          rows.reduce((sum, r) => sum + r.n, 0),
        );
        maxPerOrganisation = Math.max(maxPerOrganisation, ...rows.map((r) => r.n), 0);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    worker({ IMPORT_SLOTS: '2', IMPORT_ORG_CONCURRENCY: '1' });
    // The third import of A waits behind the two before it, visibly.
    const last = imports[2]![1];
    const waiting = await until('a queued import with a running one ahead', async () => {
      const body = await get(a, last.id);
      return body.status === 'queued' && body.execution!.runningInOrganisation === 1 ? body : undefined;
    });
    expect(waiting.execution!.queuedAhead).toBeGreaterThanOrEqual(1);
    for (const [user, accepted] of imports)
      expect(await finished(user, accepted.id)).toMatchObject({
        status: 'succeeded',
        counts: { inserted: 8_000 },
      });
    sampling = false;
    await sampler;
    expect(maxPerOrganisation).toBe(1);
    expect(maxTotal).toBe(2);
  }, 600_000);
});
