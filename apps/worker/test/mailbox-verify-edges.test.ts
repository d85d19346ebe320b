import type { AddressInfo } from 'node:net';
import { setMailPassword, testMail } from '@prospectflow/testing';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import { outreachHandlers } from '../src/handlers.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { startLyingImap, startTarpitImap } from './support/lying-imap.js';
import { connectMailbox, queueVerification, testMailServices } from './support/mailboxes.js';
import { startSmtpSink } from './support/smtp.js';
import { PUBLIC_BASE_URL, type TestWorker, testWorker } from './support/worker.js';

describe('verification edges: a server that skips the login, a worker that shuts down', () => {
  let t: TestDb;
  const workers: TestWorker[] = [];

  beforeAll(async () => {
    t = await openTestDb('verify-shutdown');
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await t?.close();
  });

  function verifyingWorker(verifyTimeoutMs: number, socketTimeoutMs?: number) {
    const w = testWorker(t.workerUrl, 'smtp://127.0.0.1:1', new ManualClock(new Date()), {
      handlers: outreachHandlers({
        mailer: undefined as never,
        publicBaseUrl: PUBLIC_BASE_URL,
        variantSeed: 's',
        mail: testMailServices({ verifyTimeoutMs }, socketTimeoutMs),
      }),
    });
    workers.push(w);
    return w;
  }

  it('an SMTP server that offers no AUTH fails the SMTP step, even though it delivers the check message', async () => {
    const org = await createOrg(t.admin, 'verify-no-auth');
    const mail = testMail();
    setMailPassword(mail, 'open@sender.test', 'right');
    // An open relay in front of the real mailbox: any password "works" if the login is skipped.
    const deliver = nodemailer.createTransport({
      host: mail.host,
      port: mail.smtpPort,
      secure: false,
      ignoreTLS: true,
      auth: { user: 'open@sender.test', pass: 'right' },
    });
    const open = new SMTPServer({
      logger: false,
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (d: Buffer) => chunks.push(d));
        stream.on('end', () => {
          const to = session.envelope.rcptTo.map((r) => r.address);
          deliver.sendMail({ envelope: { from: 'open@sender.test', to }, raw: Buffer.concat(chunks) }).then(
            () => callback(),
            (error: Error) => callback(error),
          );
        });
      },
    });
    await new Promise<void>((r) => open.listen(0, '127.0.0.1', () => r()));
    try {
      const id = await connectMailbox(t.admin, org, {
        address: 'open@sender.test',
        secrets: { smtpPassword: 'WRONG-PASSWORD', imapPassword: 'right' },
        smtp: { port: (open.server.address() as AddressInfo).port },
      });
      await queueVerification(t.admin, org, id);
      await verifyingWorker(10_000).worker.drain();
      const { rows } = await t.admin.query(
        `SELECT verification_status, verification, last_error_code FROM outreach.mailboxes WHERE id = $1`,
        [id],
      );
      expect(rows[0].verification_status).toBe('failed');
      expect(rows[0].verification.smtp).toMatchObject({ ok: false, kind: 'auth' });
      expect(rows[0].last_error_code).toBe('smtp:auth');
    } finally {
      await new Promise<void>((r) => open.close(() => r()));
      deliver.close();
    }
  });

  it('an IMAP server that finds whatever it is searched for does not verify an address whose mail it never had', async () => {
    const org = await createOrg(t.admin, 'verify-lying-imap');
    // SMTP: an account that takes any From and delivers elsewhere (here, nowhere). IMAP: a server
    // answering every SEARCH with a hit — only the token in the header it returns proves delivery.
    const sink = await startSmtpSink({ auth: { user: 'ceo@any-bank.test', pass: 'pw' } });
    const imap = await startLyingImap();
    try {
      const id = await connectMailbox(t.admin, org, {
        address: 'ceo@any-bank.test',
        secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
        smtp: { port: sink.port },
        imap: { port: imap.port },
      });
      await queueVerification(t.admin, org, id);
      await verifyingWorker(1_500).worker.drain();
      const { rows } = await t.admin.query(
        `SELECT verification_status, verification, last_error_code FROM outreach.mailboxes WHERE id = $1`,
        [id],
      );
      expect(sink.mails).toHaveLength(1);
      expect(imap.commands.some((c) => /SEARCH HEADER X-PROSPECTFLOW-VERIFICATION/i.test(c))).toBe(true);
      expect(rows[0].verification_status).toBe('failed');
      expect(rows[0].verification.roundtrip).toMatchObject({ ok: false, kind: 'not_delivered' });
      expect(rows[0].last_error_code).toBe('roundtrip:not_delivered');
    } finally {
      await sink.close();
      await imap.close();
    }
  });

  it('an IMAP server that answers a byte at a time is cut off: the check ends as a timeout instead of holding a worker slot', async () => {
    const org = await createOrg(t.admin, 'verify-tarpit-imap');
    const sink = await startSmtpSink({ auth: { user: 'pit@sender.test', pass: 'pw' } });
    const imap = await startTarpitImap();
    try {
      const id = await connectMailbox(t.admin, org, {
        address: 'pit@sender.test',
        secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
        smtp: { port: sink.port },
        imap: { port: imap.port },
      });
      await queueVerification(t.admin, org, id);
      // Bound: the round trip's 1 s plus 3 × 0.5 s of connection timeouts.
      await verifyingWorker(1_000, 500).worker.drain();
      const { rows } = await t.admin.query(
        `SELECT verification_status, verification, last_error_code FROM outreach.mailboxes WHERE id = $1`,
        [id],
      );
      expect(rows[0].verification_status).toBe('failed');
      expect(rows[0].verification).toMatchObject({
        smtp: { ok: true },
        imap: { ok: true },
        roundtrip: { ok: false, kind: 'timeout', answer: expect.stringContaining('within 3 s') },
      });
      expect(rows[0].last_error_code).toBe('roundtrip:timeout');
    } finally {
      await sink.close();
      await imap.close();
    }
  });

  it('a check cut short by shutdown is handed back (pending, attempt refunded), not recorded as not_delivered', async () => {
    const org = await createOrg(t.admin, 'verify-shutdown');
    const mail = testMail();
    // SMTP accepts the check message and delivers it nowhere: the worker waits for it in the INBOX.
    const sink = await startSmtpSink({ auth: { user: 'waiting@sender.test', pass: 'pw' } });
    setMailPassword(mail, 'waiting@sender.test', 'pw');
    try {
      const id = await connectMailbox(t.admin, org, {
        address: 'waiting@sender.test',
        secrets: { smtpPassword: 'pw', imapPassword: 'pw' },
        smtp: { port: sink.port },
      });
      await queueVerification(t.admin, org, id);
      const w = verifyingWorker(60_000);
      // One claim (drain would claim the handed-back task again).
      const running = w.worker.runOnce().catch(() => 0);
      const deadline = Date.now() + 30_000;
      while (sink.mails.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(sink.mails).toHaveLength(1);
      // Shutdown with a short grace while the worker searches the INBOX for its message.
      await w.worker.stop(200);
      await running;
      const task = await t.admin.query(
        `SELECT status, attempts, locked_by FROM outreach.tasks WHERE payload->>'mailboxId' = $1`,
        [id],
      );
      expect(task.rows).toEqual([{ status: 'pending', attempts: 0, locked_by: null }]);
      const box = await t.admin.query(
        `SELECT verification_status, verification, last_error_code FROM outreach.mailboxes WHERE id = $1`,
        [id],
      );
      expect(box.rows[0].verification_status).not.toBe('failed');
      expect(box.rows[0].last_error_code).toBeNull();
      expect(JSON.stringify(box.rows[0].verification ?? {})).not.toContain('not_delivered');
    } finally {
      await sink.close();
    }
  }, 60_000);
});
