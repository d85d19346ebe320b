import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Mail accounts of the test mail service live in files, so any process (a test file's worker,
 * the global setup, `pnpm dev`) can add or change them while the servers run: Dovecot reads
 * `<dir>/users/<address>` (passwd-file, one per user) on every login, and the SMTP and OAuth
 * servers read the same files.
 */
export interface MailAccounts {
  /** Root directory of the running mail service. */
  dir: string;
}

const ADDRESS = /^[a-z0-9._+-]+@[a-z0-9.-]+$/;

function checked(address: string): string {
  const value = address.toLowerCase();
  if (!ADDRESS.test(value)) throw new Error(`test mail accounts need a plain address, got "${address}"`);
  return value;
}

function writeShared(file: string, content: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // Written then renamed: Dovecot never reads a half-written file.
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(temporary, content, { mode: 0o644 });
  fs.renameSync(temporary, file);
}

/** Creates the account or changes its password. */
export function setMailPassword(accounts: MailAccounts, address: string, password: string): void {
  if (/[:\n]/.test(password)) throw new Error('test mail passwords cannot contain ":" or a newline');
  const user = checked(address);
  writeShared(path.join(accounts.dir, 'users', user), `${user}:{PLAIN}${password}::::::\n`);
}

export function mailPassword(accounts: MailAccounts, address: string): string | undefined {
  try {
    const line = fs.readFileSync(path.join(accounts.dir, 'users', checked(address)), 'utf8');
    return line.split(':')[1]?.replace(/^\{PLAIN\}/, '');
  } catch {
    return undefined;
  }
}

/**
 * A refresh token the test OAuth server will exchange for access tokens of this address. A
 * `rotating` one is replaced at each use, as providers with refresh-token rotation do: the answer
 * carries a new refresh token and the old one stops working.
 */
export function issueRefreshToken(
  accounts: MailAccounts,
  address: string,
  options: { rotating?: boolean } = {},
): string {
  const token = `rt_${randomBytes(18).toString('hex')}`;
  writeShared(
    path.join(accounts.dir, 'oauth', token),
    `${checked(address)}${options.rotating ? '\nrotating' : ''}\n`,
  );
  return token;
}

export function revokeRefreshToken(accounts: MailAccounts, token: string): void {
  fs.rmSync(path.join(accounts.dir, 'oauth', path.basename(token)), { force: true });
}

/**
 * How the test OAuth server answers refreshes of an address's tokens until told otherwise: an HTTP
 * status with an OAuth error code (503 `temporarily_unavailable` or 429 `rate_limit_exceeded`, as
 * a provider in an outage does; 401 `invalid_client` for a client it stopped accepting), or
 * `reset`: the connection is dropped unanswered. A file, so the global setup's server sees it.
 */
export type TokenRefreshFailure = { status: number; error?: string } | 'reset';

/** `undefined`: refreshes work again. */
export function failTokenRefreshes(
  accounts: MailAccounts,
  address: string,
  failure: TokenRefreshFailure | undefined,
): void {
  const file = path.join(accounts.dir, 'oauth-failures', checked(address));
  if (failure === undefined) fs.rmSync(file, { force: true });
  else writeShared(file, JSON.stringify(failure));
}

export function tokenRefreshFailure(
  accounts: MailAccounts,
  address: string,
): TokenRefreshFailure | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(accounts.dir, 'oauth-failures', checked(address)), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whom a refresh token belongs to, and whether it is replaced at each use. */
export function refreshTokenGrant(
  accounts: MailAccounts,
  token: string,
): { owner: string; rotating: boolean } | undefined {
  if (!/^rt_[0-9a-f]+$/.test(token)) return undefined;
  try {
    const [owner, flag] = fs
      .readFileSync(path.join(accounts.dir, 'oauth', token), 'utf8')
      .trim()
      .split('\n');
    return owner ? { owner, rotating: flag === 'rotating' } : undefined;
  } catch {
    return undefined;
  }
}
