/**
 * `node --import @prospectflow/telemetry/register dist/server.js`: starts tracing before the
 * application loads, so pg, ioredis and http are patched when they are imported (ES modules need
 * the loader hook registered here). Does nothing unless OTEL_* asks for tracing.
 */
import { register } from 'node:module';
import { tracingRequested } from './settings.js';
import { startTracing } from './start.js';

if (tracingRequested()) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const tracing = startTracing({ serviceName: process.env.OTEL_SERVICE_NAME || 'prospectflow' });
  // Flush what is buffered when the process ends by itself; a close that ends in process.exit()
  // (close-with-grace) calls shutdownTracing() instead, since 'beforeExit' never fires then.
  process.once('beforeExit', () => void tracing?.shutdown());
}
