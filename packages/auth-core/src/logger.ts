/** The subset of pino's API auth-core logs through; a Fastify `request.log` fits. */
export interface AuthLogger {
  debug(object: object, message?: string): void;
  info(object: object, message?: string): void;
  warn(object: object, message?: string): void;
  error(object: object, message?: string): void;
}

const noop = () => {};
export const silentLogger: AuthLogger = { debug: noop, info: noop, warn: noop, error: noop };
