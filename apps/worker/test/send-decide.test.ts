import { describe, expect, it } from 'vitest';
import { type Decision, decide, type SendFacts } from '../src/outreach/send/decide.js';

// Tuesday 3 March 2026. Paris is UTC+1: the 09:00–17:00 window is 08:00–16:00 UTC.
const INSIDE = new Date('2026-03-03T09:00:00Z');
const PARIS = { timeZone: 'Europe/Paris', start: '09:00', end: '17:00', days: [1, 2, 3, 4, 5] };
const OPTIONS = { pausedMailboxSnoozeMs: 600_000 };

/** Everything passes: a send. Each row below changes one or two facts. */
const GOOD: SendFacts = {
  enrollment: 'active',
  step: { exitOnReply: true },
  existing: null,
  replied: false,
  campaign: 'active',
  hasMailbox: true,
  mailbox: { status: 'active', verified: true, window: PARIS, minGapSeconds: 0 },
  hasEmail: true,
  suppression: null,
};
const mailbox = (m: Partial<NonNullable<SendFacts['mailbox']>>) => ({ mailbox: { ...GOOD.mailbox!, ...m } });
const usage = (sentToday: number, dailyLimit: number, lastSentAt: string | null = null) => ({
  usage: { sentToday, dailyLimit, lastSentAt: lastSentAt ? new Date(lastSentAt) : null },
});

type Row = [name: string, facts: Partial<SendFacts>, now: Date, expected: Decision];
const snooze = (until: string, reason: string, cause: string) =>
  ({ kind: 'snooze', until: new Date(until), reason, cause }) as Decision;

const TABLE: Row[] = [
  ['everything passes', {}, INSIDE, { kind: 'send' }],
  ['an earlier reservation is sent again', { existing: 'queued' }, INSIDE, { kind: 'resend' }],
  ['enrollment gone', { enrollment: null }, INSIDE, { kind: 'skip', note: 'enrollment no longer exists' }],
  ['step gone', { step: null }, INSIDE, { kind: 'skip', note: 'step no longer exists' }],
  ['message already sent', { existing: 'sent' }, INSIDE, { kind: 'skip', note: 'message already sent' }],
  // exit on reply
  [
    'reply seen: the enrollment stops as replied',
    { replied: true },
    INSIDE,
    { kind: 'skip', note: 'enrollment replied: not sent', stop: { reason: 'reply' } },
  ],
  [
    'reply seen with a reserved message: that message fails',
    { replied: true, existing: 'queued' },
    INSIDE,
    {
      kind: 'skip',
      note: 'enrollment replied: not sent',
      stop: { reason: 'reply' },
      failExisting: 'not sent: enrollment stopped',
    },
  ],
  [
    'replied enrollment, step that exits on reply',
    { enrollment: 'replied' },
    INSIDE,
    { kind: 'skip', note: 'enrollment replied: not sent' },
  ],
  [
    'replied enrollment, step that does not exit on reply',
    { enrollment: 'replied', step: { exitOnReply: false } },
    INSIDE,
    { kind: 'send' },
  ],
  [
    'reply seen, step that does not exit on reply',
    { replied: true, step: { exitOnReply: false } },
    INSIDE,
    { kind: 'send' },
  ],
  [
    'enrollment paused',
    { enrollment: 'paused' },
    INSIDE,
    { kind: 'skip', note: 'enrollment paused: not sent' },
  ],
  [
    'enrollment unsubscribed',
    { enrollment: 'unsubscribed' },
    INSIDE,
    { kind: 'skip', note: 'enrollment unsubscribed: not sent' },
  ],
  // campaign and mailbox
  ['campaign paused', { campaign: 'paused' }, INSIDE, { kind: 'skip', note: 'campaign paused: not sent' }],
  [
    'campaign without mailbox',
    { hasMailbox: false },
    INSIDE,
    { kind: 'fail', reason: 'campaign has no mailbox', pauseEnrollment: false },
  ],
  [
    'mailbox not found',
    { mailbox: null },
    INSIDE,
    { kind: 'fail', reason: 'mailbox not found', pauseEnrollment: false },
  ],
  [
    'mailbox paused',
    mailbox({ status: 'paused' }),
    INSIDE,
    snooze('2026-03-03T09:10:00Z', 'mailbox paused', 'mailbox'),
  ],
  [
    'mailbox not verified (credentials changed): not even a resend leaves',
    { ...mailbox({ verified: false }), existing: 'queued' },
    INSIDE,
    snooze('2026-03-03T09:10:00Z', 'mailbox not verified', 'mailbox'),
  ],
  // send window
  [
    'before the window',
    {},
    new Date('2026-03-03T06:00:00Z'),
    snooze('2026-03-03T08:00:00Z', 'outside the sending window', 'window'),
  ],
  [
    'after the window: next morning',
    {},
    new Date('2026-03-03T16:30:00Z'),
    snooze('2026-03-04T08:00:00Z', 'outside the sending window', 'window'),
  ],
  [
    'Saturday: Monday morning',
    {},
    new Date('2026-03-07T10:00:00Z'),
    snooze('2026-03-09T08:00:00Z', 'outside the sending window', 'window'),
  ],
  [
    'no email address: the enrollment pauses',
    { hasEmail: false },
    INSIDE,
    { kind: 'fail', reason: 'the position has no email address', pauseEnrollment: true },
  ],
  // suppression
  [
    'unsubscribed address',
    { suppression: 'unsubscribed' },
    INSIDE,
    {
      kind: 'skip',
      note: 'suppressed (unsubscribed): not sent',
      stop: { reason: 'suppressed', suppressedAs: 'unsubscribed' },
    },
  ],
  [
    'hard-bounced address: the enrollment is bounced, its reserved message fails',
    { suppression: 'hard_bounce', existing: 'queued' },
    INSIDE,
    {
      kind: 'skip',
      note: 'suppressed (hard_bounce): not sent',
      stop: { reason: 'suppressed', suppressedAs: 'hard_bounce' },
      failExisting: 'not sent: suppressed',
    },
  ],
  [
    'erased or objecting person',
    { suppression: 'erased_or_objected' },
    INSIDE,
    {
      kind: 'skip',
      note: 'suppressed (erased_or_objected): not sent',
      stop: { reason: 'suppressed', suppressedAs: 'erased_or_objected' },
    },
  ],
  [
    'suppressed but outside the window: the window answers first',
    { suppression: 'unsubscribed' },
    new Date('2026-03-03T06:00:00Z'),
    snooze('2026-03-03T08:00:00Z', 'outside the sending window', 'window'),
  ],
  // daily caps (usage is known once the reservation counted it)
  ['under the cap', usage(4, 5), INSIDE, { kind: 'send' }],
  [
    'cap reached: next day window',
    usage(5, 5),
    INSIDE,
    snooze('2026-03-04T08:00:00Z', 'daily cap of 5 reached', 'cap'),
  ],
  [
    'cap reached on Friday: Monday',
    usage(5, 5),
    new Date('2026-03-06T10:00:00Z'),
    snooze('2026-03-09T08:00:00Z', 'daily cap of 5 reached', 'cap'),
  ],
  // minimum gap
  [
    'gap kept',
    { ...mailbox({ minGapSeconds: 600 }), ...usage(1, 5, '2026-03-03T08:45:00Z') },
    INSIDE,
    { kind: 'send' },
  ],
  [
    'gap not kept: waits for it',
    { ...mailbox({ minGapSeconds: 600 }), ...usage(1, 5, '2026-03-03T08:55:00Z') },
    INSIDE,
    snooze('2026-03-03T09:05:00Z', 'minimum gap between sends', 'gap'),
  ],
  [
    'gap ends after the window closes: next opening',
    { ...mailbox({ minGapSeconds: 600 }), ...usage(1, 5, '2026-03-03T15:55:00Z') },
    new Date('2026-03-03T15:59:00Z'),
    snooze('2026-03-04T08:00:00Z', 'minimum gap between sends', 'gap'),
  ],
  ['no gap configured', usage(1, 5, '2026-03-03T08:59:59Z'), INSIDE, { kind: 'send' }],
  // A resend is held like a send, on usage without its own reservation (prepare.ts reads it).
  [
    'a resend under the cap, past the gap of the other messages',
    { existing: 'queued', ...mailbox({ minGapSeconds: 600 }), ...usage(4, 5, '2026-03-03T08:45:00Z') },
    INSIDE,
    { kind: 'resend' },
  ],
  [
    'a resend within the gap after another message went out: waits for it',
    { existing: 'queued', ...mailbox({ minGapSeconds: 600 }), ...usage(1, 5, '2026-03-03T08:59:50Z') },
    INSIDE,
    snooze('2026-03-03T09:09:50Z', 'minimum gap between sends', 'gap'),
  ],
  [
    'a resend from an earlier day, the cap reached by the other messages of today: next day',
    { existing: 'queued', ...usage(5, 5) },
    INSIDE,
    snooze('2026-03-04T08:00:00Z', 'daily cap of 5 reached', 'cap'),
  ],
];

describe('decide(state, now): whether a message is sent now', () => {
  it.each(TABLE)('%s', (_name, facts, now, expected) => {
    expect(decide({ ...GOOD, ...facts }, now, OPTIONS)).toEqual(expected);
  });
});
