import pino from 'pino';

/** The slice of a pino logger this package uses; pass your app's logger (or a child) to keep one stream. */
export type TenantLogger = Pick<pino.Logger, 'info' | 'warn'>;

let defaultLogger: TenantLogger | undefined;

export function resolveLogger(logger?: TenantLogger): TenantLogger {
  if (logger) return logger;
  defaultLogger ??= pino({ name: '@prospectflow/tenant-context' });
  return defaultLogger;
}
