import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ATTR, startTracing, type Tracing } from '@prospectflow/telemetry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../src/clock.js';
import {
  createCampaign,
  createMailbox,
  createOrg,
  createPositions,
  enroll,
  openTestDb,
  type TestDb,
} from './support/db.js';
import { type SmtpSink, startSmtpSink } from './support/smtp.js';
import { type TestWorker, testWorker } from './support/worker.js';

// The trace context the API stores with a task (see ingest-api's tracing test, which checks that
// link): the worker must continue that trace through the follow-up task and the SMTP send.
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const REQUEST_SPAN_ID = 'b7ad6b7169203331';

const exporter = new InMemorySpanExporter();
let tracing: Tracing | undefined;
let t: TestDb;
let smtp: SmtpSink;
let w: TestWorker;
let org: string;
const clock = new ManualClock('2026-03-02T08:30:00Z'); // Monday 09:30 in Paris: inside the window

beforeAll(async () => {
  tracing = startTracing({ serviceName: 'worker', exporter });
  t = await openTestDb('tracing');
  smtp = await startSmtpSink();
  org = await createOrg(t.admin, 'traced');
  const mailbox = await createMailbox(t.admin, org, {
    address: 'sales@traced.test',
    timeZone: 'Europe/Paris',
  });
  const campaign = await createCampaign(t.admin, org, mailbox, [
    { delayDays: 0, subject: 'Hi', body: 'Hello' },
  ]);
  const positions = await createPositions(t.admin, org, [
    { email: 'ada@prospect.test', firstName: 'Ada', company: 'Acme' },
  ]);
  await enroll(t.admin, org, campaign.id, positions, clock.now());
  await t.admin.query(`UPDATE outreach.tasks SET trace_context = $2 WHERE organisation_id = $1`, [
    org,
    { traceparent: `00-${TRACE_ID}-${REQUEST_SPAN_ID}-01` },
  ]);
  w = testWorker(t.workerUrl, smtp.url, clock);
});
afterAll(async () => {
  await w?.close();
  await smtp?.close();
  await t?.close();
  await tracing?.shutdown();
});

const parentOf = (span: ReadableSpan, spans: ReadableSpan[]) =>
  spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);

describe('tracing: queued task → follow-up task → SMTP send', () => {
  it('continues the stored trace in every task and around the SMTP submission', async () => {
    await w.worker.drain();
    expect(smtp.mails).toHaveLength(1);

    const spans = exporter.getFinishedSpans();
    const schedule = spans.find((s) => s.name === 'task schedule_enrollment');
    const send = spans.find((s) => s.name === 'task send_step');
    const smtpSpan = spans.find((s) => s.name === 'smtp send');
    expect(schedule && send && smtpSpan, 'task and SMTP spans').toBeTruthy();

    // One trace: the request's, continued by the first task, handed on to the one it enqueued.
    for (const span of [schedule!, send!, smtpSpan!]) expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(schedule!.parentSpanContext?.spanId).toBe(REQUEST_SPAN_ID);
    expect(parentOf(send!, spans)).toBe(schedule);
    expect(parentOf(smtpSpan!, spans)).toBe(send);

    expect(schedule!.attributes).toMatchObject({
      [ATTR.organisationId]: org,
      [ATTR.taskType]: 'schedule_enrollment',
    });
    expect(send!.attributes[ATTR.organisationId]).toBe(org);
    expect(smtpSpan!.attributes['smtp.message_id']).toBe(smtp.mails[0]!.parsed.messageId);
  });
});

describe('tracing: what a refused SMTP send leaves in its span', () => {
  it("the error's type and code, not its message (a 550 quotes the recipient's address)", async () => {
    const address = 'grace@prospect.test';
    smtp.setRcpt((rcpt) => ({
      code: 550,
      message: `5.1.1 <${rcpt}>: Recipient address rejected: User unknown`,
    }));
    const other = await createOrg(t.admin, 'traced-refused');
    const mailbox = await createMailbox(t.admin, other, {
      address: 'sales@refused.test',
      timeZone: 'Europe/Paris',
    });
    const campaign = await createCampaign(t.admin, other, mailbox, [
      { delayDays: 0, subject: 'Hi', body: 'Hello' },
    ]);
    const positions = await createPositions(t.admin, other, [
      { email: address, firstName: 'Grace', company: 'Acme' },
    ]);
    await enroll(t.admin, other, campaign.id, positions, clock.now());
    exporter.reset();
    await w.worker.drain();

    const spans = exporter.getFinishedSpans();
    const smtpSpan = spans.find((s) => s.name === 'smtp send');
    expect(smtpSpan?.status.code).toBe(SpanStatusCode.ERROR);
    expect(smtpSpan?.events.map((e) => e.attributes?.['exception.type'])).toEqual(['EENVELOPE']);
    for (const span of spans) {
      const recorded = JSON.stringify({
        attributes: span.attributes,
        events: span.events,
        status: span.status,
      });
      expect({ span: span.name, leaks: recorded.includes(address) }).toEqual({
        span: span.name,
        leaks: false,
      });
    }
  });
});
