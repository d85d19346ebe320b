/**
 * Re-wraps every sealed secret's data key under the active key (docs/runbooks/rotate-secret-keys.md).
 *   WORKER_DATABASE_URL=… SECRETS_…=… node apps/worker/dist/rotate-keys.js [--dry-run]
 */
import { keyProviderFromEnv, SecretBox } from '@prospectflow/secrets';
import pg from 'pg';
import { createLogger } from '../logger.js';
import { rotateSealedSecrets } from '../mailboxes/rotate.js';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(`Usage: rotate-keys [--dry-run]

Re-wraps the data key of every sealed secret (mailbox credentials, DKIM keys) that is not wrapped
by the active key of the configured key provider; ciphertexts are not touched. Keep the old key
in the provider until this reports 0 failures.

  --dry-run   only count what would be re-wrapped

Environment: WORKER_DATABASE_URL (role prospectflow_worker), SECRETS_PROVIDER, SECRETS_LOCAL_KEYS
or SECRETS_KEY_FILE (+ SECRETS_ACTIVE_KEY), or SECRETS_KMS_KEY_ID + AWS_REGION. Exit code 1 when
any secret failed to re-wrap, 2 when the run could not start or stopped (settings, key provider,
database): what was re-wrapped before stays re-wrapped, run it again.
`);
  process.exit(0);
}
const unknown = args.filter((a) => a !== '--dry-run');
if (unknown.length) {
  process.stderr.write(`unknown option ${unknown.join(' ')} (see --help)\n`);
  process.exit(2);
}
const log = createLogger(undefined, 'rotate-keys');
/** Exit 2 with one structured line: the message only (a stack or a config dump is no use here). */
const stop = (message: string): never => {
  log.error(message);
  process.exit(2);
};
const url = process.env.WORKER_DATABASE_URL;
let provider: ReturnType<typeof keyProviderFromEnv>;
try {
  provider = keyProviderFromEnv();
} catch (error) {
  stop(`key provider settings: ${(error as Error).message}`);
}
if (!url || !provider) stop('WORKER_DATABASE_URL and a key provider (SECRETS_*) are required');
const pool = new pg.Pool({ connectionString: url, max: 2 });
try {
  const report = await rotateSealedSecrets(pool, new SecretBox(provider!), log, {
    dryRun: args.includes('--dry-run'),
  });
  log.info({ ...report, failed: report.failed.length }, 'rotation finished');
  for (const failure of report.failed) log.error(failure, 'rotation: secret not re-wrapped');
  process.exitCode = report.failed.length ? 1 : 0;
} catch (error) {
  log.error(`rotation stopped: ${(error as Error).message}`);
  process.exitCode = 2;
} finally {
  await pool.end();
}
