/**
 * Load test: the built ingest-api (apps/ingest-api/dist/server.js) on a seeded database, its pool
 * going through pgBouncer in transaction mode (infra/pgbouncer/entrypoint.sh, the configuration
 * compose deploys), driven by autocannon. Fails on any 5xx, error or timeout; writes the result to
 * docs/operations/load-results.md.
 *
 *   pnpm --dir infra load                         # 200 connections, 60 s
 *   LOAD_CONNECTIONS=50 LOAD_DURATION=10 pnpm --dir infra load   # shorter, for CI
 *
 * env: LOAD_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), LOAD_REDIS_URL
 *      (redis://127.0.0.1:6379), LOAD_CONNECTIONS (200), LOAD_DURATION seconds (60),
 *      LOAD_OUTPUT (docs/operations/load-results.md; "-" for none), LOAD_POOL_SIZE (25),
 *      LOAD_API_POOL_MAX (DATABASE_POOL_MAX of the API, 20), PGBOUNCER_BIN (pgbouncer)
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate, roleUrl, seedDemo, setupDatabase } from '@prospectflow/db-schema';
import { freePort, waitForPort } from '@prospectflow/testing/ports';
import pg from 'pg';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  // The header comment above is the usage.
  const header = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] ?? '';
  process.stdout.write(`${header.replace(/^\/\*\*\n?|^ \* ?/gm, '').trim()}\n`);
  process.exit(0);
}
if (process.argv.length > 2) {
  // Settings come from LOAD_* variables: an argument is a mistake, not a load test to start.
  process.stderr.write(
    `load: unknown argument ${process.argv[2]} (settings are LOAD_* variables: see --help)\n`,
  );
  process.exit(2);
}

const require = createRequire(import.meta.url);
// autocannon ships no types; the part used here is typed below.
const autocannon = require('autocannon') as (
  options: Record<string, unknown>,
) => Promise<AutocannonResult> & {
  on(event: string, listener: (...args: unknown[]) => void): void;
};
interface Histogram {
  average: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}
interface AutocannonResult {
  latency: Histogram;
  requests: { average: number; total: number };
  throughput: { average: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  statusCodeStats: Record<string, { count: number }>;
  duration: number;
  connections: number;
}

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const env = process.env;
const adminUrl = env.LOAD_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const redisUrl = env.LOAD_REDIS_URL ?? 'redis://127.0.0.1:6379';
const connections = Number(env.LOAD_CONNECTIONS ?? 200);
const duration = Number(env.LOAD_DURATION ?? 60);
const poolSize = Number(env.LOAD_POOL_SIZE ?? 25);
const apiPoolMax = Number(env.LOAD_API_POOL_MAX ?? 20);
const output = env.LOAD_OUTPUT ?? path.join(repo, 'docs/operations/load-results.md');
const DEMO_ORGANISATION = '00000000-0000-4000-8000-000000000001';

function log(event: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(
    `${JSON.stringify({ ts: new Date().toISOString(), script: 'load', event, ...fields })}\n`,
  );
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ready = await check().catch((error: Error) => {
      if (error.message.includes('exited')) throw error;
      return false;
    });
    if (ready) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms`);
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

/** pgBouncer from infra/pgbouncer/entrypoint.sh; as root it runs as the postgres OS user. */
async function startPgBouncer(target: URL): Promise<{ port: number; child: ChildProcess; dir: string }> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-load-pgbouncer-'));
  const asRoot = process.getuid?.() === 0;
  const owner = asRoot
    ? {
        uid: Number(execFileSync('id', ['-u', 'postgres']).toString().trim()),
        gid: Number(execFileSync('id', ['-g', 'postgres']).toString().trim()),
      }
    : undefined;
  if (owner) fs.chownSync(dir, owner.uid, owner.gid);
  const child = spawn('sh', [path.join(repo, 'infra/pgbouncer/entrypoint.sh')], {
    env: {
      PATH: `${env.PATH}:/usr/sbin`,
      PGBOUNCER_CONFIG_DIR: dir,
      PGBOUNCER_TARGET_HOST: target.hostname,
      PGBOUNCER_TARGET_PORT: target.port || '5432',
      PGBOUNCER_LISTEN_ADDR: '127.0.0.1',
      PGBOUNCER_LISTEN_PORT: String(port),
      PGBOUNCER_POOL_MODE: 'transaction',
      PGBOUNCER_MAX_CLIENT_CONN: '100',
      PGBOUNCER_DEFAULT_POOL_SIZE: String(poolSize),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
  });
  await waitForPort(port, '127.0.0.1', 30_000);
  return { port, child, dir };
}

function mintToken(keyDir: string): string {
  const out = execFileSync(
    'pnpm',
    ['--silent', 'token', '--email', 'dev@prospectflow.local', '--expires', '1h'],
    {
      cwd: repo,
      env: { ...env, AUTH_MODE: 'dev', AUTH_DEV_KEY_DIR: keyDir, NODE_ENV: 'development' },
      encoding: 'utf8',
    },
  );
  return out.trim().split('\n').pop()!.trim();
}

function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function main(): Promise<void> {
  const server = path.join(repo, 'apps/ingest-api/dist/server.js');
  if (!fs.existsSync(server))
    throw new Error(`${server} is missing: run pnpm turbo run build --filter=@prospectflow/ingest-api...`);
  const database = `pf_load_${Date.now().toString(36)}`;
  const dbAdmin = withDatabase(adminUrl, database);
  let pgbouncer: Awaited<ReturnType<typeof startPgBouncer>> | undefined;
  let api: ChildProcess | undefined;
  const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-load-keys-'));
  try {
    log('database', { database });
    await setupDatabase(adminUrl, { database });
    await migrate(roleUrl(dbAdmin, 'migrator'));
    await seedDemo(roleUrl(dbAdmin, 'migrator'));
    // More rows for the list endpoint: 2,000 companies in the demo organisation.
    await query(
      dbAdmin,
      `INSERT INTO crm.companies (organisation_id, name, domain)
       SELECT '${DEMO_ORGANISATION}', 'Load company ' || g, 'load' || g || '.example' FROM generate_series(1, 2000) g`,
    );
    const serverVersion = (
      await query<{ v: string }>(adminUrl, `SELECT current_setting('server_version') AS v`)
    )[0]!.v;

    pgbouncer = await startPgBouncer(new URL(adminUrl));
    const appUrl = `postgres://prospectflow_app:${encodeURIComponent(env.PROSPECTFLOW_APP_PASSWORD ?? 'prospectflow_app')}@127.0.0.1:${pgbouncer.port}/${database}`;
    const token = mintToken(keyDir);
    // The token's user becomes an owner of the demo organisation before the API first sees it
    // (memberships are cached per session).
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { sub: string };
    await query(
      dbAdmin,
      `WITH u AS (
         INSERT INTO iam.users (cognito_sub, email) VALUES ('${claims.sub.replace(/'/g, "''")}', 'load@prospectflow.local')
         ON CONFLICT (cognito_sub) DO UPDATE SET cognito_sub = EXCLUDED.cognito_sub RETURNING id)
       INSERT INTO iam.organisation_users (organisation_id, user_id, role, status)
       SELECT '${DEMO_ORGANISATION}', id, 'owner', 'active' FROM u ON CONFLICT DO NOTHING`,
    );
    const port = await freePort();
    api = spawn(process.execPath, [server], {
      cwd: path.join(repo, 'apps/ingest-api'),
      env: {
        ...env,
        NODE_ENV: 'development',
        AUTH_MODE: 'dev',
        AUTH_DEV_KEY_DIR: keyDir,
        HOST: '127.0.0.1',
        PORT: String(port),
        DATABASE_URL: appUrl,
        DATABASE_POOL_MAX: String(apiPoolMax),
        REDIS_URL: redisUrl,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '1000000',
        RATE_LIMIT_NAMESPACE: `pf:load:${database}:`,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const base = `http://127.0.0.1:${port}`;
    const started = api;
    await waitFor(async () => {
      if (started.exitCode !== null) throw new Error(`ingest-api exited with code ${started.exitCode}`);
      return (await fetch(`${base}/ready`)).ok;
    }, 'ingest-api /ready');
    const auth = { authorization: `Bearer ${token}` };
    const tenant = { ...auth, 'x-organisation-id': DEMO_ORGANISATION };

    for (const [url, headers] of [
      ['/v1/me', auth],
      ['/v1/companies?limit=20', tenant],
    ] as const) {
      const res = await fetch(`${base}${url}`, { headers });
      if (res.status !== 200) throw new Error(`warm-up ${url} answered ${res.status}: ${await res.text()}`);
    }

    log('load_start', { connections, duration, poolSize, apiPoolMax });
    const instance = autocannon({
      url: base,
      connections,
      duration,
      requests: [
        { method: 'GET', path: '/v1/companies?limit=20', headers: tenant },
        { method: 'GET', path: '/v1/me', headers: auth },
        { method: 'GET', path: '/health' },
      ],
    });
    let seconds = 0;
    instance.on('tick', () => {
      seconds += 1;
      if (seconds % 10 === 0) log('progress', { seconds, of: duration });
    });
    const result = await instance;

    const pools = await query<Record<string, unknown>>(
      `postgres://pgbouncer_admin:pgbouncer_admin@127.0.0.1:${pgbouncer.port}/pgbouncer`,
      'SHOW POOLS',
    ).catch((error: Error) => [{ error: error.message }]);
    const stats = await query<Record<string, unknown>>(
      `postgres://pgbouncer_admin:pgbouncer_admin@127.0.0.1:${pgbouncer.port}/pgbouncer`,
      'SHOW STATS',
    ).catch((error: Error) => [{ error: error.message }]);

    const fivexx = result['5xx'];
    const summary = {
      connections: result.connections,
      durationSeconds: result.duration,
      requests: result.requests.total,
      requestsPerSecond: Math.round(result.requests.average),
      p50Ms: result.latency.p50,
      p90Ms: result.latency.p90,
      p99Ms: result.latency.p99,
      maxMs: result.latency.max,
      status2xx: result['2xx'],
      status4xx: result['4xx'],
      status5xx: fivexx,
      errors: result.errors,
      timeouts: result.timeouts,
      statusCodes: Object.fromEntries(Object.entries(result.statusCodeStats).map(([k, v]) => [k, v.count])),
    };
    log('load_done', summary);
    const ok = fivexx === 0 && result.errors === 0 && result.timeouts === 0 && result['4xx'] === 0;
    if (output !== '-') {
      fs.mkdirSync(path.dirname(output), { recursive: true });
      fs.writeFileSync(output, report(summary, ok, serverVersion, pools, stats));
      log('report_written', { output });
    }
    if (!ok) {
      process.exitCode = 1;
      log('load_failed', { reason: 'non-2xx responses, errors or timeouts', status5xx: fivexx });
    }
  } finally {
    await stopChild(api);
    await stopChild(pgbouncer?.child);
    if (pgbouncer) fs.rmSync(pgbouncer.dir, { recursive: true, force: true });
    fs.rmSync(keyDir, { recursive: true, force: true });
    await query(adminUrl, `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`).catch(() => {});
  }
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const head = `| ${columns.join(' | ')} |\n|${columns.map(() => '---').join('|')}|\n`;
  return head + rows.map((r) => `| ${columns.map((c) => String(r[c] ?? '')).join(' | ')} |`).join('\n');
}

function report(
  s: Record<string, unknown>,
  ok: boolean,
  serverVersion: string,
  pools: Record<string, unknown>[],
  stats: Record<string, unknown>[],
): string {
  const date = new Date().toISOString();
  const appPools = pools.filter((p) => p.database !== 'pgbouncer');
  const appStats = stats.filter((p) => p.database !== 'pgbouncer');
  return `# Load test results

Generated by \`infra/scripts/load.ts\` on ${date} (${ok ? 'PASS' : 'FAIL'}: zero 5xx, errors and timeouts required).

## Set-up
- Machine: ${os.cpus().length} CPU cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}; PostgreSQL ${serverVersion}; Redis (local).
- ingest-api: the built \`apps/ingest-api/dist/server.js\`, one process, \`DATABASE_POOL_MAX=${apiPoolMax}\`, rate limit lifted for the run,
  \`AUTH_MODE=dev\` (dev tokens, same verification path as Cognito tokens), \`LOG_LEVEL=warn\`.
- pgBouncer ${pgbouncerVersion()}: \`infra/pgbouncer/entrypoint.sh\` (the compose configuration), \`pool_mode=transaction\`,
  \`max_client_conn=100\`, \`default_pool_size=${poolSize}\`; the API's \`prospectflow_app\` pool connects through it.
- Data: \`seedDemo\` + 2,000 companies in the demo organisation, on a fresh migrated database.
- Load: autocannon, ${s.connections} connections for ${s.durationSeconds} s, round-robin over
  \`GET /v1/companies?limit=20\` (tenant, RLS through pgBouncer), \`GET /v1/me\` (auth + membership lookup), \`GET /health\`.

## Results
| metric | value |
|---|---|
| requests | ${s.requests} |
| requests/s (mean) | ${s.requestsPerSecond} |
| latency p50 | ${s.p50Ms} ms |
| latency p90 | ${s.p90Ms} ms |
| latency p99 | ${s.p99Ms} ms |
| latency max | ${s.maxMs} ms |
| 2xx | ${s.status2xx} |
| 4xx | ${s.status4xx} |
| 5xx | ${s.status5xx} |
| errors / timeouts | ${s.errors} / ${s.timeouts} |
| status codes | ${JSON.stringify(s.statusCodes)} |

## pgBouncer at the end of the run
SHOW POOLS:

${table(appPools, ['database', 'user', 'cl_active', 'cl_waiting', 'sv_active', 'sv_idle', 'sv_used', 'maxwait', 'pool_mode'])}

SHOW STATS:

${table(appStats, ['database', 'total_xact_count', 'total_query_count', 'avg_xact_time', 'avg_query_time', 'avg_wait_time'])}

(What these columns mean and what to watch: [pgbouncer.md](pgbouncer.md).)

## Reproduce
\`\`\`
pnpm turbo run build --filter=@prospectflow/ingest-api...
pnpm --dir infra load                                     # 200 connections, 60 s
LOAD_CONNECTIONS=50 LOAD_DURATION=10 LOAD_OUTPUT=- pnpm --dir infra load   # quick check
\`\`\`
`;
}

function pgbouncerVersion(): string {
  try {
    const bin =
      env.PGBOUNCER_BIN ?? (fs.existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : 'pgbouncer');
    return execFileSync(bin, ['--version'], { encoding: 'utf8' })
      .split('\n')[0]!
      .replace(/^PgBouncer\s*/i, '');
  } catch {
    return '(version unknown)';
  }
}

main().catch((error: Error) => {
  log('load_error', { message: error.message });
  process.exitCode = 1;
});
