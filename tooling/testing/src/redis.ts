import { freePort } from './ports.js';
import { findBinary, startDaemon } from './system-service.js';

export interface RunningRedis {
  url: string;
  port: number;
  /** True when this process started redis-server and may stop it. */
  owned: boolean;
  stop(): Promise<void>;
}

/** Starts a throw-away redis-server (no persistence) on a free port, or on `port`. */
export async function startRedisServer(port?: number): Promise<RunningRedis> {
  const binary = findBinary(
    'REDIS_SERVER_BIN',
    ['redis-server'],
    'No Redis for the tests: REDIS_URL is unset and `redis-server` is not on PATH. ' +
      'Fix: install it (Debian: apt-get install -y redis-server; macOS: brew install redis) or set REDIS_URL.',
  );
  const chosen = port ?? (await freePort());
  const daemon = await startDaemon(
    'redis-server',
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
    { ports: [chosen] },
  );
  return {
    url: `redis://127.0.0.1:${chosen}`,
    port: chosen,
    owned: true,
    stop: daemon.stop,
  };
}

/** REDIS_URL when set, otherwise a redis-server from PATH. */
export async function startTestRedis(): Promise<RunningRedis> {
  const url = process.env.REDIS_URL;
  if (url) return { url, port: Number(new URL(url).port || 6379), owned: false, async stop() {} };
  return await startRedisServer();
}
