export {
  ATTR,
  annotateActiveSpan,
  annotateRequestSpan,
  continueTrace,
  type TraceCarrier,
  traceCarrier,
  withSpan,
} from './context.js';
export { tracingRequested } from './settings.js';
export { shutdownTracing, startTracing, type Tracing, type TracingOptions } from './start.js';
export { redactTracedUrls, type UrlRedactor } from './urls.js';
