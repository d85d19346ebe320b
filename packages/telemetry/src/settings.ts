/**
 * Tracing is off unless the standard OpenTelemetry variables ask for it: OTEL_SDK_DISABLED=true
 * wins; otherwise OTEL_TRACES_EXPORTER (comma list) must name `otlp`, or, when it is unset, an
 * OTLP endpoint must be configured. Everything else (endpoint, headers, protocol timeouts, service
 * name, sampler) is read by the OpenTelemetry SDK itself from the same variables.
 */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.trim();
  if (exporters) return exporters.split(',').some((name) => name.trim().toLowerCase() === 'otlp');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}
