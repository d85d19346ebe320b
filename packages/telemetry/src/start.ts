import { FastifyOtelInstrumentation } from '@fastify/otel';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { type Instrumentation, registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME, ATTR_URL_PATH } from '@opentelemetry/semantic-conventions';
import { tracingRequested } from './settings.js';
import { incomingUrlAttributes, tracedUrl } from './urls.js';

export interface TracingOptions {
  /** service.name unless OTEL_SERVICE_NAME says otherwise. */
  serviceName: string;
  env?: NodeJS.ProcessEnv;
  /**
   * Tests and tools: export here (synchronously, one span at a time) instead of OTLP; tracing then
   * starts whatever the environment says.
   */
  exporter?: SpanExporter;
}

export interface Tracing {
  provider: NodeTracerProvider;
  /** Flushes pending spans and stops tracing (graceful shutdown). */
  shutdown(): Promise<void>;
}

// One provider per process: the register hook and the app may both ask.
const ACTIVE = Symbol.for('prospectflow.telemetry.active');
type Global = typeof globalThis & { [ACTIVE]?: Tracing };

/**
 * Instrumentations for what the services use: Fastify (through its diagnostics channel, so any
 * instance created afterwards is traced), http, pg and ioredis (patched when those modules load:
 * start tracing before importing them, which `--import @prospectflow/telemetry/register` does).
 * nodemailer has no maintained instrumentation: the worker wraps its SMTP sends in a span itself.
 * Incoming request URLs are recorded as the application's rule redacts them (redactTracedUrls).
 */
function instrumentations(): Instrumentation[] {
  return [
    new FastifyOtelInstrumentation({
      registerOnInitialization: true,
      ignorePaths: '/{health,ready,metrics}',
      requestHook: (span, request) => span.setAttribute(ATTR_URL_PATH, tracedUrl(request.url)),
    }),
    new HttpInstrumentation({ startIncomingSpanHook: incomingUrlAttributes }),
    new PgInstrumentation({ enhancedDatabaseReporting: false }),
    new IORedisInstrumentation(),
  ];
}

/** Starts tracing when asked (see tracingRequested) and returns it; undefined when off. Idempotent. */
export function startTracing(options: TracingOptions): Tracing | undefined {
  const global = globalThis as Global;
  if (global[ACTIVE]) return global[ACTIVE];
  const env = options.env ?? process.env;
  if (!options.exporter && !tracingRequested(env)) return undefined;

  const exporter = options.exporter ?? new OTLPTraceExporter();
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME || options.serviceName }),
    spanProcessors: [options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  // Global tracer provider, W3C trace-context propagator, AsyncLocalStorage context manager.
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    instrumentations: instrumentations(),
  });

  const tracing: Tracing = {
    provider,
    async shutdown() {
      unregister();
      await provider.shutdown();
      if (global[ACTIVE] === tracing) delete global[ACTIVE];
    },
  };
  global[ACTIVE] = tracing;
  return tracing;
}

/**
 * Flushes what is buffered and stops tracing, waiting at most `timeoutMs` (an unreachable collector
 * must not hold a shutdown). Call it last in a graceful close that ends in process.exit()
 * (close-with-grace does): 'beforeExit', where the register hook flushes otherwise, never fires
 * then, and the spans of the last seconds were lost. A no-op when tracing is off.
 */
export async function shutdownTracing(timeoutMs = 2_000): Promise<void> {
  const tracing = (globalThis as Global)[ACTIVE];
  if (!tracing) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    tracing.shutdown().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}
