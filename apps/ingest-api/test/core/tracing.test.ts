import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR, startTracing, type Tracing } from '@prospectflow/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { markMailboxVerified } from '../helpers/fixtures.js';

// A gateway in front of the API started this trace: the API continues it and hands it to the tasks.
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const GATEWAY_SPAN_ID = '00f067aa0ba902b7';

const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  // Before the app exists: @fastify/otel instruments every Fastify instance created afterwards.
  tracing = startTracing({ serviceName: 'ingest-api', exporter });
  t = await buildTestApp({ label: 'tracing' });
  user = await t.signUp('owner@tracing.test');
});
afterAll(async () => {
  await t?.close();
  await tracing?.shutdown();
});

function ancestors(span: ReadableSpan, spans: ReadableSpan[]): ReadableSpan[] {
  const chain = [span];
  for (;;) {
    const parentId = chain.at(-1)!.parentSpanContext?.spanId;
    const parent = spans.find((s) => s.spanContext().spanId === parentId);
    if (!parent) return chain;
    chain.push(parent);
  }
}

describe('tracing: request → queued task', () => {
  it('continues an incoming trace, names the request span and stores the trace with the task', async () => {
    const org = user.organisationId;
    const call = (method: 'POST', url: string, payload: object, headers: Record<string, string> = {}) =>
      t.request(user, { method, url, payload, headers });

    const mailbox = await call('POST', '/v1/mailboxes', {
      fromName: 'Sales',
      fromAddress: 'sales@tracing.test',
      timeZone: 'Europe/Paris',
    });
    await markMailboxVerified(t.admin, mailbox.json().id);
    const campaign = await call('POST', '/v1/campaigns', {
      name: 'Traced',
      mailboxId: mailbox.json().id,
      steps: [{ delayDays: 0, subject: 'Hi {{person.first_name}}', body: 'Hello' }],
    });
    expect(campaign.statusCode).toBe(201);
    const company = await t.admin.query(
      `INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id`,
      [org],
    );
    const person = await t.admin.query(
      `INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'Ada') RETURNING id`,
      [org],
    );
    const position = await t.admin.query(
      `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, 'ada@prospect.test') RETURNING id`,
      [org, person.rows[0].id, company.rows[0].id],
    );
    const campaignId = campaign.json().id as string;
    await call('POST', `/v1/campaigns/${campaignId}/enrollments`, { positionIds: [position.rows[0].id] });

    exporter.reset();
    const activated = await call(
      'POST',
      `/v1/campaigns/${campaignId}/activate`,
      {},
      { traceparent: `00-${TRACE_ID}-${GATEWAY_SPAN_ID}-01` },
    );
    expect(activated.statusCode).toBe(200);

    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'request');
    expect(request, 'the request span').toBeDefined();
    expect(request!.spanContext().traceId).toBe(TRACE_ID);
    expect(request!.parentSpanContext?.spanId).toBe(GATEWAY_SPAN_ID);
    expect(request!.attributes[ATTR.requestId]).toBe(activated.headers['x-request-id']);
    expect(request!.attributes[ATTR.organisationId]).toBe(org);

    const { rows } = await t.admin.query<{ trace_context: Record<string, string> | null }>(
      `SELECT trace_context FROM outreach.tasks WHERE organisation_id = $1 AND type = 'schedule_enrollment'`,
      [org],
    );
    expect(rows).toHaveLength(1);
    const [, traceId, parentSpanId] = rows[0]!.trace_context!.traceparent!.split('-');
    expect(traceId).toBe(TRACE_ID);
    // The task's parent is a span of this request (the request span or one of its children).
    const parent = spans.find((s) => s.spanContext().spanId === parentSpanId);
    expect(parent, 'the span that enqueued the task').toBeDefined();
    expect(ancestors(parent!, spans)).toContain(request);
  });
});

describe('tracing: refused requests', () => {
  it('carry the request id (and the organisation once known) like any other', async () => {
    exporter.reset();
    const anonymous = await t.app.inject({ method: 'GET', url: '/v1/me' });
    expect(anonymous.statusCode).toBe(401);
    const invalid = await t.request(user, { method: 'POST', url: '/v1/companies', payload: { name: 1 } });
    expect(invalid.statusCode).toBe(400);

    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'request');
    const spanOf = (id: unknown) => spans.find((s) => s.attributes[ATTR.requestId] === id);
    expect(spanOf(anonymous.headers['x-request-id'])?.attributes[ATTR.organisationId]).toBeUndefined();
    expect(spanOf(invalid.headers['x-request-id'])?.attributes[ATTR.organisationId]).toBe(
      user.organisationId,
    );
  });
});

describe('tracing: what request spans keep of the URL', () => {
  it('records bearer tokens in paths and query strings redacted, as the logs do', async () => {
    const token = 'Tok3nThatUnsubscribesSomeone';
    const email = 'ada@prospect.test';
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    exporter.reset();
    for (const path of [`/u/${token}?email=${encodeURIComponent(email)}`, `/t/${token}.gif`]) {
      expect((await fetch(`${address}${path}`)).status).toBe(200);
    }
    // The http server span ends after the response is sent.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const spans = exporter.getFinishedSpans();
    const paths = spans.map((s) => s.attributes['url.path']).filter((p) => p !== undefined);
    // Both the http server spans and @fastify/otel's request spans record the request's URL.
    expect(paths.length).toBeGreaterThanOrEqual(4);
    for (const span of spans) {
      for (const [name, value] of Object.entries(span.attributes)) {
        const text = decodeURIComponent(String(value));
        expect({ span: span.name, name, leaks: text.includes(token) || text.includes(email) }).toEqual({
          span: span.name,
          name,
          leaks: false,
        });
      }
    }
    expect(paths).toContain('/u/[redacted]');
    expect(paths).toContain('/t/[redacted]');
  });
});
