import { createHmac } from 'node:crypto';

/**
 * Keyed hashes of data subjects' email addresses (HMAC-SHA256), for the suppression list and the
 * erasure ledger: they let us recognise an address again without keeping it. A plain SHA-256 of
 * an address can be reversed by hashing guesses; the key lives outside the database
 * (PRIVACY_HMAC_KEYS), so a copy of the database alone reveals nothing.
 */
export interface SubjectKey {
  version: number;
  key: Buffer;
}

export interface SubjectKeys {
  /** New hashes are written with this one (the highest version). */
  current: SubjectKey;
  /** Every version still used for look-ups, current included (rotation keeps old ones). */
  all: SubjectKey[];
}

/** Normalised form hashed: trimmed, NFC, lower case (over-matching is fine for an opt-out list). */
export function normaliseSubjectEmail(email: string): string {
  return email.trim().normalize('NFC').toLowerCase();
}

export function subjectHmac(email: string, key: SubjectKey): Buffer {
  return createHmac('sha256', key.key).update(normaliseSubjectEmail(email), 'utf8').digest();
}

/** The hash of `email` under every key version, for look-ups (`key_version`, `email_hmac`). */
export function subjectHmacs(email: string, keys: SubjectKeys): { version: number; hmac: Buffer }[] {
  return keys.all.map((key) => ({ version: key.version, hmac: subjectHmac(email, key) }));
}

// A fixed, public key for development and tests only; refused when NODE_ENV=production.
const DEV_KEYS = '1:cHJvc3BlY3RmbG93LWRldi1vbmx5LXByaXZhY3kta2V5LTMyYg==';

/**
 * Parses `PRIVACY_HMAC_KEYS`: comma-separated `version:base64key` pairs, each key ≥ 32 bytes,
 * e.g. `1:…,2:…` (2 writes, both are looked up). Missing: the dev key, except in production.
 */
export function loadSubjectKeys(env: NodeJS.ProcessEnv = process.env): SubjectKeys {
  const raw = env.PRIVACY_HMAC_KEYS?.trim() || (env.NODE_ENV === 'production' ? '' : DEV_KEYS);
  if (!raw) {
    throw new Error(
      'PRIVACY_HMAC_KEYS is required in production: "1:<base64 of ≥ 32 random bytes>" (openssl rand -base64 32)',
    );
  }
  const all = raw.split(',').map((pair, index) => {
    const match = /^\s*(\d{1,4})\s*:\s*([A-Za-z0-9+/=_-]+)\s*$/.exec(pair);
    if (!match) throw new Error(`PRIVACY_HMAC_KEYS entry ${index + 1} is not "version:base64key"`);
    const key = Buffer.from(match[2]!, 'base64');
    const version = Number(match[1]);
    if (version < 1) throw new Error(`PRIVACY_HMAC_KEYS entry ${index + 1}: version must be ≥ 1`);
    if (key.length < 32) throw new Error(`PRIVACY_HMAC_KEYS version ${version}: key must be ≥ 32 bytes`);
    return { version, key };
  });
  // Production never hashes with the key published above (whoever read the repository could
  // recompute every suppression and erasure hash), even when it is set explicitly.
  const published = Buffer.from(DEV_KEYS.slice(DEV_KEYS.indexOf(':') + 1), 'base64');
  const reused = all.find((entry) => entry.key.equals(published));
  if (env.NODE_ENV?.trim() === 'production' && reused)
    throw new Error(
      `PRIVACY_HMAC_KEYS version ${reused.version} is the published development key: set a key of your own (openssl rand -base64 32)`,
    );
  if (new Set(all.map((k) => k.version)).size !== all.length)
    throw new Error('PRIVACY_HMAC_KEYS lists a version twice');
  const current = all.reduce((a, b) => (b.version > a.version ? b : a));
  return { current, all };
}
