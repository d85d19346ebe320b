#!/usr/bin/env node
/**
 * `pnpm token --email ada@example.com [--sub …] [--type id|access] [--groups a,b] [--expires 1h]`
 * Prints a dev token (AUTH_MODE=dev) signed by the key under AUTH_DEV_KEY_DIR (<repo>/.data/dev-auth).
 */
import { parseArgs } from 'node:util';
import { AuthConfigError, loadAuthConfig } from './config.js';
import { DevIssuer } from './dev/dev-issuer.js';

const USAGE =
  'usage: pnpm token --email <email> [--sub <uuid>] [--type id|access] [--groups a,b] [--expires 3600|15m|1h|1d]';

const HELP = `${USAGE} [--given-name <name>] [--family-name <name>]

Prints a dev token (AUTH_MODE=dev) for the API, signed by the local key under AUTH_DEV_KEY_DIR
(default <repo>/.data/dev-auth, created on first use). Refused when NODE_ENV=production.
  --type      id (carries the email, default access)   --expires  lifetime, at most 1d (default 3600)
  --groups    Cognito groups, comma-separated          --sub      fixed subject (default derived from the email)
(pnpm answers \`pnpm token --help\` itself with npm's token help: use \`pnpm run token --help\`.)`;

/** "3600", "90s", "15m", "1h", "1d" → seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  if (!match) throw new Error(`--expires: "${value}" is not a duration (e.g. 3600, 15m, 1h, 1d)`);
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  if (seconds <= 0 || seconds > 86_400)
    throw new Error('--expires must be between 1 second and 1 day (Cognito limits)');
  return seconds;
}

export function runTokenCli(argv: string[], env: Record<string, string | undefined> = process.env): string {
  const { values } = parseArgs({
    // `pnpm token -- --help`: pnpm passes its `--` through; it separates nothing here.
    args: argv[0] === '--' ? argv.slice(1) : argv,
    options: {
      email: { type: 'string' },
      sub: { type: 'string' },
      type: { type: 'string', default: 'access' },
      groups: { type: 'string' },
      expires: { type: 'string', default: '3600' },
      'given-name': { type: 'string' },
      'family-name': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return HELP;
  if (!values.email) throw new Error(USAGE);
  if (values.type !== 'id' && values.type !== 'access')
    throw new Error(`--type must be id or access\n${USAGE}`);
  const config = loadAuthConfig({ ...env, AUTH_MODE: 'dev' });
  const issuer = DevIssuer.fromConfig(config, env);
  return issuer.mint({
    email: values.email,
    ...(values.sub ? { sub: values.sub } : {}),
    type: values.type,
    groups: values.groups
      ? values.groups
          .split(',')
          .map((group) => group.trim())
          .filter(Boolean)
      : [],
    expiresInSeconds: parseDuration(values.expires ?? '3600'),
    ...(values['given-name'] ? { givenName: values['given-name'] } : {}),
    ...(values['family-name'] ? { familyName: values['family-name'] } : {}),
  });
}

const invokedDirectly = process.argv[1] !== undefined && /token-cli\.(?:ts|js|cjs)$/.test(process.argv[1]);
if (invokedDirectly) {
  try {
    process.stdout.write(`${runTokenCli(process.argv.slice(2))}\n`);
  } catch (error) {
    process.stderr.write(
      `${error instanceof AuthConfigError || error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
