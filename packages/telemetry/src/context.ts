import {
  type Attributes,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';

/** The W3C trace context of the active span, as stored with a task (`traceparent`, `tracestate`). */
export type TraceCarrier = Record<string, string>;

/** Span attribute names shared by the API and the worker (no personal data ever goes in a span). */
export const ATTR = {
  organisationId: 'prospectflow.organisation_id',
  requestId: 'prospectflow.request_id',
  taskId: 'prospectflow.task.id',
  taskType: 'prospectflow.task.type',
  taskAttempt: 'prospectflow.task.attempt',
  mailboxId: 'prospectflow.mailbox.id',
} as const;

const tracer = () => trace.getTracer('@prospectflow/telemetry');

/** The active trace context to store with work handed to another process; null when nothing is traced. */
export function traceCarrier(): TraceCarrier | null {
  if (!trace.getSpan(context.active())?.spanContext().traceId) return null;
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ? carrier : null;
}

/** Sets attributes on the active span (a no-op when nothing is traced). */
export function annotateActiveSpan(attributes: Attributes): void {
  trace.getActiveSpan()?.setAttributes(attributes);
}

/**
 * Sets attributes on a Fastify request's span (@fastify/otel's `request.opentelemetry()`), which
 * is not the active span inside every hook; a no-op when the request is not traced.
 */
export function annotateRequestSpan(request: object, attributes: Attributes): void {
  const otel = (request as { opentelemetry?: () => { span?: Span | null } }).opentelemetry;
  if (typeof otel === 'function') otel.call(request).span?.setAttributes(attributes);
}

async function inSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    span.recordException(error as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
    throw error;
  } finally {
    span.end();
  }
}

/** Runs `fn` in a new child span of the active one; errors mark the span and rethrow. */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  kind: SpanKind = SpanKind.INTERNAL,
): Promise<T> {
  return await tracer().startActiveSpan(name, { attributes, kind }, (span) => inSpan(span, fn));
}

/**
 * Continues the trace a stored carrier names (a queued task): `fn` runs in a consumer span whose
 * parent is the span that enqueued the work, so request → task → send is one trace.
 */
export async function continueTrace<T>(
  carrier: TraceCarrier | null | undefined,
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = carrier ? propagation.extract(context.active(), carrier) : context.active();
  return await context.with(parent, () => withSpan(name, attributes, fn, SpanKind.CONSUMER));
}
