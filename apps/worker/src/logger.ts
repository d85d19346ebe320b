import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs to stdout; LOG_LEVEL controls verbosity (pipe through pino-pretty in dev). */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info', name = 'worker'): Logger {
  return pino({ name, level });
}
