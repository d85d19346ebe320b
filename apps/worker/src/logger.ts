import pino from 'pino';

export type Logger = pino.Logger;

/**
 * An email address as it appears in a log line (a JSON string): recipients' addresses are
 * personal data and never belong in logs (issue 18, docs/data-protection.md). SMTP answers carry
 * them ("550 5.1.1 <zoe@example.fr>: Recipient address rejected"), and those answers travel in
 * error messages to every log line that reports a task's failure or retry.
 */
const ADDRESS = /[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g;

/**
 * The text with every email address replaced by `[address]`. In a JSON line an address may follow
 * an escape (`\nzoe@…`, `\u00e9…`): the escape's letters are kept, so the line stays valid JSON.
 */
export function withoutAddresses(text: string): string {
  return text.replace(ADDRESS, (match, offset: number) => {
    let slashes = 0;
    while (text[offset - 1 - slashes] === '\\') slashes++;
    if (slashes % 2 === 0) return '[address]';
    const keep = /^u[0-9a-fA-F]{4}/.test(match) ? 5 : 1;
    return `${match.slice(0, keep)}[address]`;
  });
}

/**
 * JSON logs to stdout (or `destination`); LOG_LEVEL controls verbosity (pipe through pino-pretty
 * in dev). Every line is written without email addresses, whatever a caller or an error put in it.
 */
export function createLogger(
  level = process.env.LOG_LEVEL ?? 'info',
  name = 'worker',
  destination?: pino.DestinationStream,
): Logger {
  const options: pino.LoggerOptions = { name, level, hooks: { streamWrite: withoutAddresses } };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * For runAsSystem in the worker's recurring loops (claims, send batches, timers, poll rounds):
 * its audit line ("entering system scope", at info) would be written on every round. One-off
 * entries (key rotation) keep the default logger.
 */
export const quietSystemScope = { logger: { info: () => {}, warn: () => {} } };
