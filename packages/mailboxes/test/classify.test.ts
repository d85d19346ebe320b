import { describe, expect, it } from 'vitest';
import {
  classifyInbound,
  deliveryStatusInText,
  isDeliveryReport,
  parseDeliveryStatus,
  returnedMessageId,
} from '../src/index.js';

const DELIVERY_STATUS = `Reporting-MTA: dns; mx.example.net
Arrival-Date: Fri, 4 Dec 2026 10:00:00 +0000

Original-Recipient: rfc822; Gone@Prospect.test
Final-Recipient: rfc822;gone@prospect.test
Action: failed
Status: 5.1.1 (bad destination mailbox address)
Diagnostic-Code: smtp; 550 5.1.1 <gone@prospect.test>:
  user unknown

Final-Recipient: rfc822; slow@prospect.test
Action: delayed
Status: 4.4.7
`;

describe('DSN (RFC 3464) and auto-reply (RFC 3834) classification', () => {
  it('parses per-recipient groups with folded fields; the failed recipient comes from the report', () => {
    const report = parseDeliveryStatus(DELIVERY_STATUS);
    expect(report.reportingMta).toBe('mx.example.net');
    expect(report.recipients).toEqual([
      {
        address: 'gone@prospect.test',
        finalRecipient: 'gone@prospect.test',
        action: 'failed',
        status: '5.1.1',
        diagnostic: 'smtp; 550 5.1.1 <gone@prospect.test>: user unknown',
      },
      {
        address: 'slow@prospect.test',
        finalRecipient: 'slow@prospect.test',
        action: 'delayed',
        status: '4.4.7',
      },
    ]);
    const verdict = classifyInbound({ headers: {}, deliveryStatus: DELIVERY_STATUS });
    expect(verdict.kind).toBe('bounce');
    expect(verdict.kind === 'bounce' && verdict.recipients.map((r) => r.address)).toEqual([
      'gone@prospect.test',
    ]);
  });

  it('a delayed or 4.x.x report is automatic, not a bounce', () => {
    const delayed = DELIVERY_STATUS.split('\n\n')
      .filter((b) => !b.includes('failed'))
      .join('\n\n');
    expect(classifyInbound({ headers: {}, deliveryStatus: delayed }).kind).toBe('auto_reply');
    expect(
      classifyInbound({
        headers: {},
        deliveryStatus:
          'Reporting-MTA: dns; x\n\nFinal-Recipient: rfc822; a@b.test\nAction: failed\nStatus: 4.2.2\n',
      }).kind,
    ).toBe('auto_reply');
  });

  it.each([
    [{ 'Auto-Submitted': 'auto-replied' }],
    [{ 'auto-submitted': 'auto-generated' }],
    [{ 'X-Autoreply': 'yes' }],
    [{ 'X-Autorespond': 'Out of office' }],
    [{ Precedence: 'auto_reply' }],
    [{ 'X-Precedence': 'bulk' }],
    [{ 'List-Id': '<news.example.org>' }],
    [{ 'Return-Path': '<>' }],
    [{ Subject: 'Automatic reply: Quick question' }],
  ])('automatic mail: %o', (headers) => {
    expect(classifyInbound({ headers }).kind).toBe('auto_reply');
  });

  it('a human reply stays a reply (Auto-Submitted: no, X-Auto-Response-Suppress is only a request)', () => {
    const headers = new Map([
      ['auto-submitted', 'no'],
      ['x-auto-response-suppress', 'All'],
      ['subject', 'Re: Quick question about out of office tools'],
    ]);
    expect(classifyInbound({ headers })).toEqual({ kind: 'reply' });
  });

  it('reads the returned Message-ID of a DSN', () => {
    expect(returnedMessageId('From: s@acme.test\r\nMessage-ID:\r\n <m1@acme.test>\r\nSubject: hi\r\n')).toBe(
      '<m1@acme.test>',
    );
  });

  it('finds delivery-status fields flattened into a text, every recipient block, for the same parser', () => {
    const text = `Sorry, we could not deliver your message.\n\n${DELIVERY_STATUS}`;
    expect(parseDeliveryStatus(deliveryStatusInText(text)!)).toEqual(parseDeliveryStatus(DELIVERY_STATUS));
    // Starting at a recipient's fields: they stay a recipient block, not the per-message one.
    const recipientsOnly =
      'Final-Recipient: rfc822; a@x.test\nAction: delayed\nStatus: 4.4.1\n\nFinal-Recipient: rfc822; b@x.test\nAction: failed\nStatus: 5.1.1\n';
    const report = parseDeliveryStatus(deliveryStatusInText(recipientsOnly)!);
    expect(report.recipients.map((r) => [r.address, r.action])).toEqual([
      ['a@x.test', 'delayed'],
      ['b@x.test', 'failed'],
    ]);
    expect(classifyInbound({ headers: {}, report })).toMatchObject({
      kind: 'bounce',
      recipients: [{ address: 'b@x.test', status: '5.1.1' }],
    });
    expect(deliveryStatusInText('Thanks, see you Monday.')).toBeUndefined();
  });

  it.each([
    ['multipart/report; report-type=delivery-status; boundary="b"', true],
    ['Multipart/Report; boundary="b"; report-type="delivery-status"', true],
    ['multipart/report; report-type=global-delivery-status', true],
    ['multipart/report; report-type=disposition-notification', false],
    ['multipart/mixed; report-type=delivery-status', false],
    ['text/plain', false],
    [undefined, false],
  ])('isDeliveryReport(%j) → %j (RFC 3464, RFC 6533)', (contentType, expected) => {
    expect(isDeliveryReport(contentType)).toBe(expected);
  });

  it("reads a report's text only when the message is one (RFC 6533 too) or a mail system's", () => {
    const text = 'Final-Recipient: utf-8; ümit@x.test\nAction: failed\nStatus: 5.1.1\n';
    expect(
      classifyInbound({
        headers: {},
        contentType: 'multipart/report; report-type=global-delivery-status',
        text,
      }),
    ).toMatchObject({ kind: 'bounce', recipients: [{ address: 'ümit@x.test' }] });
    // A person quoting a bounce: a reply.
    const person = { from: 'Amy <amy@prospect.test>', subject: 'Re: Hi', contentType: 'text/plain', text };
    expect(classifyInbound({ headers: {}, ...person })).toEqual({ kind: 'reply' });
    // The same text from a mail system that flattened its report: a bounce.
    for (const system of [
      { from: 'MAILER-DAEMON@mx.test' },
      { from: 'Postmaster <postmaster@mx.test>' },
      { subject: 'Delivery Status Notification (Failure)' },
      { from: '' },
    ])
      expect(classifyInbound({ headers: {}, ...person, ...system })).toMatchObject({ kind: 'bounce' });
    expect(classifyInbound({ headers: { 'return-path': '<>' }, ...person })).toMatchObject({
      kind: 'bounce',
    });
  });
});
