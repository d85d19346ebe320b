import { prettyFactory } from 'pino-pretty';

const colours = process.stdout.isTTY;
const prettify = prettyFactory({ colorize: colours, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' });

/** Prints one line of a child's output: pino JSON is prettified, anything else is passed through. */
export function printLine(source: string, line: string): void {
  if (!line.trim()) return;
  const tag = `[${source}]`.padEnd(9);
  if (line.startsWith('{')) {
    try {
      process.stdout.write(`${tag}${prettify(JSON.parse(line))}`);
      return;
    } catch {
      // not JSON after all: print as is
    }
  }
  process.stdout.write(`${tag}${line}\n`);
}

/** The orchestrator's own messages, in the same format. */
export function say(message: string, extra: Record<string, unknown> = {}): void {
  printLine('dev', JSON.stringify({ level: 30, time: Date.now(), msg: message, ...extra }));
}

export function warn(message: string, extra: Record<string, unknown> = {}): void {
  printLine('dev', JSON.stringify({ level: 40, time: Date.now(), msg: message, ...extra }));
}
