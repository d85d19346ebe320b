import { createPublicKey, createSign, createVerify } from 'node:crypto';
import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkDomainProof,
  generateDkimKey,
  newProofToken,
  normaliseDomain,
  proofRecord,
} from '../src/index.js';

describe('domain proof (DNS TXT) and DKIM keys', () => {
  let dns: TestDns;
  beforeAll(async () => {
    dns = await startTestDns();
  });
  afterAll(async () => dns?.close());

  it('proves a domain only with the exact TXT value at _prospectflow.<domain>', async () => {
    const token = newProofToken();
    expect(token).toMatch(/^[0-9a-f]{32}$/);
    const record = proofRecord('Acme.TEST.', token);
    expect(record).toEqual({
      name: '_prospectflow.acme.test',
      type: 'TXT',
      value: `prospectflow-verification=${token}`,
    });
    const servers = [dns.server];
    expect(await checkDomainProof('acme.test', token, { servers })).toMatchObject({ proved: false });
    dns.setTxt(record.name, ['v=spf1 -all', `prospectflow-verification=${token}x`]);
    expect(await checkDomainProof('acme.test', token, { servers })).toMatchObject({
      proved: false,
      found: ['v=spf1 -all', `prospectflow-verification=${token}x`],
    });
    dns.setTxt(record.name, ['v=spf1 -all', record.value]);
    expect(await checkDomainProof('acme.test', token, { servers })).toEqual({ proved: true });
  });

  it('tells a removed proof (absent) from a failed lookup', async () => {
    const token = newProofToken();
    const record = proofRecord('gone.test', token);
    const servers = [dns.server];
    // No such name (NXDOMAIN), then the name without TXT records, then other TXT values only.
    expect(await checkDomainProof('gone.test', token, { servers })).toMatchObject({
      proved: false,
      absent: true,
    });
    dns.setTxt(record.name, []);
    expect(await checkDomainProof('gone.test', token, { servers })).toMatchObject({
      proved: false,
      absent: true,
    });
    dns.setTxt(record.name, ['v=spf1 -all']);
    expect(await checkDomainProof('gone.test', token, { servers })).toMatchObject({
      proved: false,
      absent: true,
    });
    // A server that answers nothing: the lookup failed, nothing is known about the record.
    const silent = await startTestDns();
    const address = silent.server;
    await silent.close();
    expect(await checkDomainProof('gone.test', token, { servers: [address], timeoutMs: 200 })).toMatchObject({
      proved: false,
      absent: false,
    });
  });

  it('refuses names that are not domains', () => {
    expect(() => normaliseDomain('localhost')).toThrow(TypeError);
    expect(() => normaliseDomain('a..b.test')).toThrow(TypeError);
    expect(normaliseDomain(' Mail.Example.COM. ')).toBe('mail.example.com');
    // An internationalised top-level domain in its A-label form (.рф), not an unconverted U-label.
    expect(normaliseDomain('Example.XN--P1AI')).toBe('example.xn--p1ai');
    expect(() => normaliseDomain('bücher.de')).toThrow(TypeError);
    expect(() => normaliseDomain('example.xn--')).toThrow(TypeError);
  });

  it('makes a 2048-bit DKIM key whose DNS record verifies its signatures', () => {
    const key = generateDkimKey('acme.test', 's2026a');
    expect(key.recordName).toBe('s2026a._domainkey.acme.test');
    const p = key.recordValue.match(/^v=DKIM1; k=rsa; p=([A-Za-z0-9+/=]+)$/)![1]!;
    const publicKey = createPublicKey({ key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' });
    expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    const signature = createSign('sha256').update('x').sign(key.privateKeyPem);
    expect(createVerify('sha256').update('x').verify(publicKey, signature)).toBe(true);
  });
});
