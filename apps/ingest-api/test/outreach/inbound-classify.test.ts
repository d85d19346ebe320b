import { describe, expect, it } from 'vitest';
import { classifyInbound, type InboundMail } from '../../src/outreach/inbound.js';

// The webhook classifies with @prospectflow/mailboxes' classifyInbound, like the worker's IMAP
// poller: one rule for what is a reply, an automatic message and a bounce, whichever door.
const REPORT = { 'Content-Type': 'multipart/report; report-type=delivery-status; boundary="b"' };

const CASES: [name: string, mail: InboundMail, kind: 'reply' | 'auto_reply' | 'bounce'][] = [
  ['a human answer', { subject: 'Re: Hello', text: 'Interested' }, 'reply'],
  [
    'DSN fields from the provider, permanent',
    { dsn: { action: 'failed', status: '5.1.1', recipient: 'a@b.test' } },
    'bounce',
  ],
  [
    'DSN inside the text of a report, permanent',
    { headers: REPORT, text: 'Reporting-MTA: dns; mx\n\nAction: failed\nStatus: 5.1.1\n' },
    'bounce',
  ],
  [
    'DSN inside the text of an internationalised report (RFC 6533), permanent',
    {
      headers: { 'content-type': 'multipart/report; report-type="global-delivery-status"' },
      text: 'Final-Recipient: utf-8; ü@b.test\nAction: failed\nStatus: 5.1.1\n',
    },
    'bounce',
  ],
  [
    "a mail system's flattened DSN (no report Content-Type): MAILER-DAEMON sender",
    {
      from: 'Mail Delivery System <MAILER-DAEMON@mx.test>',
      text: 'This is the mail system.\n\nFinal-Recipient: rfc822; b@b.test\nAction: failed\nStatus: 5.1.1\n',
    },
    'bounce',
  ],
  [
    "a mail system's flattened DSN: a bounce's subject, lone Action/Status (older providers)",
    {
      from: 'mx@provider.test',
      subject: 'Undelivered Mail Returned to Sender',
      text: 'Action: failed\nStatus: 5.1.1\n',
    },
    'bounce',
  ],
  ['a flattened DSN posted without any From', { text: 'Action: failed\nStatus: 5.1.1\n' }, 'bounce'],
  [
    "DSN fields quoted in the text of a person's mail: a reply (the poller reads only a report)",
    {
      from: 'Amy <amy@prospect.test>',
      subject: 'Re: Hi',
      text: 'See:\n\nFinal-Recipient: rfc822; b@b.test\nAction: failed\nStatus: 5.1.1\n',
    },
    'reply',
  ],
  [
    'DSN, temporary failure: automatic, not a bounce',
    { dsn: { action: 'delayed', status: '4.4.1' } },
    'auto_reply',
  ],
  ['Auto-Submitted', { headers: { 'Auto-Submitted': 'auto-replied' }, subject: 'Away' }, 'auto_reply'],
  ['Auto-Submitted: no is a person', { headers: { 'Auto-Submitted': 'no' }, subject: 'Re: Hi' }, 'reply'],
  ['out-of-office subject', { subject: 'Automatic reply: away until Monday' }, 'auto_reply'],
  ['mailing-list mail', { headers: { 'List-Id': '<news.example.test>' } }, 'auto_reply'],
  ['null return path', { headers: { 'Return-Path': '<>' } }, 'auto_reply'],
  ['a person writing about an out of office plan', { subject: 'Re: our out of office plan' }, 'reply'],
  [
    'DSN inside the text of a report, two recipients, the first delayed: every block is read (as the poller does)',
    {
      headers: REPORT,
      text: 'Final-Recipient: rfc822; other@elsewhere.test\nAction: delayed\nStatus: 4.4.1\n\nFinal-Recipient: rfc822; fwd@forward.test\nAction: failed\nStatus: 5.1.1',
    },
    'bounce',
  ],
  [
    'the delivery-status part given as such, permanent',
    {
      deliveryStatus:
        'Reporting-MTA: dns; mx\r\n\r\nFinal-Recipient: rfc822; a@b.test\r\nAction: failed\r\nStatus: 5.2.1\r\n',
    },
    'bounce',
  ],
  [
    'the delivery-status part, delayed only: automatic',
    {
      deliveryStatus:
        'Reporting-MTA: dns; mx\n\nFinal-Recipient: rfc822; a@b.test\nAction: delayed\nStatus: 4.4.7\n',
    },
    'auto_reply',
  ],
];

describe('inbound webhook classification', () => {
  it.each(CASES)('%s', (_name, mail, kind) => {
    expect(classifyInbound(mail)).toBe(kind);
  });
});
