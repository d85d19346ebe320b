import fs from 'node:fs';
import path from 'node:path';
import { DEMO_IDS } from '@prospectflow/db-schema';
import { type Child, startNodeChild } from './children.js';
import { type DevDatabase, startDevDatabase } from './database.js';
import { connectDemoMailbox, reportDemoReply, startDemoCampaign } from './demo.js';
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
  const children: Child[] = [];
  let database: DevDatabase | undefined;
  let mail: Awaited<ReturnType<typeof startDevMail>> | undefined;
  const stopping = new AbortController();
  // Created up front: a signal that arrives during start-up must still end the run.
  const stopped = new Promise<'signal'>((resolve) =>
    stopping.signal.addEventListener('abort', () => resolve('signal'), { once: true }),
  );

  const shutdown = async () => {
    stopping.abort();
    await Promise.all(children.map((child) => child.stop()));
    await database?.embedded?.stop();
    await mail?.stop();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    say(`${signal}: stopping`);
    stopping.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    await assertPortFree(apiPort, 'ingest-api', 'DEV_API_PORT');
    const data = dataDir(env);
    database = await startDevDatabase({ env, dataDir: data, reset: options.reset });
    if (stopping.signal.aborted) return 130;

    if (!env.REDIS_URL) warn('no REDIS_URL: sessions and rate limits are kept in-process (development only)');
    let smtpUrl = env.SMTP_URL;
    if (!smtpUrl) {
      await assertPortFree(smtpPort, 'SMTP sink', 'DEV_SMTP_PORT');
      const sink = requireBuilt('tooling/dev/dist/smtp-sink.js');
      const mailDir = path.join(data, 'mail');
      children.push(
        startNodeChild(
          'smtp',
          sink,
          { ...env, SMTP_SINK_PORT: String(smtpPort), SMTP_SINK_DIR: mailDir },
          repoRoot,
        ),
      );
      smtpUrl = `smtp://127.0.0.1:${smtpPort}`;
      say(`captured mail is written to ${mailDir} (one .eml per message)`);
    }

    // The demo mailbox's own servers: Dovecot (IMAP) and an SMTP server delivering into it.
    mail = await startDevMail();
    say(
      `local mail system: SMTP 127.0.0.1:${mail.smtpPort}, IMAP 127.0.0.1:${mail.imapPort} (${DEMO_MAILBOX.address} / ${DEMO_MAILBOX.password})`,
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
    children.push(
      startNodeChild(
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
      ),
    );
    children.push(
      startNodeChild(
        'worker',
        requireBuilt('apps/worker/dist/main.js'),
        {
          ...shared,
          WORKER_DATABASE_URL: database.workerUrl,
          SMTP_URL: smtpUrl,
          IMAP_POLL_INTERVAL_MS: env.IMAP_POLL_INTERVAL_MS ?? String(DEV_IMAP_POLL_INTERVAL_MS),
        },
        repoRoot,
      ),
    );

    const firstExit = Promise.race(children.map((child) => child.exited.then((code) => ({ child, code }))));
    try {
      await Promise.race([
        waitForHealthy(`${baseUrl}/health`, 30_000, stopping.signal),
        firstExit.then(({ child, code }) => {
          throw new Error(`${child.name} exited during start-up (code ${code}); see its log above`);
        }),
      ]);
    } catch (error) {
      if (stopping.signal.aborted) return 130;
      throw error;
    }
    if (stopping.signal.aborted) return 130;
    await connectDemoMailbox(baseUrl, shared, mail, DEMO_MAILBOX.password).catch((error: Error) =>
      warn(`demo mailbox not connected: ${error.message}`),
    );
    const campaignStarted = await startDemoCampaign(baseUrl, shared).catch((error: Error) => {
      warn(`demo campaign not started: ${error.message}`);
      return false;
    });
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
        `  Reply      curl -H "Authorization: Bearer $(${tokenCommand})" -H "x-organisation-id: ${DEMO_IDS.organisation}" ${baseUrl}/v1/campaigns/${DEMO_IDS.campaign}/stats   (totals.replied: ${REPLYING_PROSPECT.email} answered)`,
        '  Stop       Ctrl-C',
        '',
      ].join('\n'),
    );

    const outcome = await Promise.race([stopped, firstExit]);
    if (outcome !== 'signal') {
      warn(`${outcome.child.name} exited unexpectedly (code ${outcome.code}): stopping everything`);
      return 1;
    }
    return 0;
  } finally {
    await shutdown();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
