/**
 * Authenticated tenant list endpoint vs a bare Fastify + pg endpoint running the same SQL, in one
 * run (not a test; ratios only mean something within a run):
 *   pnpm --filter @prospectflow/ingest-api bench:api   [BENCH_DURATION=10] [BENCH_CONNECTIONS=16]
 * PostgreSQL: BENCH_DATABASE_URL / TEST_DATABASE_URL (superuser) or an embedded PostgreSQL 18.
 * Redis: REDIS_URL or a redis-server from PATH.
 *
 * "API" = GET /v1/companies through the whole service: RS256 token verification, session from
 * Redis, organisation scope, Redis rate limit, tenant transaction (BEGIN + settings, SELECT,
 * COMMIT) as prospectflow_app under RLS, schema serialisation, metrics, request id.
 * "Bare" = Fastify with one route, no plugins: the same three statements on a pg pool of the same
 * size, as the same role, JSON.stringify of the rows.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROLES, roleUrl } from '@prospectflow/db-schema';
import { prepareTestTemplate } from '@prospectflow/db-schema/testing';
import { startTestPostgres, startTestRedis, withDatabase } from '@prospectflow/testing';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/plugins/app/db.js';
import { companiesRepository } from '../src/repositories/companies.js';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const POOL = 10;
const COMPANIES = 5000;

if (process.env.BENCH_DATABASE_URL) process.env.TEST_DATABASE_URL = process.env.BENCH_DATABASE_URL;
const postgres = await startTestPostgres();
const redis = await startTestRedis();
const database = `pf_bench_api_${Date.now().toString(36)}`;
const admin = new pg.Pool({ connectionString: postgres.adminUrl, max: 2 });
await admin.query(`CREATE DATABASE "${database}"`);
const adminUrl = withDatabase(postgres.adminUrl, database);
await prepareTestTemplate(postgres.adminUrl, adminUrl);
const appUrl = roleUrl(adminUrl, ROLES.app);

const env = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'warn',
  DATABASE_URL: appUrl,
  DATABASE_POOL_MAX: String(POOL),
  REDIS_URL: redis.url,
  AUTH_MODE: 'dev',
  AUTH_DEV_KEY_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'pf-bench-key-')),
  RATE_LIMIT_MAX: '1000000',
  RATE_LIMIT_NAMESPACE: `pf:bench:${randomUUID()}:rl:`,
};
const app = await buildApp(loadConfig(env), { authKeyPrefix: `pf:bench:${randomUUID()}:auth` });
const apiAddress = await app.listen({ host: '127.0.0.1', port: 0 });

// One organisation with COMPANIES companies; the caller is its owner.
const token = app.authServices.devIssuer!.mint({ email: 'bench@example.test' });
const created = await fetch(`${apiAddress}/v1/organisations`, {
  method: 'POST',
  headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ name: 'Bench' }),
});
const organisationId = ((await created.json()) as { id: string }).id;
const seed = new pg.Pool({ connectionString: adminUrl, max: 1 });
await seed.query(
  `INSERT INTO crm.companies (organisation_id, name, domain, siren, city, custom)
   SELECT $1, 'Company ' || g, 'c' || g || '.example', NULL, 'Lyon', '{"tier":"A"}'::jsonb FROM generate_series(1, $2) AS g`,
  [organisationId, COMPANIES],
);
await seed.end();

// The bare endpoint: the same SQL text and values the API's list runs.
const listSql = companiesRepository({} as Database).listSql({ limit: 50 });
const barePool = new pg.Pool({ connectionString: appUrl, max: POOL });
// The teardown's DROP DATABASE … WITH (FORCE) may reach a straggling idle client first.
barePool.on('error', () => {});
const bare = Fastify();
bare.get('/companies', async () => {
  const client = await barePool.connect();
  try {
    await client.query(
      `BEGIN; SELECT set_config('app.organisation_id', '', false), set_config('app.organisation_id', '${organisationId}', true), set_config('app.user_id', '', false), set_config('app.user_id', '', true)`,
    );
    const { rows } = await client.query(listSql.text, listSql.values);
    await client.query('COMMIT');
    return { items: rows.slice(0, 50), nextCursor: null };
  } finally {
    client.release();
  }
});
const bareAddress = await bare.listen({ host: '127.0.0.1', port: 0 });

interface Measured {
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function load(url: string, headers: Record<string, string>, seconds: number): Promise<Measured> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration: seconds, headers });
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

const apiHeaders = { authorization: `Bearer ${token}`, 'x-organisation-id': organisationId };
const check = await fetch(`${apiAddress}/v1/companies`, { headers: apiHeaders });
const checkBody = (await check.json()) as { items: unknown[] };
const bareBody = (await (await fetch(`${bareAddress}/companies`)).json()) as { items: unknown[] };
if (check.status !== 200 || checkBody.items.length !== 50 || bareBody.items.length !== 50) {
  throw new Error(`endpoints not answering as expected: ${check.status}`);
}

// Warm both (JIT, pools, Redis scripts), then alternate rounds so drift hits both alike.
await load(`${bareAddress}/companies`, {}, 2);
await load(`${apiAddress}/v1/companies`, apiHeaders, 2);
const rounds = { bare: [] as Measured[], api: [] as Measured[] };
for (let round = 0; round < 2; round += 1) {
  rounds.bare.push(await load(`${bareAddress}/companies`, {}, DURATION / 2));
  rounds.api.push(await load(`${apiAddress}/v1/companies`, apiHeaders, DURATION / 2));
}
const summarise = (list: Measured[]): Measured => ({
  rps: list.reduce((sum, m) => sum + m.rps, 0) / list.length,
  p99: Math.max(...list.map((m) => m.p99)),
  errors: list.reduce((sum, m) => sum + m.errors, 0),
  non2xx: list.reduce((sum, m) => sum + m.non2xx, 0),
});
const bareResult = summarise(rounds.bare);
const apiResult = summarise(rounds.api);
const ratio = apiResult.rps / bareResult.rps;

console.log(
  `PostgreSQL ${postgres.serverVersion}${postgres.embedded ? ' (embedded)' : ''}, ${COMPANIES} companies, page of 50, ` +
    `${CONNECTIONS} connections, ${DURATION}s per side, pool ${POOL}`,
);
console.table({
  'bare Fastify + pg': {
    'req/s': Math.round(bareResult.rps),
    'p99 ms': bareResult.p99,
    errors: bareResult.errors,
    non2xx: bareResult.non2xx,
  },
  'API GET /v1/companies': {
    'req/s': Math.round(apiResult.rps),
    'p99 ms': apiResult.p99,
    errors: apiResult.errors,
    non2xx: apiResult.non2xx,
  },
});
console.log(`ratio API / bare = ${ratio.toFixed(2)} (target ≥ 0.60) ${ratio >= 0.6 ? 'OK' : 'BELOW TARGET'}`);

await app.close();
await bare.close();
await barePool.end();
await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
await admin.end();
await redis.stop();
await postgres.stop();
