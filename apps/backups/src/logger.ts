import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs on stderr (stdout carries command results); LOG_LEVEL controls verbosity. */
export function createLogger(level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'backups', level }, pino.destination({ dest: 2, sync: true }));
}
