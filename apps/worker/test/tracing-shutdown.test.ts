import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CHILD_GUARD_ARGS, watchChildStderr } from '@prospectflow/testing/setup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, type TestDb } from './support/db.js';

/** An OTLP/HTTP (JSON) receiver: the names of the spans a collector would get. */
let receiver: http.Server;
const received: string[] = [];
let t: TestDb;

beforeAll(async () => {
  t = await openTestDb('tracing_shutdown');
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const payload = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
      };
      for (const r of payload.resourceSpans)
        for (const s of r.scopeSpans) for (const span of s.spans) received.push(span.name);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  receiver?.close();
  await t?.close();
});

describe('tracing: a graceful stop (close-with-grace, SIGTERM)', () => {
  it('exports the spans still buffered before the process exits', async () => {
    // As the image starts it, with tracing on; batches are due only after a minute, so every span
    // the collector gets was flushed by the shutdown.
    const child = spawn(
      process.execPath,
      ['--import', '@prospectflow/telemetry/register', '--import', 'tsx', ...CHILD_GUARD_ARGS, 'src/main.ts'],
      {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: {
          ...process.env,
          WORKER_DATABASE_URL: t.workerUrl,
          SMTP_URL: 'smtp://127.0.0.1:1',
          PUBLIC_BASE_URL: 'https://pf.example.test',
          WORKER_METRICS_PORT: '0',
          WORKER_POLL_INTERVAL_MS: '100',
          WORKER_RETENTION_INTERVAL_MS: '0',
          LOG_LEVEL: 'info',
          OTEL_TRACES_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`,
          OTEL_SERVICE_NAME: 'worker',
          OTEL_BSP_SCHEDULE_DELAY: '60000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    watchChildStderr(child.stderr!);
    const exited = new Promise<{ code: number | null }>((resolve) =>
      child.once('exit', (code) => resolve({ code })),
    );
    // Started (its claim loop queries PostgreSQL every 100 ms), then asked to stop.
    await new Promise<void>((resolve) => {
      let out = '';
      child.stdout!.on('data', (chunk) => {
        out += chunk;
        if (out.includes('metrics on /metrics')) resolve();
      });
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: 0 });
    expect(received.filter((name) => name.startsWith('pg.')).length).toBeGreaterThan(0);
  }, 60_000);
});
