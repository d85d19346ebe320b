import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DecryptionError,
  KeyUnavailableError,
  KmsKeyProvider,
  keyProviderFromEnv,
  LocalKeyProvider,
  type SecretBinding,
  SecretBox,
} from '../src/index.js';
import { type FakeKms, startFakeKms } from './support/kms-server.js';

const binding: SecretBinding = {
  organisationId: '11111111-1111-4111-8111-111111111111',
  recordId: '22222222-2222-4222-8222-222222222222',
  purpose: 'mailbox-credentials',
};
const secret = JSON.stringify({ smtpPassword: 'app-password-1', imapPassword: 'app-password-2' });
const key = () => randomBytes(32);

describe('local key provider', () => {
  const box = new SecretBox(new LocalKeyProvider({ active: 'k1', keys: { k1: key() } }));

  it('round-trips, and the ciphertext holds nothing readable', async () => {
    const sealed = await box.seal(secret, binding);
    expect(sealed.keyId).toBe('local:k1');
    expect(sealed.ciphertext.toString('latin1')).not.toContain('app-password');
    expect(sealed.wrappedKey).toHaveLength(1 + 12 + 16 + 32);
    expect((await box.open(sealed, binding)).toString()).toBe(secret);
    // A fresh data key and IV per seal.
    const again = await box.seal(secret, binding);
    expect(again.ciphertext.equals(sealed.ciphertext)).toBe(false);
    expect(again.wrappedKey.equals(sealed.wrappedKey)).toBe(false);
  });

  it.each([
    ['another organisation', { organisationId: '33333333-3333-4333-8333-333333333333' }],
    ['another record', { recordId: '44444444-4444-4444-8444-444444444444' }],
    ['another purpose', { purpose: 'dkim-private-key' }],
  ])('refuses to open a blob moved to %s', async (_label, change) => {
    const sealed = await box.seal(secret, binding);
    await expect(box.open(sealed, { ...binding, ...change })).rejects.toBeInstanceOf(DecryptionError);
  });

  it('refuses a flipped bit in the ciphertext or the wrapped key, and a truncated blob', async () => {
    const sealed = await box.seal(secret, binding);
    const flip = (b: Buffer, at: number) => {
      const copy = Buffer.from(b);
      copy[at] = copy[at]! ^ 1;
      return copy;
    };
    await expect(box.open({ ...sealed, ciphertext: flip(sealed.ciphertext, 40) }, binding)).rejects.toThrow(
      DecryptionError,
    );
    await expect(box.open({ ...sealed, wrappedKey: flip(sealed.wrappedKey, 20) }, binding)).rejects.toThrow(
      DecryptionError,
    );
    await expect(
      box.open({ ...sealed, ciphertext: sealed.ciphertext.subarray(0, 20) }, binding),
    ).rejects.toThrow(DecryptionError);
  });

  it('rotation re-wraps the data key under the new key and leaves the ciphertext as it was', async () => {
    const k1 = key();
    const old = new SecretBox(new LocalKeyProvider({ active: 'k1', keys: { k1 } }));
    const sealed = await old.seal(secret, binding);
    const rotated = new SecretBox(new LocalKeyProvider({ active: 'k2', keys: { k1, k2: key() } }));
    expect(await rotated.needsRewrap(sealed)).toBe(true);
    const moved = await rotated.rewrap(sealed, binding);
    expect(moved.keyId).toBe('local:k2');
    expect(moved.ciphertext.equals(sealed.ciphertext)).toBe(true);
    expect(await rotated.needsRewrap(moved)).toBe(false);
    expect((await rotated.open(moved, binding)).toString()).toBe(secret);
    // Once k1 is retired from the ring, only the re-wrapped form opens.
    const retired = new SecretBox(new LocalKeyProvider({ active: 'k2', keys: { k2: key() } }));
    const missing = await retired.open(sealed, binding).catch((e) => e);
    expect(missing).toBeInstanceOf(KeyUnavailableError);
    expect(missing.message).toMatch(/not in the local key ring/);
  });

  it('reads its keys from the environment or a file, and refuses bad keys', async () => {
    const a = key().toString('base64');
    const b = key().toString('base64');
    expect(keyProviderFromEnv({})).toBeUndefined();
    expect(await keyProviderFromEnv({ SECRETS_LOCAL_KEYS: `a:${a},b:${b}` })!.activeKeyId()).toBe('local:b');
    expect(
      await keyProviderFromEnv({
        SECRETS_LOCAL_KEYS: `a:${a},b:${b}`,
        SECRETS_ACTIVE_KEY: 'a',
      })!.activeKeyId(),
    ).toBe('local:a');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'pf-keys-')), 'keys.json');
    writeFileSync(file, JSON.stringify({ active: 'a', keys: { a, b } }), { mode: 0o600 });
    expect(await keyProviderFromEnv({ SECRETS_KEY_FILE: file })!.activeKeyId()).toBe('local:a');
    expect(() => keyProviderFromEnv({ SECRETS_LOCAL_KEYS: 'a:c2hvcnQ=' })).toThrow(/32 bytes/);
    expect(() => keyProviderFromEnv({ SECRETS_LOCAL_KEYS: `a:${a}`, SECRETS_ACTIVE_KEY: 'z' })).toThrow(
      /not in the key ring/,
    );
    expect(() => keyProviderFromEnv({ SECRETS_PROVIDER: 'vault' })).toThrow(/local" or "kms/);
  });

  it('refuses a key ring that would lose or misplace a key, and never echoes key material', () => {
    const a = key().toString('base64');
    const b = key().toString('base64');
    const refusal = (env: NodeJS.ProcessEnv) => {
      try {
        keyProviderFromEnv(env);
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('accepted');
    };
    // A repeated id would keep only one of the two keys: rows wrapped by the other would not open.
    expect(refusal({ SECRETS_LOCAL_KEYS: `k1:${a},k1:${b}` })).toMatch(/"k1" is listed twice/);
    // "<key>:<id>" (the wrong way round): the message must not quote the key.
    const reversed = refusal({ SECRETS_LOCAL_KEYS: `${a}:k1` });
    expect(reversed).toMatch(/key 1 has an invalid id/);
    expect(reversed).not.toContain(a.slice(0, 8));
    const dir = mkdtempSync(path.join(tmpdir(), 'pf-keys-'));
    const file = (name: string, content: string, mode = 0o600) => {
      const at = path.join(dir, name);
      writeFileSync(at, content);
      chmodSync(at, mode);
      return at;
    };
    // A raw key instead of JSON: the parser's message would quote its first characters.
    const raw = refusal({ SECRETS_KEY_FILE: file('raw', a) });
    expect(raw).toMatch(/is not readable JSON/);
    expect(raw).not.toContain(a.slice(0, 8));
    expect(refusal({ SECRETS_KEY_FILE: file('null', 'null') })).toMatch(/needs \{"keys"/);
    expect(refusal({ SECRETS_KEY_FILE: file('array', JSON.stringify({ keys: [a] })) })).toMatch(
      /needs \{"keys"/,
    );
    expect(refusal({ SECRETS_KEY_FILE: file('number', JSON.stringify({ keys: { k1: 123 } })) })).toMatch(
      /"k1" must be 32 bytes/,
    );
    expect(refusal({ SECRETS_KEY_FILE: file('open', JSON.stringify({ keys: { k1: a } }), 0o644) })).toMatch(
      /readable by other users \(mode 644\); chmod 600/,
    );
  });

  it('a stored key id naming an Object built-in is an unknown key, not a crash', async () => {
    const sealed = await box.seal(secret, binding);
    for (const keyId of ['local:constructor', 'local:__proto__', 'local:toString']) {
      await expect(box.open({ ...sealed, keyId }, binding)).rejects.toBeInstanceOf(KeyUnavailableError);
    }
    expect(() => keyProviderFromEnv({ SECRETS_PROVIDER: 'kms' })).toThrow(/SECRETS_KMS_KEY_ID/);
  });
});

describe('AWS KMS provider (real SDK, real HTTP, KMS JSON protocol)', () => {
  let kms: FakeKms;
  const client = () => ({
    endpoint: kms.endpoint,
    region: 'eu-west-3',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' },
  });

  beforeAll(async () => {
    kms = await startFakeKms();
    kms.createKey('first');
    kms.createKey('second');
  });
  afterAll(async () => kms?.close());

  it('sends GenerateDataKey and Decrypt with the binding as encryption context', async () => {
    const box = new SecretBox(new KmsKeyProvider({ keyId: 'alias/first', client: client() }));
    kms.requests.length = 0;
    const sealed = await box.seal(secret, binding);
    expect(sealed.keyId).toBe(kms.arn('first'));
    expect((await box.open(sealed, binding)).toString()).toBe(secret);
    const context = {
      organisation_id: binding.organisationId,
      record_id: binding.recordId,
      purpose: binding.purpose,
    };
    expect(kms.requests.map((r) => [r.target, r.body])).toEqual([
      [
        'TrentService.GenerateDataKey',
        { KeyId: 'alias/first', KeySpec: 'AES_256', EncryptionContext: context },
      ],
      [
        'TrentService.Decrypt',
        {
          CiphertextBlob: sealed.wrappedKey.toString('base64'),
          KeyId: kms.arn('first'),
          EncryptionContext: context,
        },
      ],
    ]);
    expect(kms.requests[0]!.authorization).toMatch(
      /Credential=AKIDEXAMPLE\/\d{8}\/eu-west-3\/kms\/aws4_request/,
    );
  });

  it('a blob moved to another organisation does not decrypt (KMS refuses the context)', async () => {
    const box = new SecretBox(new KmsKeyProvider({ keyId: 'alias/first', client: client() }));
    const sealed = await box.seal(secret, binding);
    await expect(
      box.open(sealed, { ...binding, organisationId: '33333333-3333-4333-8333-333333333333' }),
    ).rejects.toBeInstanceOf(DecryptionError);
  });

  it('rotation uses ReEncrypt to the new key; the ciphertext is untouched', async () => {
    const first = new SecretBox(new KmsKeyProvider({ keyId: 'alias/first', client: client() }));
    const sealed = await first.seal(secret, binding);
    const second = new SecretBox(new KmsKeyProvider({ keyId: 'alias/second', client: client() }));
    kms.requests.length = 0;
    const moved = await second.rewrap(sealed, binding);
    expect(kms.requests.map((r) => r.target)).toEqual(['TrentService.ReEncrypt']);
    expect(kms.requests[0]!.body).toMatchObject({
      SourceKeyId: kms.arn('first'),
      DestinationKeyId: 'alias/second',
      SourceEncryptionContext: { record_id: binding.recordId },
      DestinationEncryptionContext: { record_id: binding.recordId },
    });
    expect(moved.keyId).toBe(kms.arn('second'));
    expect(moved.ciphertext.equals(sealed.ciphertext)).toBe(true);
    expect((await second.open(moved, binding)).toString()).toBe(secret);
  });

  it('rotation converges: the active key is the ARN each secret stores, resolved once from an alias', async () => {
    const first = new SecretBox(new KmsKeyProvider({ keyId: 'alias/first', client: client() }));
    const sealed = await first.seal(secret, binding);
    kms.requests.length = 0;
    expect(await first.provider.activeKeyId()).toBe(kms.arn('first'));
    expect(await first.needsRewrap(sealed)).toBe(false);
    expect(kms.requests.map((r) => [r.target, r.body])).toEqual([
      ['TrentService.DescribeKey', { KeyId: 'alias/first' }],
    ]);
    const second = new SecretBox(new KmsKeyProvider({ keyId: 'alias/second', client: client() }));
    expect(await second.needsRewrap(sealed)).toBe(true);
    const moved = await second.rewrap(sealed, binding);
    expect(await second.needsRewrap(moved)).toBe(false);
    // A key given as its ARN needs no DescribeKey.
    kms.requests.length = 0;
    expect(await new KmsKeyProvider({ keyId: kms.arn('second'), client: client() }).activeKeyId()).toBe(
      kms.arn('second'),
    );
    expect(kms.requests).toEqual([]);
  });

  it('a blob given with another existing key id does not open (IncorrectKeyException), nor re-wraps', async () => {
    const box = new SecretBox(new KmsKeyProvider({ keyId: 'alias/first', client: client() }));
    const sealed = await box.seal(secret, binding);
    const moved = { ...sealed, keyId: kms.arn('second') };
    await expect(box.open(moved, binding)).rejects.toBeInstanceOf(DecryptionError);
    const second = new SecretBox(new KmsKeyProvider({ keyId: 'alias/second', client: client() }));
    await expect(second.rewrap(moved, binding)).rejects.toBeInstanceOf(DecryptionError);
  });

  it('a disabled or unknown key is KeyUnavailableError, not a wrong secret', async () => {
    kms.createKey('doomed');
    const box = new SecretBox(new KmsKeyProvider({ keyId: 'alias/doomed', client: client() }));
    const sealed = await box.seal(secret, binding);
    kms.disableKey('doomed');
    await expect(box.open(sealed, binding)).rejects.toBeInstanceOf(KeyUnavailableError);
    await expect(box.seal(secret, binding)).rejects.toBeInstanceOf(KeyUnavailableError);
    const unknown = new KmsKeyProvider({ keyId: 'alias/never-created', client: client() });
    await expect(unknown.activeKeyId()).rejects.toBeInstanceOf(KeyUnavailableError);
  });

  it('is configured from the environment', () => {
    const provider = keyProviderFromEnv({
      SECRETS_PROVIDER: 'kms',
      SECRETS_KMS_KEY_ID: 'alias/first',
      AWS_REGION: 'eu-west-3',
    });
    expect(provider).toBeInstanceOf(KmsKeyProvider);
    expect(provider!.kind).toBe('kms');
  });
});
