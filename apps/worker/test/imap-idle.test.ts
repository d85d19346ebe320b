import { setMailPassword, testMail } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundMessage } from '../src/mailboxes/inbox.js';
import { MailboxPoller } from '../src/mailboxes/poller.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { connectMailbox, testImapClient, testMailServices } from './support/mailboxes.js';
import { silent, waitUntil } from './support/worker.js';

/** IMAP IDLE as the poller's wake-up, against the real Dovecot (which advertises IDLE). */
describe('IMAP IDLE: new mail triggers a poll of its mailbox (real Dovecot)', () => {
  const mail = testMail();
  let t: TestDb;
  let pool: pg.Pool;
  let org: string;
  const ids: string[] = [];
  const addresses = ['idle-a@sender.test', 'idle-b@sender.test'];
  const seen: InboundMessage[] = [];
  let poller: MailboxPoller;

  const append = async (address: string, messageId: string) => {
    const c = await testImapClient(address);
    await c.append(
      'INBOX',
      [
        `From: p@prospect.test`,
        `To: ${address}`,
        'Subject: Re: Hi',
        `Message-ID: ${messageId}`,
        '',
        'Yes',
        '',
      ].join('\r\n'),
    );
    await c.logout();
  };

  beforeAll(async () => {
    t = await openTestDb('imapidle');
    pool = new pg.Pool({ connectionString: t.workerUrl, max: 6 });
    org = await createOrg(t.admin, 'imap-idle-org');
    for (const address of addresses) {
      setMailPassword(mail, address, 'pw');
      ids.push(
        await connectMailbox(t.admin, org, {
          address,
          secrets: { imapPassword: 'pw', smtpPassword: 'pw' },
          verified: true,
        }),
      );
    }
    poller = new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      // Rounds an hour apart: within the test only IDLE can bring a message in.
      intervalMs: 3_600_000,
      idleConnections: 1,
      apply: async (_c, _m, message) => {
        seen.push(message);
      },
    });
  });
  afterAll(async () => {
    await poller?.stop();
    await pool?.end();
    await t?.close();
  });

  it('keeps at most the configured IDLE connections, and new mail there is read at once', async () => {
    // One round, finished before the message arrives: the only reader after it is the IDLE wake-up.
    expect(await poller.pollAll()).toHaveLength(2);
    await waitUntil(() => poller.idle.idling.length === 1, 'one mailbox in IDLE', 20_000);
    expect(poller.idle.watching).toHaveLength(1);
    const [watched] = poller.idle.idling;
    const address = addresses[ids.indexOf(watched!)]!;
    await append(address, '<idle-1@prospect.test>');
    await waitUntil(
      () => seen.some((m) => m.messageId === '<idle-1@prospect.test>'),
      'the IDLE wake-up poll',
      20_000,
    );
    // The sink runs inside the batch's transaction: the checkpoint shows once it committed.
    const lastUid = async () =>
      (
        await t.admin.query(`SELECT last_uid::int FROM outreach.mailbox_sync_states WHERE mailbox_id = $1`, [
          watched,
        ])
      ).rows[0]?.last_uid;
    await waitUntil(async () => (await lastUid()) === 1, 'the checkpoint after the message', 10_000);
  });

  it('closes a watch when its credentials change, and every watch on stop', async () => {
    const [watched] = poller.idle.watching;
    await t.admin.query(
      `UPDATE outreach.mailboxes SET credentials_version = credentials_version + 1 WHERE id = $1`,
      [watched],
    );
    await poller.pollAll();
    await waitUntil(() => !poller.idle.watching.includes(watched!), 'the old watch closed', 10_000);
    // The next round watches again (the bound still 1), with the new credentials.
    await poller.pollAll();
    await waitUntil(() => poller.idle.idling.length === 1, 'a mailbox in IDLE again', 20_000);
    await poller.stop();
    expect(poller.idle).toEqual({ watching: [], idling: [] });
  });

  // After the stop above: no IDLE wake-up of the first poller competes for these messages.
  it('wake-up polls share the IMAP_POLL_CONCURRENCY bound with the rounds', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let applying = 0;
    const bounded = new MailboxPoller({
      pool,
      mail: testMailServices(),
      log: silent,
      intervalMs: 3_600_000,
      concurrency: 1,
      apply: async () => {
        applying += 1;
        await gate;
      },
    });
    for (const [i, address] of addresses.entries()) await append(address, `<bound-${i}@prospect.test>`);
    const polls = ids.map((id) => bounded.pollNow(org, id));
    await waitUntil(() => applying === 1, 'the first poll applying its message', 10_000);
    // The first poll holds the only slot: the other mailbox's poll waits, it has not started.
    expect(bounded.polling).toEqual({ running: 1, queued: 1 });
    release();
    expect((await Promise.all(polls)).map((r) => r.read)).toEqual([1, 1]);
    expect(bounded.polling).toEqual({ running: 0, queued: 0 });
  });
});
