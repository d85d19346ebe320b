import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs to stdout; LOG_LEVEL controls verbosity (pipe through pino-pretty in dev). */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', name = 'worker'): Logger {
  return pino({ name, level });
}

/**
 * For runAsSystem in the worker's recurring loops (claims, send batches, timers, poll rounds):
 * its audit line ("entering system scope", at info) would be written on every round. One-off
 * entries (key rotation) keep the default logger.
 */
export const quietSystemScope = { logger: { info: () => {}, warn: () => {} } };
