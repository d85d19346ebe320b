// The usage of `pnpm dev`, plain JS so start.mjs can print it before anything is built.
export const USAGE = `Usage: pnpm dev [--reset]

Starts the whole ProspectFlow system locally: an embedded PostgreSQL 18 (data in .data/postgres,
kept between runs) unless DATABASE_ADMIN_URL or DATABASE_URL is set, roles, migrations, demo
data, an SMTP sink for the platform relay (unless SMTP_URL is set), a local mail system (Dovecot
IMAP + an SMTP server delivering into it) the demo mailbox is connected to and verified on,
ingest-api and worker. On the first start the demo campaign sends step 1 through the demo
mailbox; the local mail server answers alice.martin@acme-industrie.example (development only)
and the worker's IMAP poller (every 3 s here) marks her enrollment 'replied'. Without Dovecot
(apt-get install -y dovecot-imapd dovecot-lmtpd) it says so and runs without that mail demo.

Ctrl-C stops the worker first (in-flight tasks get up to 5 s, WORKER_SHUTDOWN_GRACE_MS), then the
API, the mail servers and PostgreSQL; a third Ctrl-C kills everything at once.

  --reset   delete .data/postgres first (local dev data is lost)
  --help    this text (nothing is built or started)

Environment: DEV_DATA_DIR (.data), DEV_API_PORT (3000), DEV_POSTGRES_PORT (54329), DEV_SMTP_PORT
(1025), DATABASE_ADMIN_URL or DATABASE_URL, REDIS_URL (else in-process), SMTP_URL, DOVECOT_BIN;
the README's Environment table lists the services' variables.
`;

/**
 * What the arguments ask for: `help`, or `run` (with `reset`), or the `error` to print (exit 2).
 * start.mjs asks before building anything, so `pnpm dev --bogus` builds nothing either.
 */
export function readArgs(args) {
  if (args.includes('--help') || args.includes('-h')) return { help: true };
  const unknown = args.filter((a) => a !== '--reset');
  if (unknown.length > 0) return { error: `unknown option ${unknown.join(' ')} (see --help)\n` };
  return { reset: args.includes('--reset') };
}
