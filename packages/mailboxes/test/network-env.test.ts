import { EnvObject, loadEnv } from '@prospectflow/config';
import { describe, expect, it } from 'vitest';
import { mailNetworkEnv, mailNetworkFromEnv } from '../src/index.js';

describe('mail network settings', () => {
  it('declares MAIL_HOST_ALLOWLIST and DNS_SERVERS and parses them into lists', () => {
    const Env = EnvObject({ ...mailNetworkEnv() });
    const values = loadEnv(Env, {
      MAIL_HOST_ALLOWLIST: ' LocalHost, 127.0.0.1 ,',
      DNS_SERVERS: '127.0.0.1:5353',
    });
    expect(mailNetworkFromEnv(values)).toEqual({
      hostAllowList: ['localhost', '127.0.0.1'],
      dnsServers: ['127.0.0.1:5353'],
    });
    expect(mailNetworkFromEnv(loadEnv(Env, {}))).toEqual({ hostAllowList: [], dnsServers: [] });
  });
});
