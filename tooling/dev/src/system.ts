import fs from 'node:fs';
import path from 'node:path';
import { DEMO_IDS } from '@prospectflow/db-schema';
import { type Child, startNodeChild } from './children.js';
import { type DevDatabase, startDevDatabase } from './database.js';
import { pointDemoMailbox, reportDemoReply, startDemoCampaign, waitForDemoVerification } from './demo.js';
import { waitForHealthy } from './health.js';
import { say, warn } from './logs.js';
import {
  DEMO_MAILBOX,
  DEV_IMAP_POLL_INTERVAL_MS,
  devSecretsEnv,
  REPLYING_PROSPECT,
  startDevMail,
} from './mail.js';
import { dataDir, repoRoot } from './paths.js';
import { assertPortFree } from './ports.js';

/**
 * The worker's shutdown grace under `pnpm dev` (WORKER_SHUTDOWN_GRACE_MS; 20 s by default
 * elsewhere): Ctrl-C lets in-flight tasks finish this long, then the worker hands the rest back
 * (pending, attempt refunded) and exits. Its stop grace below is longer, so it always gets there.
 */
export const DEV_WORKER_SHUTDOWN_GRACE_MS = 5_000;

/** The worker's close-with-grace delay is its shutdown grace + 5 s; then a margin of our own. */
export function workerStopGraceMs(shutdownGraceMs: number): number {
  return shutdownGraceMs + 5_000 + 5_000;
}

function milliseconds(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value !== undefined && value.trim() !== '' && Number.isFinite(parsed) && parsed >= 0
    ? parsed
    : fallback;
}

export interface DevOptions {
  reset: boolean;
  env: NodeJS.ProcessEnv;
}

function requireBuilt(relative: string): string {
  const file = path.join(repoRoot, relative);
  if (!fs.existsSync(file))
    throw new Error(`${relative} is missing: run \`pnpm build\` first (pnpm dev does)`);
  return file;
}

/** Starts the whole local system and resolves with the exit code once it has stopped. */
export async function runDevSystem(options: DevOptions): Promise<number> {
  const startedAt = performance.now();
  const env: NodeJS.ProcessEnv = { ...options.env, NODE_ENV: options.env.NODE_ENV ?? 'development' };
  const apiPort = Number(env.DEV_API_PORT ?? env.PORT ?? 3000);
  const smtpPort = Number(env.DEV_SMTP_PORT ?? 1025);
  const baseUrl = `http://127.0.0.1:${apiPort}`;
  // The worker's and the API's own graces, from the variables they read (their defaults otherwise).
  const workerShutdownGraceMs = milliseconds(env.WORKER_SHUTDOWN_GRACE_MS, DEV_WORKER_SHUTDOWN_GRACE_MS);
  const apiCloseGraceMs = milliseconds(env.CLOSE_GRACE_DELAY_MS, 10_000);
  let sink: Child | undefined;
  let api: Child | undefined;
  let worker: Child | undefined;
  const children = () => [sink, api, worker].filter((child): child is Child => child !== undefined);
  let database: DevDatabase | undefined;
  let mail: Awaited<ReturnType<typeof startDevMail>> | undefined;
  const stopping = new AbortController();
  // Created up front: a signal that arrives during start-up must still end the run.
  const stopped = new Promise<'signal'>((resolve) =>
    stopping.signal.addEventListener('abort', () => resolve('signal'), { once: true }),
  );

  // One after the other, each while what it needs still runs: the worker first (it finishes or
  // hands back its in-flight tasks, which needs PostgreSQL and the mail servers), then the API, the
  // SMTP sink, the local mail system, and PostgreSQL last. Nothing here receives the terminal's
  // Ctrl-C (cli.ts runs this process in a process group of its own), so nothing stops early.
  const shutdown = async () => {
    stopping.abort();
    if (worker && worker.process.exitCode === null && worker.process.signalCode === null)
      say(`stopping the worker (in-flight tasks get up to ${workerShutdownGraceMs / 1000} s)`);
    await worker?.stop();
    if (api && api.process.exitCode === null && api.process.signalCode === null) say('stopping the API');
    await api?.stop();
    await sink?.stop();
    if (mail) say('stopping the local mail system');
    await mail?.stop();
    if (database?.embedded) say('stopping PostgreSQL');
    await database?.embedded?.stop();
  };
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals | 'disconnect') => {
    signals += 1;
    if (signal === 'disconnect') say('pnpm dev went away: stopping');
    else if (signals === 1) say(`${signal}: stopping`);
    else say(`${signal}: already stopping, in order (Ctrl-C once more kills everything at once)`);
    stopping.abort();
  };
  const onDisconnect = () => onSignal('disconnect');
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  // The IPC channel to cli.ts closes when it exits, even when it was killed (SIGKILL): stop too.
  process.on('disconnect', onDisconnect);

  try {
    await assertPortFree(apiPort, 'ingest-api', 'DEV_API_PORT');
    const data = dataDir(env);
    database = await startDevDatabase({ env, dataDir: data, reset: options.reset });
    if (stopping.signal.aborted) return 130;

    if (!env.REDIS_URL) warn('no REDIS_URL: sessions and rate limits are kept in-process (development only)');
    let smtpUrl = env.SMTP_URL;
    if (!smtpUrl) {
      await assertPortFree(smtpPort, 'SMTP sink', 'DEV_SMTP_PORT');
      const mailDir = path.join(data, 'mail');
      sink = startNodeChild(
        'smtp',
        requireBuilt('tooling/dev/dist/smtp-sink.js'),
        { ...env, SMTP_SINK_PORT: String(smtpPort), SMTP_SINK_DIR: mailDir },
        repoRoot,
        { stopGraceMs: 5_000 },
      );
      smtpUrl = `smtp://127.0.0.1:${smtpPort}`;
      // Only relay mailboxes (a DNS-proved sending domain) send through SMTP_URL; the demo mailbox
      // sends through its own server (the local mail system below), so the demo leaves this empty.
      say(
        `SMTP sink on 127.0.0.1:${smtpPort} (the platform relay, SMTP_URL): writes what relay mailboxes send to ${mailDir}; the demo mailbox sends through its own server below`,
      );
    }

    // The demo mailbox's own servers: Dovecot (IMAP) and an SMTP server delivering into it.
    // Optional: a machine with only Node gets the API and the worker without the mail demo.
    mail = await startDevMail().catch((error: Error) => {
      if (error.name !== 'DovecotMissingError') throw error;
      warn(
        `no local mail system, so no mail demo (the demo mailbox is not connected, the demo campaign not started; the API and the worker run): ${error.message}`,
      );
      return undefined;
    });
    if (mail)
      say(
        `local mail system: SMTP 127.0.0.1:${mail.smtpPort}, IMAP 127.0.0.1:${mail.imapPort} (${DEMO_MAILBOX.address} / ${DEMO_MAILBOX.password}); every address's mail as files in ${mail.dir}/home/<address>/Maildir (removed when pnpm dev stops)`,
      );
    if (stopping.signal.aborted) return 130;

    const keyDir = env.AUTH_DEV_KEY_DIR ?? path.join(data, 'dev-auth');
    const shared = {
      ...env,
      ...devSecretsEnv(data, env),
      MAIL_HOST_ALLOWLIST: env.MAIL_HOST_ALLOWLIST ?? '127.0.0.1',
      PUBLIC_BASE_URL: env.PUBLIC_BASE_URL ?? baseUrl,
      AUTH_MODE: env.AUTH_MODE ?? 'dev',
      AUTH_DEV_KEY_DIR: keyDir,
    };
    api = startNodeChild(
      'api',
      requireBuilt('apps/ingest-api/dist/server.js'),
      {
        ...shared,
        PORT: String(apiPort),
        HOST: env.HOST ?? '127.0.0.1',
        DATABASE_URL: database.appUrl,
        INBOUND_WEBHOOK_SECRET: env.INBOUND_WEBHOOK_SECRET ?? 'dev-inbound-secret',
      },
      repoRoot,
      { stopGraceMs: apiCloseGraceMs + 5_000 },
    );
    const firstExit = () =>
      Promise.race(children().map((child) => child.exited.then((code) => ({ child, code }))));
    const startingUp = async (step: Promise<unknown>) => {
      try {
        await Promise.race([
          step,
          firstExit().then(({ child, code }) => {
            throw new Error(`${child.name} exited during start-up (code ${code}); see its log above`);
          }),
        ]);
      } catch (error) {
        if (!stopping.signal.aborted) throw error;
      }
    };
    await startingUp(waitForHealthy(`${baseUrl}/health`, 30_000, stopping.signal));
    if (stopping.signal.aborted) return 130;
    // Before the worker starts: the demo mailbox still names the previous run's Dovecot ports, and
    // the worker's IMAP poller would try them first (a spurious 'imap poll failed' on every restart).
    const pointed = mail
      ? await pointDemoMailbox(baseUrl, shared, mail, DEMO_MAILBOX.password).catch((error: Error) => {
          warn(`demo mailbox not connected: ${error.message}`);
          return false;
        })
      : false;
    if (stopping.signal.aborted) return 130;
    worker = startNodeChild(
      'worker',
      requireBuilt('apps/worker/dist/main.js'),
      {
        ...shared,
        WORKER_DATABASE_URL: database.workerUrl,
        SMTP_URL: smtpUrl,
        IMAP_POLL_INTERVAL_MS: env.IMAP_POLL_INTERVAL_MS ?? String(DEV_IMAP_POLL_INTERVAL_MS),
        WORKER_SHUTDOWN_GRACE_MS: String(workerShutdownGraceMs),
      },
      repoRoot,
      { stopGraceMs: workerStopGraceMs(workerShutdownGraceMs) },
    );
    if (pointed)
      await startingUp(
        waitForDemoVerification(baseUrl, shared, stopping.signal).catch((error: Error) => {
          if (!stopping.signal.aborted) warn(`demo mailbox not verified: ${error.message}`);
        }),
      );
    if (stopping.signal.aborted) return 130;
    // Without the mail system the campaign stays a draft: a later start with Dovecot sends it.
    const campaignStarted = mail
      ? await startDemoCampaign(baseUrl, shared).catch((error: Error) => {
          warn(`demo campaign not started: ${error.message}`);
          return false;
        })
      : false;
    // Not awaited: the system is ready now; the reply comes within a poll interval or two.
    if (campaignStarted)
      void reportDemoReply(baseUrl, shared, REPLYING_PROSPECT.email, 120_000, stopping.signal).catch(
        (error: Error) => warn(`demo reply not followed: ${error.message}`),
      );
    const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
    const tokenCommand = `${env.DEV_DATA_DIR ? `AUTH_DEV_KEY_DIR=${keyDir} ` : ''}pnpm -s token --email dev@prospectflow.local`;
    say(`ready in ${seconds} s`);
    process.stdout.write(
      [
        '',
        `  API        ${baseUrl}`,
        `  API docs   ${baseUrl}/docs`,
        `  Health     ${baseUrl}/health`,
        `  Dev token  ${tokenCommand}   (owner of the demo organisation)`,
        `  Try        curl -H "Authorization: Bearer $(${tokenCommand})" ${baseUrl}/v1/me`,
        ...(mail
          ? [
              `  Reply      curl -H "Authorization: Bearer $(${tokenCommand})" -H "x-organisation-id: ${DEMO_IDS.organisation}" ${baseUrl}/v1/campaigns/${DEMO_IDS.campaign}/stats   (totals.replied: ${REPLYING_PROSPECT.email} answered)`,
            ]
          : []),
        '  Stop       Ctrl-C',
        '',
      ].join('\n'),
    );

    const outcome = await Promise.race([stopped, firstExit()]);
    if (outcome !== 'signal') {
      warn(`${outcome.child.name} exited unexpectedly (code ${outcome.code}): stopping everything`);
      return 1;
    }
    return 0;
  } finally {
    await shutdown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('disconnect', onDisconnect);
  }
}
