import { readFileSync, statSync } from 'node:fs';
import type { KeyProvider } from './key-provider.js';
import { KmsKeyProvider } from './providers/kms.js';
import { LOCAL_KEY_ID, LocalKeyProvider, type LocalKeyRing } from './providers/local.js';

/** The environment variables read by keyProviderFromEnv (documented in the package README). */
export const SECRETS_ENV = [
  'SECRETS_PROVIDER',
  'SECRETS_LOCAL_KEYS',
  'SECRETS_ACTIVE_KEY',
  'SECRETS_KEY_FILE',
  'SECRETS_KMS_KEY_ID',
  'SECRETS_KMS_ENDPOINT',
  'AWS_REGION',
] as const;

/**
 * id → 32-byte key, refusing what would silently drop or misplace a key (a repeated id keeps only
 * one of them). Messages name ids that passed the check and never echo what was given as a key.
 */
function keyRing(source: string, entries: [id: unknown, base64: unknown][]): Record<string, Buffer> {
  const keys = new Map<string, Buffer>();
  entries.forEach(([id, base64], index) => {
    if (typeof id !== 'string' || !LOCAL_KEY_ID.test(id))
      throw new Error(`${source}: key ${index + 1} has an invalid id (expected [A-Za-z0-9._-]{1,64})`);
    if (keys.has(id)) throw new Error(`${source}: key id "${id}" is listed twice`);
    const key = typeof base64 === 'string' ? Buffer.from(base64.trim(), 'base64') : undefined;
    if (key?.length !== 32)
      throw new Error(`${source}: key "${id}" must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
    keys.set(id, key);
  });
  if (keys.size === 0) throw new Error(`${source} lists no key`);
  return Object.fromEntries(keys);
}

/** "k1:<base64>,k2:<base64>" → key ring; the active key is SECRETS_ACTIVE_KEY or the last one listed. */
function ringFromList(list: string, active: string | undefined): LocalKeyRing {
  const entries = list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((entry): [string, string] => {
      const at = entry.indexOf(':');
      if (at <= 0) throw new Error('SECRETS_LOCAL_KEYS must look like "id:<base64 32 bytes>,id2:<base64>"');
      return [entry.slice(0, at), entry.slice(at + 1)];
    });
  const keys = keyRing('SECRETS_LOCAL_KEYS', entries);
  return { active: active || entries.at(-1)![0], keys };
}

/** A JSON file {"active": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}} (mode 0600 advised). */
function ringFromFile(file: string, active: string | undefined): LocalKeyRing {
  const source = `SECRETS_KEY_FILE ${file}`;
  // Refused like ssh refuses an open private key: anyone on the host could read every secret.
  const mode = statSync(file, { throwIfNoEntry: false })?.mode;
  if (mode !== undefined && (mode & 0o077) !== 0)
    throw new Error(
      `${source} is readable by other users (mode ${(mode & 0o777).toString(8)}); chmod 600 it`,
    );
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    // Not the parser's message: it quotes the file's first characters, i.e. part of a key.
    const reason = (error as NodeJS.ErrnoException).code ?? 'not valid JSON';
    throw new Error(`${source} is not readable JSON (${reason})`);
  }
  const { active: fileActive, keys } = (parsed ?? {}) as { active?: unknown; keys?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys))
    throw new Error(`${source} needs {"keys": {"<id>": "<base64 32 bytes>", …}}`);
  const entries = Object.entries(keys);
  return {
    active: active || (typeof fileActive === 'string' ? fileActive : '') || (entries.at(-1)?.[0] ?? ''),
    keys: keyRing(source, entries),
  };
}

/**
 * The KeyProvider the environment configures, or undefined when none is (features that store
 * secrets then refuse to run). SECRETS_PROVIDER=kms needs SECRETS_KMS_KEY_ID (and AWS_REGION or
 * the SDK's default region); local (the default) needs SECRETS_LOCAL_KEYS or SECRETS_KEY_FILE.
 */
export function keyProviderFromEnv(env: NodeJS.ProcessEnv = process.env): KeyProvider | undefined {
  const kind = env.SECRETS_PROVIDER || 'local';
  if (kind === 'kms') {
    if (!env.SECRETS_KMS_KEY_ID)
      throw new Error('SECRETS_PROVIDER=kms needs SECRETS_KMS_KEY_ID (key id, ARN or alias)');
    return new KmsKeyProvider({
      keyId: env.SECRETS_KMS_KEY_ID,
      client: {
        ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}),
        ...(env.SECRETS_KMS_ENDPOINT ? { endpoint: env.SECRETS_KMS_ENDPOINT } : {}),
      },
    });
  }
  if (kind !== 'local') throw new Error(`SECRETS_PROVIDER must be "local" or "kms" (got "${kind}")`);
  if (env.SECRETS_KEY_FILE)
    return new LocalKeyProvider(ringFromFile(env.SECRETS_KEY_FILE, env.SECRETS_ACTIVE_KEY));
  if (env.SECRETS_LOCAL_KEYS)
    return new LocalKeyProvider(ringFromList(env.SECRETS_LOCAL_KEYS, env.SECRETS_ACTIVE_KEY));
  return undefined;
}
