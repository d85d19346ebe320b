import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { DEMO_IDS, DEMO_PEOPLE } from '@prospectflow/db-schema';
import { freePorts } from '@prospectflow/testing/ports';
import { childGuardNodeOptions, watchChildStderr } from '@prospectflow/testing/setup';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEV_IMAP_POLL_INTERVAL_MS, REPLYING_PROSPECT } from '../src/mail.js';

// The built CLI, exactly what `pnpm dev` runs (turbo builds it before this test).
const cli = path.resolve(import.meta.dirname, '..', 'dist', 'cli.js');
const tsx = path.resolve(import.meta.dirname, '..', 'node_modules', '.bin', 'tsx');
const tokenCli = path.resolve(
  import.meta.dirname,
  '..',
  '..',
  '..',
  'packages',
  'auth-core',
  'src',
  'token-cli.ts',
);

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

// A failed assertion skips the test's own Ctrl-C: stop what is still running, or it outlives the run.
const runs: Run[] = [];
afterEach(async () => {
  for (const run of runs.splice(0)) {
    if (run.child.exitCode !== null || run.child.signalCode !== null) continue;
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-run.child.pid!, name);
      } catch {
        // the group is already gone
      }
    };
    signal('SIGINT');
    const stopped = await Promise.race([
      run.exit.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    if (!stopped) signal('SIGKILL');
  }
});

function startDev(env: Record<string, string>, args: string[] = []): Run {
  let output = '';
  const clean = { ...process.env };
  for (const key of ['DATABASE_URL', 'DATABASE_ADMIN_URL', 'REDIS_URL', 'SMTP_URL', 'PORT'])
    delete clean[key];
  // Its own process group, as in a terminal: Ctrl-C signals the whole group (see ctrlC). It and
  // the API and worker it starts run with the pg overlap guard: an overlap in any fails the test.
  const nodeOptions = childGuardNodeOptions(createRequire(import.meta.url).resolve('tsx'));
  const child = spawn(process.execPath, [cli, ...args], {
    // ESBUILD_WORKER_THREADS=0: tsx compiles an ESM-only package a CJS one requires (supports-color
    // for debug) with esbuild's transformSync, which runs in a worker thread; that thread inherits
    // NODE_OPTIONS, cannot load the guard's .ts preload and dies, and the process waits for it
    // forever (only when tsx's cache is cold, as on a fresh machine).
    env: { ...clean, NODE_OPTIONS: nodeOptions, ESBUILD_WORKER_THREADS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  for (const stream of [child.stdout, child.stderr]) watchChildStderr(stream, { forward: false });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const run = { child, output: () => output, exit };
  runs.push(run);
  return run;
}

/** What Ctrl-C does in a terminal: SIGINT to every process of the foreground group at once. */
function ctrlC(run: Run): void {
  process.kill(-run.child.pid!, 'SIGINT');
}

async function waitFor(run: Run, pattern: RegExp, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(run.output())) {
    if (run.child.exitCode !== null) throw new Error(`exited early:\n${run.output()}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}:\n${run.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * pnpm dev stopped its children one after the other: the worker's own last line before the API,
 * the mail servers and PostgreSQL were asked to stop, and the worker's graceful shutdown never cut
 * short (a second signal, or a SIGKILL before its grace was over).
 */
function expectOrderlyStop(output: string): void {
  // The task queue's worker (its line names no queue), after the imports queue's.
  const workerStopped = output.search(/\[worker\].*worker stopped\n\s+workerId/);
  expect(workerStopped, output).toBeGreaterThan(-1);
  expect(output.indexOf('stopping the API'), output).toBeGreaterThan(workerStopped);
  expect(output.indexOf('stopping the local mail system'), output).toBeGreaterThan(
    output.indexOf('stopping the API'),
  );
  expect(output.indexOf('stopping PostgreSQL'), output).toBeGreaterThan(
    output.indexOf('stopping the local mail system'),
  );
  expect(output).not.toMatch(/second SIG(INT|TERM)|did not stop within|received fast shutdown request/);
}

/** The worker's complaints when it polls the demo mailbox at a Dovecot that is not there. */
const IMAP_TROUBLE = /imap poll failed|imap idle: connection failed/;

function postgresProcessesFor(dir: string): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(dir) && /postgres/.test(line));
}

/** Ports of its own for each run (distinct: taken together), so a developer's `pnpm dev` is left alone. */
async function devPorts() {
  const [api, postgres, smtp, metrics] = await freePorts(4);
  return {
    DEV_API_PORT: String(api),
    DEV_POSTGRES_PORT: String(postgres),
    DEV_SMTP_PORT: String(smtp),
    WORKER_METRICS_PORT: String(metrics),
  };
}

const dirs: string[] = [];

/** A fresh data directory, removed after the file (every test's, those that fail at start-up too). */
function tempDataDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-dev-'));
  fs.chmodSync(dir, 0o755);
  dirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

describe('pnpm dev', () => {
  it('starts everything, answers /health, keeps its data and stops cleanly on Ctrl-C and SIGTERM', async () => {
    const dataDir = tempDataDir();
    const ports = await devPorts();
    const env = { DEV_DATA_DIR: dataDir, ...ports };

    const first = startDev(env);
    await waitFor(first, /ready in \d+\.\d s/);
    const health = await fetch(`http://127.0.0.1:${ports.DEV_API_PORT}/health`);
    expect(health.status).toBe(200);
    expect(first.output()).toContain(`/docs`);
    expect(first.output()).toContain('pnpm -s token --email');
    // The dev token signs in as the seeded owner of the demo organisation.
    const token = execFileSync(tsx, [tokenCli, '--email', 'dev@prospectflow.local'], {
      env: { ...process.env, AUTH_DEV_KEY_DIR: path.join(dataDir, 'dev-auth') },
      encoding: 'utf8',
    }).trim();
    const me = await fetch(`http://127.0.0.1:${ports.DEV_API_PORT}/v1/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { memberships: { id: string; role: string }[] };
    expect(body.memberships).toContainEqual(
      expect.objectContaining({ id: DEMO_IDS.organisation, role: 'owner' }),
    );
    expect(postgresProcessesFor(dataDir).length).toBeGreaterThan(0);
    // The demo mailbox was connected to the local Dovecot + SMTP and verified by the worker
    // (logins, then its own message found in its inbox) before the demo campaign was activated.
    expect(first.output()).toContain('demo mailbox verified');
    expect(first.output()).toContain('demo campaign activated');
    // The demo campaign sends its first step through the demo mailbox's own SMTP server (a copy
    // lands in that mailbox's Sent folder): the campaign statistics count the three sends.
    const stats = async () => {
      const res = await fetch(
        `http://127.0.0.1:${ports.DEV_API_PORT}/v1/campaigns/${DEMO_IDS.campaign}/stats`,
        {
          headers: { authorization: `Bearer ${token}`, 'x-organisation-id': DEMO_IDS.organisation },
        },
      );
      return ((await res.json()) as { totals: { sent: number } }).totals.sent;
    };
    for (let waited = 0; waited < 60_000 && (await stats()) < 3; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(await stats()).toBe(3);
    // The round trip: the local SMTP server answers the replying demo prospect's email in its
    // thread, into the demo mailbox's INBOX; the worker's IMAP poller reads it there (every
    // DEV_IMAP_POLL_INTERVAL_MS under pnpm dev) and her enrollment becomes 'replied'. The answer
    // lands 50 ms after the send: one interval plus a poll round, with room for a loaded machine.
    const api = (route: string) =>
      fetch(`http://127.0.0.1:${ports.DEV_API_PORT}${route}`, {
        headers: { authorization: `Bearer ${token}`, 'x-organisation-id': DEMO_IDS.organisation },
      }).then((res) => res.json() as Promise<Record<string, unknown>>);
    const replied = async () =>
      ((await api(`/v1/campaigns/${DEMO_IDS.campaign}/stats`)) as { totals: { replied: number } }).totals
        .replied;
    const replyDeadline = Date.now() + 3 * DEV_IMAP_POLL_INTERVAL_MS + 5_000;
    while (Date.now() < replyDeadline && (await replied()) < 1) await new Promise((r) => setTimeout(r, 250));
    expect(await replied()).toBe(1);
    type Subject = {
      enrollments: { campaign_id: string; status: string }[];
      messages: { direction: string; inbound_kind: string | null; from_address: string }[];
    };
    const subject = async (email: string) =>
      (await api(`/v1/privacy/subjects?email=${encodeURIComponent(email)}`)) as unknown as Subject;
    const replier = await subject(REPLYING_PROSPECT.email);
    expect(replier.enrollments).toEqual([
      expect.objectContaining({ campaign_id: DEMO_IDS.campaign, status: 'replied' }),
    ]);
    expect(replier.messages).toContainEqual(
      expect.objectContaining({
        direction: 'inbound',
        inbound_kind: 'reply',
        from_address: REPLYING_PROSPECT.email,
      }),
    );
    // The others never answer: their sequences go on.
    for (const person of DEMO_PEOPLE.filter((p) => p.email !== REPLYING_PROSPECT.email))
      expect((await subject(person.email)).enrollments).toEqual([
        expect.objectContaining({ status: 'active' }),
      ]);
    // pnpm dev says so in its own output too, naming who answered.
    await waitFor(first, /demo reply received/, 10_000);
    expect(first.output()).toContain(`demo reply received: ${REPLYING_PROSPECT.email} answered`);
    // Ctrl-C signals the terminal's whole process group: only pnpm dev is in it (PostgreSQL,
    // Dovecot and the apps are in a group of its own), and it stops them in order.
    ctrlC(first);
    expect(await first.exit).toBe(0);
    expectOrderlyStop(first.output());
    expect(postgresProcessesFor(dataDir)).toEqual([]);

    // Second start reuses the data directory (no new migrations) and stops on SIGTERM.
    const second = startDev(env);
    await waitFor(second, /ready in/);
    expect(second.output()).toContain('migrations applied (0 new)');
    second.child.kill('SIGTERM');
    expect(await second.exit).toBe(0);
    expectOrderlyStop(second.output());
    expect(postgresProcessesFor(dataDir)).toEqual([]);
  }, 240_000);

  it('lets the worker finish its in-flight task on Ctrl-C, and a restart is quiet; SIGKILL of pnpm dev still stops everything', async () => {
    const dataDir = tempDataDir();
    const ports = await devPorts();
    // The worker's default shutdown grace (20 s): pnpm dev once SIGKILLed it after 10 s.
    const env = { DEV_DATA_DIR: dataDir, ...ports, WORKER_SHUTDOWN_GRACE_MS: '20000' };
    const databaseUrl = `postgres://postgres:postgres@127.0.0.1:${ports.DEV_POSTGRES_PORT}/prospectflow`;
    const first = startDev(env);
    // The demo mailbox now points at this run's mail system and the worker is about to start: hold
    // the mailbox's row, so the worker's verification (it writes that row) stays in flight.
    await waitFor(first, /demo mailbox connected to the local mail system/);
    const holder = new pg.Client({ connectionString: databaseUrl });
    const watcher = new pg.Client({ connectionString: databaseUrl });
    let connected = true;
    const disconnect = async () => {
      if (!connected) return;
      connected = false;
      await Promise.allSettled([holder.end(), watcher.end()]);
    };
    await holder.connect();
    await watcher.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM outreach.mailboxes WHERE id = $1 FOR UPDATE', [DEMO_IDS.mailbox]);
      let task: { id: string; locked_by: string } | undefined;
      for (const deadline = Date.now() + 60_000; !task && Date.now() < deadline; ) {
        const { rows } = await watcher.query(
          `SELECT id, locked_by FROM outreach.tasks WHERE type = 'verify_mailbox' AND status = 'running'`,
        );
        task = rows[0];
        if (!task) await new Promise((r) => setTimeout(r, 100));
      }
      expect(task, first.output()).toBeDefined();

      ctrlC(first);
      await waitFor(first, /stopping the worker \(in-flight tasks get up to 20 s\)/);
      // Longer than the 10 s after which the worker used to be killed: it is still waiting for its
      // task, PostgreSQL and the mail servers still up.
      await new Promise((r) => setTimeout(r, 12_000));
      expect(first.child.exitCode).toBeNull();
      expect(first.output()).not.toMatch(
        /worker stopped\n\s+workerId|stopping the local mail|stopping PostgreSQL/,
      );
      await holder.query('COMMIT');
      await disconnect();
      // 130: interrupted during start-up (it was waiting for that verification).
      expect(await first.exit).toBe(130);
      expectOrderlyStop(first.output());
      expect(first.output()).not.toContain('grace period over');
      expect(postgresProcessesFor(dataDir)).toEqual([]);

      // Restart: the task was finished, not left running leased to the stopped worker; the demo
      // mailbox is pointed at the new Dovecot before the worker starts, so it never polls the old one.
      const second = startDev(env);
      await waitFor(second, /ready in/);
      expect(second.output()).toContain('demo mailbox verified');
      const check = new pg.Client({ connectionString: databaseUrl });
      await check.connect();
      try {
        const { rows } = await check.query('SELECT status, locked_by FROM outreach.tasks WHERE id = $1', [
          task!.id,
        ]);
        expect(rows).toEqual([{ status: 'succeeded', locked_by: null }]);
        const leftover = await check.query(
          `SELECT count(*)::int AS n FROM outreach.tasks WHERE status = 'running' AND locked_by = $1`,
          [task!.locked_by],
        );
        expect(leftover.rows[0].n).toBe(0);
      } finally {
        await check.end();
      }
      // Two poll rounds of the demo mailbox, without a complaint.
      await new Promise((r) => setTimeout(r, 2 * DEV_IMAP_POLL_INTERVAL_MS + 1_000));
      expect(second.output()).not.toMatch(IMAP_TROUBLE);

      // pnpm dev itself killed: what it started sees it gone and stops, in order.
      second.child.kill('SIGKILL');
      await second.exit;
      await waitFor(second, /INFO: stopped$/m, 60_000);
      expect(second.output()).toContain('pnpm dev went away: stopping');
      expectOrderlyStop(second.output());
      expect(postgresProcessesFor(dataDir)).toEqual([]);
      for (const port of [ports.DEV_API_PORT, ports.WORKER_METRICS_PORT])
        expect(
          await fetch(`http://127.0.0.1:${port}/health`).then(
            () => 'answering',
            () => 'closed',
          ),
        ).toBe('closed');
    } finally {
      await disconnect();
    }
  }, 240_000);

  it('stops cleanly when interrupted during start-up', async () => {
    const dataDir = tempDataDir();
    const run = startDev({ DEV_DATA_DIR: dataDir, ...(await devPorts()) });
    await waitFor(run, /demo data seeded/);
    run.child.kill('SIGINT');
    expect(await run.exit).toBe(130);
    expect(postgresProcessesFor(dataDir)).toEqual([]);
  }, 120_000);

  it('stops on Ctrl-C as soon as the API answers, while it still connects the demo mailbox', async () => {
    const dataDir = tempDataDir();
    const ports = await devPorts();
    const apiPort = Number(ports.DEV_API_PORT);
    const run = startDev({ DEV_DATA_DIR: dataDir, ...ports });
    const deadline = Date.now() + 90_000;
    while (
      !(await fetch(`http://127.0.0.1:${apiPort}/health`).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (run.child.exitCode !== null || Date.now() > deadline) throw new Error(run.output());
      await new Promise((r) => setTimeout(r, 100));
    }
    ctrlC(run);
    const stopped = await Promise.race([
      run.exit.then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 30_000)),
    ]);
    if (!stopped) process.kill(-run.child.pid!, 'SIGKILL');
    expect(stopped, run.output()).toBe(true);
    expect(postgresProcessesFor(dataDir)).toEqual([]);
  }, 150_000);

  it('`pnpm dev` itself returns 0 on Ctrl-C, and only once PostgreSQL has stopped', async () => {
    // The root script through pnpm, as the README says. It ran `node tooling/dev/start.mjs` under
    // `sh -c`: Ctrl-C killed that sh, so pnpm printed 'ELIFECYCLE Command failed' and gave the
    // prompt back (killed by SIGINT) while the system was still stopping.
    const dataDir = tempDataDir();
    const ports = await devPorts();
    const clean = { ...process.env };
    for (const key of ['DATABASE_URL', 'DATABASE_ADMIN_URL', 'REDIS_URL', 'SMTP_URL', 'PORT', 'NODE_OPTIONS'])
      delete clean[key];
    const child = spawn('pnpm', ['dev'], {
      cwd: path.resolve(import.meta.dirname, '..', '..', '..'),
      env: { ...clean, ESBUILD_WORKER_THREADS: '0', DEV_DATA_DIR: dataDir, ...ports },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const exit = new Promise<{ code: number | null; signal: string | null; postgres: string[] }>((resolve) =>
      child.once('exit', (code, signal) =>
        resolve({ code, signal, postgres: postgresProcessesFor(dataDir) }),
      ),
    );
    const run = { child, output: () => output, exit: exit.then(({ code }) => code) };
    runs.push(run);
    await waitFor(run, /ready in \d+\.\d s/, 150_000);
    ctrlC(run);
    const stopped = await exit;
    expect({ code: stopped.code, signal: stopped.signal }, output).toEqual({ code: 0, signal: null });
    // pnpm returned after the system had stopped, not before.
    expect(stopped.postgres).toEqual([]);
    expect(output).not.toContain('ELIFECYCLE');
  }, 240_000);

  it('runs the API and the worker without the mail demo when Dovecot is not installed', async () => {
    const dataDir = tempDataDir();
    const ports = await devPorts();
    // What findBinary sees on a machine with only Node: no Dovecot that runs.
    const run = startDev({ DEV_DATA_DIR: dataDir, ...ports, DOVECOT_BIN: path.join(dataDir, 'no-dovecot') });
    await waitFor(run, /ready in \d+\.\d s/);
    const output = run.output();
    expect(output).toContain('no local mail system');
    expect(output).toContain('apt-get install -y dovecot-imapd dovecot-lmtpd');
    expect(output).not.toContain('pnpm dev could not start');
    await waitFor(run, /\[worker\].*worker started/, 30_000);
    expect((await fetch(`http://127.0.0.1:${ports.DEV_API_PORT}/health`)).status).toBe(200);
    // The demo campaign is left a draft (nothing could send it): a later start with Dovecot sends it.
    const token = execFileSync(tsx, [tokenCli, '--email', 'dev@prospectflow.local'], {
      env: { ...process.env, AUTH_DEV_KEY_DIR: path.join(dataDir, 'dev-auth') },
      encoding: 'utf8',
    }).trim();
    const campaign = await fetch(`http://127.0.0.1:${ports.DEV_API_PORT}/v1/campaigns/${DEMO_IDS.campaign}`, {
      headers: { authorization: `Bearer ${token}`, 'x-organisation-id': DEMO_IDS.organisation },
    });
    expect(((await campaign.json()) as { status: string }).status).toBe('draft');
    expect(output).not.toContain('demo campaign activated');
    ctrlC(run);
    expect(await run.exit).toBe(0);
    expect(run.output().indexOf('stopping PostgreSQL')).toBeGreaterThan(
      run.output().indexOf('stopping the API'),
    );
    expect(postgresProcessesFor(dataDir)).toEqual([]);
  }, 120_000);

  it('names the cause and the fix when the API port is taken', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const run = startDev({ DEV_DATA_DIR: tempDataDir(), DEV_API_PORT: String(port) });
    expect(await run.exit).toBe(1);
    expect(run.output()).toMatch(new RegExp(`port ${port} \\(ingest-api\\) is already in use`));
    expect(run.output()).toContain('DEV_API_PORT');
    blocker.close();
  });

  it('names the cause and the fix when the data directory is unusable', async () => {
    const file = path.join(tempDataDir(), 'not-a-directory');
    fs.writeFileSync(file, 'x');
    const run = startDev({ DEV_DATA_DIR: file, ...(await devPorts()) });
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain(`the data directory ${file} is not writable`);
    expect(run.output()).toContain('DEV_DATA_DIR');
  });

  it('points at --reset when the PostgreSQL data directory is damaged', async () => {
    const dataDir = tempDataDir();
    fs.mkdirSync(path.join(dataDir, 'postgres'));
    fs.writeFileSync(path.join(dataDir, 'postgres', 'garbage'), 'not postgres');
    const run = startDev({ DEV_DATA_DIR: dataDir, ...(await devPorts()) });
    expect(await run.exit).toBe(1);
    expect(run.output()).toContain('pnpm dev --reset');
  });
});
