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

/**
 * What a span keeps of an error: its class and code, never its message or stack — free text that
 * quotes what failed (an SMTP 550 names the recipient's address). The logs have the message.
 */
function recordError(span: Span, error: unknown): void {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  const type = typeof name === 'string' && name ? name : 'Error';
  const errorCode = typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
  span.recordException(errorCode ? { name: type, code: errorCode } : { name: type });
  span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode ? `${type} ${errorCode}` : type });
}

async function inSpan<T>(span: Span, fn: (span: Span) => Promise<T>): Promise<T> {
  try {
    return await fn(span);
  } catch (error) {
    recordError(span, error);
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
