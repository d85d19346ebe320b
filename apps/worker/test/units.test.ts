import { describe, expect, it } from 'vitest';
import { classifySmtpError } from '../src/outreach/mailer.js';
import { followUpAt, nextWindowStart } from '../src/outreach/schedule.js';
import { pickVariant } from '../src/outreach/variant.js';
import { backoffDelayMs } from '../src/queue/backoff.js';
import { KeyedBatcher } from '../src/queue/batcher.js';

const PARIS = { timeZone: 'Europe/Paris', start: '09:00', end: '17:00', days: [1, 2, 3, 4, 5] };

describe('sending windows', () => {
  it('keeps an instant inside the window and moves others to the next opening', () => {
    expect(nextWindowStart(new Date('2026-03-03T10:00:00Z'), PARIS).toISOString()).toBe(
      '2026-03-03T10:00:00.000Z',
    );
    expect(nextWindowStart(new Date('2026-03-03T16:30:00Z'), PARIS).toISOString()).toBe(
      '2026-03-04T08:00:00.000Z',
    );
    expect(nextWindowStart(new Date('2026-03-06T17:00:00Z'), PARIS).toISOString()).toBe(
      '2026-03-09T08:00:00.000Z',
    );
  });
  it('opens at 09:00 local on both sides of the European DST change (29 March 2026)', () => {
    expect(nextWindowStart(new Date('2026-03-27T17:00:00Z'), PARIS).toISOString()).toBe(
      '2026-03-30T07:00:00.000Z',
    );
    expect(followUpAt(new Date('2026-03-27T08:00:00Z'), 3, PARIS).toISOString()).toBe(
      '2026-03-30T07:00:00.000Z',
    );
  });
});

describe('A/B assignment', () => {
  const variants = [
    { id: 'a', label: 'A', weight: 3 },
    { id: 'b', label: 'B', weight: 1 },
  ];
  it('is stable for an enrollment and follows the weights over many', () => {
    const ids = Array.from(
      { length: 4000 },
      (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    );
    const first = ids.map((id) => pickVariant('seed', 'exp', id, variants).id);
    expect(ids.map((id) => pickVariant('seed', 'exp', id, [...variants].reverse()).id)).toEqual(first);
    const share = first.filter((v) => v === 'a').length / ids.length;
    expect(share).toBeGreaterThan(0.72);
    expect(share).toBeLessThan(0.78);
  });
});

describe('retries and SMTP errors', () => {
  it('backs off exponentially with full jitter under a cap', () => {
    const options = { baseMs: 1000, capMs: 10_000 };
    expect(backoffDelayMs(1, options, () => 0.999)).toBe(999);
    expect(backoffDelayMs(3, options, () => 0.999)).toBe(3996);
    expect(backoffDelayMs(20, options, () => 0.999)).toBe(9990);
    expect(backoffDelayMs(5, options, () => 0)).toBe(0);
  });
  it('maps nodemailer errors to retry, bounce or mailbox pause', () => {
    expect(
      classifySmtpError({ code: 'EENVELOPE', responseCode: 550, response: '550 5.1.1 unknown' }).kind,
    ).toBe('bounce');
    expect(classifySmtpError({ code: 'EENVELOPE', responseCode: 451, response: '451 later' }).kind).toBe(
      'retry',
    );
    expect(classifySmtpError({ code: 'EAUTH', responseCode: 535 }).kind).toBe('auth');
    expect(classifySmtpError({ code: 'ECONNECTION', message: 'refused' }).kind).toBe('retry');
    expect(classifySmtpError({ code: 'ETIMEDOUT' }).kind).toBe('retry');
  });
});

describe('KeyedBatcher', () => {
  it('groups the calls of one organisation made meanwhile into one statement, never across organisations', async () => {
    const runs: string[] = [];
    const b = new KeyedBatcher<number, number>(async (org, items) => {
      runs.push(`${org}:${items.join(',')}`);
      return items.map((n) => n * 10);
    });
    const results = await Promise.all([b.call('a', 1), b.call('b', 2), b.call('a', 3), b.call('a', 4)]);
    expect(results).toEqual([10, 20, 30, 40]);
    expect(runs.sort()).toEqual(['a:1,3,4', 'b:2']);
  });

  it('retries a failed batch call by call, so only the bad call fails', async () => {
    const runs: number[][] = [];
    const b = new KeyedBatcher<number, number>(async (_org, items) => {
      runs.push(items);
      if (items.includes(2)) throw new Error('bad item 2');
      return items;
    });
    const results = await Promise.allSettled([b.call('a', 1), b.call('a', 2), b.call('a', 3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(runs).toEqual([[1, 2, 3], [1], [2], [3]]);
  });
});
