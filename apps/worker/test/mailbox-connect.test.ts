import { dnsServersResolve, OAuthTokenCache } from '@prospectflow/mailboxes';
import { startTestDns, type TestDns } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailboxAccount } from '../src/mailboxes/account.js';
import { imapOptions, type MailAccess, smtpOptions } from '../src/mailboxes/connect.js';

/**
 * The connection goes to the address the SSRF guard checked, never to the name again (a second
 * lookup could answer with a private address: DNS rebinding); TLS still checks the name.
 */
describe('mailbox connections: the checked address, the name for TLS', () => {
  let dns: TestDns;
  let access: MailAccess;
  const account = (security: 'tls' | 'starttls' | 'none'): MailboxAccount => ({
    organisationId: '11111111-1111-4111-8111-111111111111',
    id: '22222222-2222-4222-8222-222222222222',
    provider: 'smtp_imap',
    fromName: 'Sales',
    fromAddress: 'sales@acme.test',
    status: 'active',
    verificationStatus: 'verified',
    credentialsVersion: 1,
    smtp: { host: 'mail.acme.test', port: 587, security, user: 'sales@acme.test' },
    imap: { host: 'mail.acme.test', port: 993, security, user: 'sales@acme.test' },
    secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
  });

  beforeAll(async () => {
    dns = await startTestDns();
    access = {
      guard: { allow: [], resolve: dnsServersResolve([dns.server]) },
      tokens: new OAuthTokenCache({ clients: {} }),
    };
  });
  afterAll(async () => dns?.close());

  it('connects to the resolved public address and presents the host name for TLS', async () => {
    dns.setAddresses('mail.acme.test', ['93.184.215.14']);
    const smtp = await smtpOptions(account('starttls'), access);
    expect(smtp).toMatchObject({
      host: '93.184.215.14',
      requireTLS: true,
      tls: { servername: 'mail.acme.test' },
    });
    const imap = await imapOptions(account('tls'), access);
    expect(imap).toMatchObject({ host: '93.184.215.14', secure: true, servername: 'mail.acme.test' });
  });

  it('refuses when the name now resolves to a private address, and plain text to a public one', async () => {
    dns.setAddresses('mail.acme.test', ['10.0.0.7']);
    await expect(smtpOptions(account('starttls'), access)).rejects.toMatchObject({
      reason: 'private_address',
    });
    dns.setAddresses('mail.acme.test', ['93.184.215.14']);
    await expect(imapOptions(account('none'), access)).rejects.toMatchObject({ reason: 'plaintext_refused' });
  });
});
