import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from './logger.js';

export interface ScriptResult {
  code: number;
  /** Lines the script printed on stdout (backup.sh: the archive paths; restore.sh: the database). */
  stdout: string[];
  /** Logfmt events the script logged on stderr, in order. */
  events: Record<string, string>[];
  /** The `message` of the script's `event=failed` line, when it failed that way. */
  failure?: string;
}

const PAIR = /([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)/g;

/** One logfmt line of infra/scripts/lib.sh (`ts=… level=info event=x key="a b"`); null otherwise. */
export function parseLogfmt(line: string): Record<string, string> | null {
  const fields: Record<string, string> = {};
  for (const [, key, raw] of line.matchAll(PAIR)) {
    fields[key!] = raw!.startsWith('"') ? raw!.slice(1, -1).replace(/\\"/g, '"') : raw!;
  }
  return fields.level && fields.event ? fields : null;
}

const LEVELS = new Set(['debug', 'info', 'warn', 'error']);

/**
 * Runs infra/scripts/<script> with bash. Settings and secrets travel in the environment, never in
 * the arguments (which `ps` shows to every user). The script's logfmt lines become structured log
 * entries (its progress included); other stderr lines (db:validate's report) are logged as output.
 */
export function runScript(
  scriptsDir: string,
  script: 'backup.sh' | 'restore.sh',
  args: string[],
  env: Record<string, string>,
  log: Logger,
  signal?: AbortSignal,
): Promise<ScriptResult> {
  const child = spawn('bash', [join(scriptsDir, script), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    signal,
  });
  const result: ScriptResult = { code: 1, stdout: [], events: [] };
  const name = script.replace(/\.sh$/, '');
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.trim()) result.stdout.push(line.trim());
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    const fields = parseLogfmt(line);
    if (!fields) {
      if (line.trim()) log.info({ script: name, output: line }, 'script output');
      return;
    }
    result.events.push(fields);
    const { ts: _ts, level, event, script: _script, ...rest } = fields;
    if (event === 'failed') result.failure = fields.message;
    log[LEVELS.has(level!) ? (level as 'info') : 'info'](
      { script: name, event, ...rest },
      `${name}: ${event}`,
    );
  });
  return new Promise((resolve) => {
    child.on('error', (error) => {
      result.failure ??= error.message;
      log.error({ script: name, err: error }, `${name} could not run`);
    });
    child.on('close', (code) => {
      result.code = code ?? 1;
      resolve(result);
    });
  });
}
