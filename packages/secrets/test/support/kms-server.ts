import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A KMS stand-in that speaks the real wire protocol (AWS JSON 1.1 over HTTP, X-Amz-Target
 * TrentService.*, SigV4-signed requests, base64 blobs, typed errors) for GenerateDataKey, Decrypt,
 * ReEncrypt and DescribeKey, so the provider is tested through the real SDK and a real socket. Like KMS, a
 * ciphertext blob names its key and only opens with the exact encryption context.
 */
export interface FakeKms {
  endpoint: string;
  /** ARN of each key created, by short name. */
  arn(name: string): string;
  createKey(name: string): string;
  /** Disables a key: every use of it fails with DisabledException, as in KMS. */
  disableKey(name: string): void;
  /** Every request seen: target and parsed body (to assert the request shapes). */
  requests: { target: string; body: Record<string, unknown>; authorization: string }[];
  close(): Promise<void>;
}

const REGION = 'eu-west-3';
const ACCOUNT = '111122223333';

export async function startFakeKms(): Promise<FakeKms> {
  const keys = new Map<string, Buffer>(); // arn → key material
  const aliases = new Map<string, string>(); // alias/name → arn
  const disabled = new Set<string>(); // arn
  const requests: FakeKms['requests'] = [];
  const arnOf = (name: string) => `arn:aws:kms:${REGION}:${ACCOUNT}:key/${name}`;
  const resolve = (id: unknown): string | undefined => {
    if (typeof id !== 'string') return undefined;
    if (keys.has(id)) return id;
    if (aliases.has(id)) return aliases.get(id);
    return keys.has(arnOf(id)) ? arnOf(id) : undefined;
  };
  const canonical = (context: unknown) =>
    Buffer.from(
      JSON.stringify(
        Object.entries((context ?? {}) as Record<string, string>).sort(([a], [b]) => a.localeCompare(b)),
      ),
    );
  // blob = arn length (2) | arn | iv (12) | tag (16) | ciphertext
  const encrypt = (arn: string, plaintext: Buffer, context: unknown) => {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', keys.get(arn)!, iv, { authTagLength: 16 });
    cipher.setAAD(canonical(context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const name = Buffer.from(arn);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(name.length);
    return Buffer.concat([length, name, iv, cipher.getAuthTag(), body]);
  };
  const decrypt = (blob: Buffer, context: unknown): { arn: string; plaintext: Buffer } => {
    const length = blob.readUInt16BE(0);
    const arn = blob.subarray(2, 2 + length).toString();
    const key = keys.get(arn);
    if (!key) throw Object.assign(new Error('invalid ciphertext'), { type: 'InvalidCiphertextException' });
    const rest = blob.subarray(2 + length);
    const decipher = createDecipheriv('aes-256-gcm', key, rest.subarray(0, 12), { authTagLength: 16 });
    decipher.setAAD(canonical(context));
    decipher.setAuthTag(rest.subarray(12, 28));
    try {
      return { arn, plaintext: Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]) };
    } catch {
      throw Object.assign(new Error(''), { type: 'InvalidCiphertextException' });
    }
  };
  const fail = (type: string, message: string) => Object.assign(new Error(message), { type });
  const usable = (arn: string) => {
    if (disabled.has(arn)) throw fail('DisabledException', `${arn} is disabled.`);
    return arn;
  };

  const operations: Record<string, (body: Record<string, unknown>) => Record<string, unknown>> = {
    DescribeKey(body) {
      const arn = resolve(body.KeyId);
      if (!arn) throw fail('NotFoundException', `Key '${String(body.KeyId)}' does not exist`);
      return {
        KeyMetadata: {
          Arn: arn,
          KeyId: arn.split('/').pop(),
          Enabled: !disabled.has(arn),
          KeyState: disabled.has(arn) ? 'Disabled' : 'Enabled',
        },
      };
    },
    GenerateDataKey(body) {
      const arn = resolve(body.KeyId);
      if (!arn) throw fail('NotFoundException', `Key '${String(body.KeyId)}' does not exist`);
      usable(arn);
      if (body.KeySpec !== 'AES_256') throw fail('ValidationException', 'KeySpec must be AES_256 here');
      const plaintext = randomBytes(32);
      return {
        KeyId: arn,
        Plaintext: plaintext.toString('base64'),
        CiphertextBlob: encrypt(arn, plaintext, body.EncryptionContext).toString('base64'),
      };
    },
    Decrypt(body) {
      const { arn, plaintext } = decrypt(
        Buffer.from(String(body.CiphertextBlob), 'base64'),
        body.EncryptionContext,
      );
      usable(arn);
      if (body.KeyId !== undefined && resolve(body.KeyId) !== arn)
        throw fail(
          'IncorrectKeyException',
          'The key ID in the request does not identify the key that encrypted it',
        );
      return {
        KeyId: arn,
        Plaintext: plaintext.toString('base64'),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
    ReEncrypt(body) {
      const source = decrypt(
        Buffer.from(String(body.CiphertextBlob), 'base64'),
        body.SourceEncryptionContext,
      );
      usable(source.arn);
      if (body.SourceKeyId !== undefined && resolve(body.SourceKeyId) !== source.arn)
        throw fail(
          'IncorrectKeyException',
          'The source key ID in the request does not identify the key that encrypted it',
        );
      const destination = resolve(body.DestinationKeyId);
      if (!destination)
        throw fail('NotFoundException', `Key '${String(body.DestinationKeyId)}' does not exist`);
      usable(destination);
      return {
        SourceKeyId: source.arn,
        KeyId: destination,
        CiphertextBlob: encrypt(destination, source.plaintext, body.DestinationEncryptionContext).toString(
          'base64',
        ),
      };
    },
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(payload));
      };
      const target = String(req.headers['x-amz-target'] ?? '');
      const authorization = String(req.headers.authorization ?? '');
      if (
        req.method !== 'POST' ||
        req.headers['content-type'] !== 'application/x-amz-json-1.1' ||
        !target.startsWith('TrentService.')
      ) {
        return reply(400, { __type: 'UnknownOperationException' });
      }
      // SigV4 shape: the SDK signs every call for this region and service.
      if (
        !/^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/kms\/aws4_request, SignedHeaders=.+, Signature=[0-9a-f]{64}$/.test(
          authorization,
        )
      ) {
        return reply(400, {
          __type: 'IncompleteSignatureException',
          message: 'missing or malformed SigV4 signature',
        });
      }
      const operation = target.slice('TrentService.'.length);
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      } catch {
        return reply(400, { __type: 'SerializationException' });
      }
      requests.push({ target, body, authorization });
      const handler = operations[operation];
      if (!handler) return reply(400, { __type: 'UnknownOperationException' });
      try {
        reply(200, handler(body));
      } catch (error) {
        const e = error as Error & { type?: string };
        reply(400, { __type: e.type ?? 'KMSInternalException', message: e.message });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const createKey = (name: string) => {
    const arn = arnOf(name);
    keys.set(arn, randomBytes(32));
    aliases.set(`alias/${name}`, arn);
    return arn;
  };
  return {
    endpoint: `http://127.0.0.1:${port}`,
    arn: arnOf,
    createKey,
    disableKey: (name) => disabled.add(arnOf(name)),
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
