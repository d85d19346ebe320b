import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { freePort, waitForPort } from './ports.js';

export interface RunningRedis {
  url: string;
  port: number;
  /** True when this process started redis-server and may stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

function redisServerBinary(): string | undefined {
  const candidate = process.env.REDIS_SERVER_BIN ?? 'redis-server';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  return probe.status === 0 ? candidate : undefined;
}

/** Starts a throw-away redis-server (no persistence) on a free port, or on `port`. */
export async function startRedisServer(port?: number): Promise<RunningRedis> {
  const binary = redisServerBinary();
  if (!binary) {
    throw new Error(
      'No Redis for the tests: REDIS_URL is unset and `redis-server` is not on PATH. ' +
        'Fix: install it (Debian: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL.',
    );
  }
  const chosen = port ?? (await freePort());
  const child: ChildProcess = spawn(
    binary,
    [
      '--port',
      String(chosen),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--daemonize',
      'no',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(chosen);
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    owned: true,
    async stop() {
      if (child.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      });
    },
  };
}

/** REDIS_URL when set, otherwise a redis-server from PATH. */
export async function startTestRedis(): Promise<RunningRedis> {
  const url = process.env.REDIS_URL;
  if (url) return { url, port: Number(new URL(url).port || 6379), owned: false, async stop() {} };
  return await startRedisServer();
}
