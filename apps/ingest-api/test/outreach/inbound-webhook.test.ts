import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signInbound } from '../../src/routes/v1/inbound/index.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { sentFirstStep } from '../helpers/fixtures.js';

// POST /v1/inbound judges a request in this order: the server's configuration (503), the caller's
// signature over the exact bytes (401), and only then the body (400 invalid_json, 400
// validation_failed) — an unsigned caller learns nothing of the body's rules. The body is taken as
// sent: a wrong type is refused, not coerced into a stored reply; unknown fields are ignored.

const SECRET = 'inbound-webhook-secret';
const now = () => String(Math.floor(Date.now() / 1000));

/** A POST /v1/inbound of exactly `raw`, signed with `secret` at `timestamp` unless headers are given. */
function post(
  raw: string,
  options: { secret?: string; timestamp?: string; headers?: Record<string, string>; type?: string } = {},
) {
  const timestamp = options.timestamp ?? now();
  return {
    method: 'POST' as const,
    url: '/v1/inbound',
    payload: raw,
    headers: {
      'content-type': options.type ?? 'application/json',
      ...(options.headers ?? {
        'x-prospectflow-timestamp': timestamp,
        'x-prospectflow-signature': signInbound(options.secret ?? SECRET, timestamp, raw),
      }),
    },
  };
}

function expectProblem(res: LightMyRequestResponse, status: number, code: string) {
  expect({ status: res.statusCode, code: res.json().code }).toEqual({ status, code });
  expect(res.headers['content-type']).toContain('application/problem+json');
}

describe('inbound webhook: authentication before the body', () => {
  let t: TestApp;
  let user: TestUser;
  let org: string;
  let enrollment: string;
  let header: string;

  beforeAll(async () => {
    t = await buildTestApp({ label: 'inbound_webhook', env: { INBOUND_WEBHOOK_SECRET: SECRET } });
    user = await t.signUp('owner@inbound-webhook.test');
    org = user.organisationId;
    // One enrollment whose first step went out (its Message-ID known), the next step queued.
    header = '<step1@webhook.test>';
    ({ enrollment } = await sentFirstStep(t, user, {
      address: 'sales@webhook.test',
      email: 'lead@prospect.test',
      header,
      steps: [
        { delayDays: 0, subject: 'Hi', body: 'x' },
        { delayDays: 2, subject: 'Again', body: 'y' },
      ],
    }));
  });
  afterAll(async () => {
    await t?.close();
  });

  const enrollmentStatus = async () =>
    (await t.admin.query('SELECT status FROM outreach.campaign_enrollments WHERE id = $1', [enrollment]))
      .rows[0].status;
  const inboundCount = async () =>
    (
      await t.admin.query(
        `SELECT count(*)::int AS n FROM outreach.messages WHERE organisation_id = $1 AND direction = 'inbound'`,
        [org],
      )
    ).rows[0].n;

  it('an unsigned or wrongly signed request is 401 whatever its body: no schema errors, no JSON error', async () => {
    const valid = JSON.stringify({ inReplyTo: header, from: 'lead@prospect.test', text: 'Yes' });
    const breaking = JSON.stringify({ from: ['a', 'b'] });
    const cases = [
      post(valid, { headers: {} }),
      post(breaking, { headers: {} }),
      post('{not json', { headers: {} }),
      post(breaking, { secret: 'wrong-secret' }),
      post('{not json', { secret: 'wrong-secret' }),
      post(valid, { headers: { 'x-prospectflow-timestamp': now() } }),
      post(valid, { headers: { 'x-prospectflow-signature': signInbound(SECRET, now(), valid) } }),
      post(valid, {
        headers: {
          'x-prospectflow-timestamp': 'soon',
          'x-prospectflow-signature': signInbound(SECRET, 'soon', valid),
        },
      }),
      post(valid, {
        headers: { 'x-prospectflow-timestamp': now(), 'x-prospectflow-signature': 'sha256=abc' },
      }),
      post(valid, {
        headers: { 'x-prospectflow-timestamp': now(), 'x-prospectflow-signature': `md5=${'0'.repeat(64)}` },
      }),
      // Signed for other bytes.
      { ...post(valid), payload: JSON.stringify({ inReplyTo: header, from: 'x@y.test', text: 'Yes' }) },
      post(valid, { type: 'text/plain', secret: 'wrong-secret' }),
    ];
    for (const request of cases) {
      const res = await t.app.inject(request);
      expectProblem(res, 401, 'invalid_signature');
      expect(res.json().errors).toBeUndefined();
      expect(res.body).not.toContain('/from');
    }
    // A stale timestamp, correctly signed: 401 before the body is judged.
    const old = String(Math.floor(Date.now() / 1000) - 3600);
    expectProblem(await t.app.inject(post(breaking, { timestamp: old })), 401, 'stale_signature');
    // The one refusal before the signature: a body too large to read (and so to check).
    expectProblem(
      await t.app.inject(post(JSON.stringify({ text: 'x'.repeat(1_100_000) }), { headers: {} })),
      413,
      'body_too_large',
    );
    expect(await inboundCount()).toBe(0);
    expect(await enrollmentStatus()).toBe('active');
  });

  it('once signed, the body is judged: invalid JSON 400 invalid_json, another media type 415, the schema 400', async () => {
    expectProblem(await t.app.inject(post('{not json')), 400, 'invalid_json');
    expectProblem(await t.app.inject(post('')), 400, 'invalid_json');
    expectProblem(
      await t.app.inject(post(JSON.stringify({ text: 'x' }), { type: 'text/plain' })),
      415,
      'unsupported_media_type',
    );
    const res = await t.app.inject(post(JSON.stringify({ from: ['a', 'b'] })));
    expectProblem(res, 400, 'validation_failed');
    expect(res.json().errors.map((e: { path: string }) => e.path)).toContain('/from');
  });

  it('a wrong type is refused, naming each field, not coerced into a stored reply', async () => {
    const coerced = await t.app.inject(
      post(JSON.stringify({ inReplyTo: header, from: 'lead@prospect.test', subject: 42, text: true })),
    );
    expectProblem(coerced, 400, 'validation_failed');
    expect(
      coerced
        .json()
        .errors.map((e: { path: string }) => e.path)
        .sort(),
    ).toEqual(['/subject', '/text']);

    const others = await t.app.inject(
      post(JSON.stringify({ inReplyTo: header, from: 123, references: '<x@y>', headers: { a: 1 } })),
    );
    expectProblem(others, 400, 'validation_failed');
    expect(new Set(others.json().errors.map((e: { path: string }) => e.path))).toEqual(
      new Set(['/from', '/references', '/headers/a']),
    );
    expect(await inboundCount()).toBe(0);
    expect(await enrollmentStatus()).toBe('active');
  });

  it('a signature in upper-case hex and a provider’s extra fields are accepted: the reply is applied', async () => {
    const raw = JSON.stringify({
      messageId: '<answer@prospect.test>',
      inReplyTo: header,
      from: 'lead@prospect.test',
      subject: 'Re: Hi',
      text: 'Yes, call me',
      // Fields of the provider's own: ignored, not refused.
      provider: { name: 'acme-mail', eventId: 7 },
      attachments: [],
    });
    const timestamp = now();
    const signature = signInbound(SECRET, timestamp, raw).replace(
      /^sha256=(.*)$/,
      (_, hex) => `sha256=${hex.toUpperCase()}`,
    );
    const res = await t.app.inject(
      post(raw, {
        headers: { 'x-prospectflow-timestamp': timestamp, 'x-prospectflow-signature': signature },
      }),
    );
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ matched: true, kind: 'reply', enrollmentId: enrollment });
    expect(await enrollmentStatus()).toBe('replied');
    const stored = await t.admin.query(
      `SELECT subject, body_text FROM outreach.messages WHERE message_id_header = '<answer@prospect.test>'`,
    );
    expect(stored.rows).toEqual([{ subject: 'Re: Hi', body_text: 'Yes, call me' }]);
  });
});

describe('inbound webhook without INBOUND_WEBHOOK_SECRET', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ label: 'inbound_unconfigured', env: { INBOUND_WEBHOOK_SECRET: '' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers 503 inbound_not_configured before looking at the headers or the body', async () => {
    expect(t.app.config.inboundWebhookSecret).toBeFalsy();
    for (const request of [
      post(JSON.stringify({ text: 'x' }), { headers: {} }),
      post(JSON.stringify({ from: ['a', 'b'] }), { headers: {} }),
      post('{not json', { headers: {} }),
      post(JSON.stringify({ text: 'x' })),
    ]) {
      expectProblem(await t.app.inject(request), 503, 'inbound_not_configured');
    }
  });
});
