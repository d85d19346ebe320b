/**
 * An operator's command: suspend or reactivate an organisation (docs/runbooks/suspend-organisation.md).
 *   MIGRATION_DATABASE_URL=… REDIS_URL=… node apps/ingest-api/dist/cli/organisation.js suspend <id>
 */
import { isUuid } from '@prospectflow/tenant-context';
import pino from 'pino';
import { OrganisationNotFound, setOrganisationStatus } from '../operations/organisation-status.js';

const USAGE = `Usage: organisation <suspend|reactivate> <organisation-id>

Suspends an organisation (its members are refused with 403 organisation_suspended from their next
request; nothing is deleted) or makes it active again, and drops its members' cached sessions so
the change holds at once instead of after AUTH_SESSION_TTL_SECONDS.

Environment: MIGRATION_DATABASE_URL (role prospectflow_migrator, direct connection), REDIS_URL (the
API's session cache; without it, API processes keep their in-process sessions until they expire).
Exit codes: 0 done, 1 failure, 2 usage or unknown organisation.
`;

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.includes('--help') || args.includes('-h')) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const log = pino({ base: { cli: 'organisation' } });
const [command, organisationId] = args;
const status = command === 'suspend' ? 'suspended' : command === 'reactivate' ? 'active' : undefined;
if (!status || !organisationId || !isUuid(organisationId) || args.length !== 2) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const migrationUrl = process.env.MIGRATION_DATABASE_URL;
if (!migrationUrl) {
  log.error('MIGRATION_DATABASE_URL is required');
  process.exit(2);
}
try {
  const change = await setOrganisationStatus(organisationId, status, {
    migrationUrl,
    redisUrl: process.env.REDIS_URL || undefined,
  });
  if (!process.env.REDIS_URL)
    log.warn('REDIS_URL is not set: API processes keep their cached sessions until they expire');
  log.info(change, `organisation ${status}`);
} catch (error) {
  if (error instanceof OrganisationNotFound) {
    log.error(error.message);
    process.exitCode = 2;
  } else {
    log.error({ err: error }, 'organisation status not changed');
    process.exitCode = 1;
  }
}
