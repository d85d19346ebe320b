import { setMailPassword, testMail } from '@prospectflow/testing';
import nodemailer from 'nodemailer';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../src/mailboxes/inbox.js';
import { MailboxPoller } from '../src/mailboxes/poller.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, testImapClient, testMailServices } from './support/mailboxes.js';
import { silent, waitUntil } from './support/worker.js';

describe('IMAP poller: UID checkpoint, classification (real Dovecot)', () => {
  let t: TestDb;
  let pool: pg.Pool;
  let org: string;
  let mailboxId: string;
  const mail = testMail();
  const address = 'poller@sender.test';
  const seen: InboundMessage[] = [];
  const poller = () =>
    new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: async (_client, _mailbox, message) => {
        seen.push(message);
      },
    });
  const smtp = () =>
    nodemailer.createTransport({
      host: mail.host,
      port: mail.smtpPort,
      secure: false,
      auth: { user: address, pass: 'pw' },
    });
  const inboxCount = async () => {
    const c = await testImapClient(address);
    const status = await c.status('INBOX', { messages: true });
    await c.logout();
    return (status || undefined)?.messages ?? 0;
  };

  beforeAll(async () => {
    t = await openTestDb('poller');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 4 });
    org = await createOrg(t.admin, 'poller-org');
    setMailPassword(mail, address, 'pw');
    mailboxId = await connectMailbox(t.admin, org, {
      address,
      secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
      verified: true,
    });
  });
  afterAll(async () => {
    await pool?.end();
    await t?.close();
  });

  it('reads a reply, a DSN and an auto-reply once each, across restarts of the poller', async () => {
    // One message to three prospects: a human answer, a hard bounce (DSN) and an out-of-office come back.
    await smtp().sendMail({
      from: address,
      to: ['answer-ann@prospect.test', 'bounce-bob@prospect.test', 'ooo-cid@prospect.test'],
      subject: 'Quick question',
      text: 'Hello',
      messageId: '<out-1@sender.test>',
    });
    await waitUntil(async () => (await inboxCount()) === 3, 'the three reactions in the INBOX', 10_000);
    const first = await poller().pollAll();
    expect(first).toEqual([expect.objectContaining({ mailboxId, read: 3 })]);
    const byKind = Object.fromEntries(seen.map((m) => [m.classification.kind, m]));
    expect(Object.keys(byKind).sort()).toEqual(['auto_reply', 'bounce', 'reply']);
    expect(byKind.reply!.referencedIds).toContain('<out-1@sender.test>');
    expect(byKind.reply!.text).toContain('happy to talk');
    // The DSN names the failed recipient in its report (the text mentions another address on purpose)
    // and links to our message through the returned headers.
    const bounce = byKind.bounce!.classification;
    expect(bounce.kind === 'bounce' && bounce.recipients.map((r) => [r.address, r.status])).toEqual([
      ['bounce-bob@prospect.test', '5.1.1'],
    ]);
    expect(byKind.bounce!.referencedIds).toContain('<out-1@sender.test>');

    // A new poller (a restart) reads nothing already read; one new message is read once.
    expect((await poller().pollAll())[0]).toMatchObject({ read: 0 });
    await smtp().sendMail({ from: address, to: 'answer-dan@prospect.test', subject: 'Second', text: 'x' });
    await waitUntil(async () => (await inboxCount()) === 4, 'the fourth message', 10_000);
    expect((await poller().pollAll())[0]).toMatchObject({ read: 1 });
    expect(seen).toHaveLength(4);
    const state = await t.admin.query(
      `SELECT folder, last_uid, last_error FROM outreach.mailbox_sync_states WHERE mailbox_id = $1`,
      [mailboxId],
    );
    expect(state.rows).toEqual([{ folder: 'INBOX', last_uid: '4', last_error: null }]);
  });

  it('a failing apply leaves the checkpoint before that message, so it is read again', async () => {
    await smtp().sendMail({ from: address, to: 'answer-eve@prospect.test', subject: 'Third', text: 'x' });
    await waitUntil(async () => (await inboxCount()) === 5, 'the fifth message', 10_000);
    const failing = new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 60_000,
      apply: async () => {
        throw new Error('database hiccup');
      },
    });
    expect((await failing.pollAll())[0]).toMatchObject({ read: 0, error: 'error' });
    const before = seen.length;
    expect((await poller().pollAll())[0]).toMatchObject({ read: 1 });
    expect(seen.length).toBe(before + 1);
  });
});
