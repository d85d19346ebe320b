import { describe, expect, it } from 'vitest';
import { dkimSecretBinding, isOAuth, mailboxSecretBinding, SECRET_PURPOSE } from '../src/index.js';

describe('secret bindings', () => {
  // Stored secrets were sealed with these exact values: changing one makes every stored secret unreadable.
  it('binds a secret to its organisation, record and purpose', () => {
    expect(mailboxSecretBinding('org-1', 'mbx-1')).toEqual({
      organisationId: 'org-1',
      recordId: 'mbx-1',
      purpose: 'mailbox-credentials',
    });
    expect(dkimSecretBinding('org-1', 'dom-1')).toEqual({
      organisationId: 'org-1',
      recordId: 'dom-1',
      purpose: 'dkim-private-key',
    });
    expect(new Set(Object.values(SECRET_PURPOSE)).size).toBe(Object.keys(SECRET_PURPOSE).length);
  });

  it('only google and microsoft mailboxes authenticate with OAuth', () => {
    expect(
      (['relay', 'smtp_imap', 'google', 'microsoft'] as const).filter((provider) => isOAuth(provider)),
    ).toEqual(['google', 'microsoft']);
  });
});
