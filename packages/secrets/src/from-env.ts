import { readFileSync } from 'node:fs';
import type { KeyProvider } from './key-provider.js';
import { KmsKeyProvider } from './providers/kms.js';
import { LocalKeyProvider, type LocalKeyRing } from './providers/local.js';

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

function decodeKey(id: string, base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== 32)
    throw new Error(`secrets key "${id}" must be 32 bytes, base64-encoded (openssl rand -base64 32)`);
  return key;
}

/** "k1:<base64>,k2:<base64>" → key ring; the active key is SECRETS_ACTIVE_KEY or the last one listed. */
function ringFromList(list: string, active: string | undefined): LocalKeyRing {
  const keys: Record<string, Buffer> = {};
  let last = '';
  for (const entry of list
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const at = entry.indexOf(':');
    if (at <= 0) throw new Error('SECRETS_LOCAL_KEYS must look like "id:<base64 32 bytes>,id2:<base64>"');
    last = entry.slice(0, at);
    keys[last] = decodeKey(last, entry.slice(at + 1));
  }
  if (!last) throw new Error('SECRETS_LOCAL_KEYS lists no key');
  return { active: active || last, keys };
}

/** A JSON file {"active": "k2", "keys": {"k1": "<base64>", "k2": "<base64>"}} (mode 0600 advised). */
function ringFromFile(file: string, active: string | undefined): LocalKeyRing {
  let parsed: { active?: string; keys?: Record<string, string> };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`SECRETS_KEY_FILE ${file} is not readable JSON: ${(error as Error).message}`);
  }
  const entries = Object.entries(parsed.keys ?? {});
  if (entries.length === 0) throw new Error(`SECRETS_KEY_FILE ${file} has no "keys"`);
  return {
    active: active || parsed.active || entries.at(-1)![0],
    keys: Object.fromEntries(entries.map(([id, value]) => [id, decodeKey(id, value)])),
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
