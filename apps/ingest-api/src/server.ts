import { AuthEnv } from '@prospectflow/auth-core';
import { envUsage } from '@prospectflow/config';
import { shutdownTracing } from '@prospectflow/telemetry';
import closeWithGrace from 'close-with-grace';
import { buildApp } from './app.js';
import { ApiEnv, ConfigError, loadConfig } from './config.js';

/** Runs the process: config, app, graceful close on SIGTERM/SIGINT, listen. */
async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(
      `Usage: node dist/server.js   (ingest-api: the HTTP API; no arguments, settings from the environment)\n\n${envUsage(ApiEnv)}\n\nAuthentication (auth-core):\n${envUsage(AuthEnv)}\n`,
    );
    return;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const app = await buildApp(config);

  closeWithGrace({ delay: config.closeGraceDelayMs }, async ({ signal, err }) => {
    if (err) app.log.error({ err }, 'closing after an uncaught error');
    else app.log.info({ signal }, 'closing');
    await app.close();
    // close-with-grace exits next: the spans still buffered go out now or never.
    await shutdownTracing();
  });

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    app.log.fatal({ err: error }, 'failed to start');
    process.exit(1);
  }
}

await main();
