import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsServersResolve, guardHost, guardServer, HostRefusedError, parseAllowList } from '../src/index.js';

describe('SSRF host guard', () => {
  let dns: TestDns;
  let resolve: (host: string) => Promise<string[]>;
  beforeAll(async () => {
    dns = await startTestDns();
    resolve = dnsServersResolve([dns.server]);
    dns.setAddresses('imap.public.test', ['93.184.215.14']);
    dns.setAddresses('smtp.internal.test', ['10.0.0.5']);
    dns.setAddresses('mixed.test', ['93.184.215.14', '192.168.1.1']);
    dns.setAddresses('metadata.test', ['169.254.169.254']);
    dns.setAddresses('v6-local.test', ['fd00:ec2::254']);
  });
  afterAll(async () => dns?.close());

  it('returns the public address a name resolves to', async () => {
    expect(await guardHost('imap.public.test', { resolve })).toBe('93.184.215.14');
    expect(await guardHost('93.184.215.14')).toBe('93.184.215.14');
  });

  it.each([
    ['127.0.0.1'],
    ['localhost'],
    ['::1'],
    ['[::1]'],
    ['0.0.0.0'],
    ['10.1.2.3'],
    ['172.16.0.1'],
    ['192.168.0.10'],
    ['100.64.0.1'],
    ['169.254.169.254'],
    ['::ffff:127.0.0.1'],
    ['::ffff:a9fe:a9fe'],
    ['fe80::1'],
    ['fc00::1'],
    // IPv6 site-local (RFC 3879 deprecated it; networks that still configure it route it internally).
    ['fec0::1'],
    ['feff::1'],
    // IPv6 forms that carry an IPv4 address: IPv4-compatible, IPv4-translated (SIIT), NAT64 and its
    // local-use prefix (169.254.169.254 translated), 6to4, Teredo.
    ['::127.0.0.1'],
    ['::7f00:1'],
    ['::ffff:0:a9fe:a9fe'],
    ['::ffff:0:169.254.169.254'],
    ['64:ff9b::a9fe:a9fe'],
    ['64:ff9b:1::a9fe:a9fe'],
    ['[64:ff9b:1::a9fe:a9fe]'],
    // Benchmarking and documentation ranges (RFC 5180, RFC 9637).
    ['2001:2::1'],
    ['3fff::1'],
    ['2002:7f00:1::1'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2'],
    ['smtp.internal.test'],
    ['metadata.test'],
    ['v6-local.test'],
    ['mixed.test'],
  ])('refuses %s (loopback, private, link-local, metadata or reserved)', async (host) => {
    const error = await guardHost(host, { resolve: host.endsWith('.test') ? resolve : undefined }).catch(
      (e) => e,
    );
    expect(error).toBeInstanceOf(HostRefusedError);
    expect(error.reason).toBe('private_address');
  });

  it('refuses names that do not resolve and malformed hosts', async () => {
    await expect(guardHost('nowhere.test', { resolve })).rejects.toMatchObject({ reason: 'not_resolvable' });
    await expect(guardHost('bad host/x', { resolve })).rejects.toMatchObject({ reason: 'invalid_host' });
  });

  it('lets an operator allow-list name hosts or addresses', async () => {
    const allow = parseAllowList(' 127.0.0.1 , smtp.internal.test ');
    expect(allow).toEqual(['127.0.0.1', 'smtp.internal.test']);
    expect(await guardHost('127.0.0.1', { allow })).toBe('127.0.0.1');
    expect(await guardHost('smtp.internal.test', { allow, resolve })).toBe('10.0.0.5');
    await expect(guardHost('metadata.test', { allow, resolve })).rejects.toThrow(/MAIL_HOST_ALLOWLIST/);
  });

  it('refuses a server without TLS unless the allow-list names it (credentials would travel in clear)', async () => {
    const refused = await guardServer({ host: 'imap.public.test', security: 'none' }, { resolve }).catch(
      (e) => e,
    );
    expect(refused).toBeInstanceOf(HostRefusedError);
    expect(refused.reason).toBe('plaintext_refused');
    expect(await guardServer({ host: 'imap.public.test', security: 'starttls' }, { resolve })).toBe(
      '93.184.215.14',
    );
    expect(
      await guardServer(
        { host: 'imap.public.test', security: 'none' },
        { resolve, allow: ['imap.public.test'] },
      ),
    ).toBe('93.184.215.14');
    expect(await guardServer({ host: '127.0.0.1', security: 'none' }, { allow: ['127.0.0.1'] })).toBe(
      '127.0.0.1',
    );
  });
});
