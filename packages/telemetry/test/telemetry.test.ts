import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { traceCarrier, tracingRequested, withSpan } from '../src/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('tracingRequested: off unless the OTEL_* variables ask for it', () => {
  it.each([
    [{}, false],
    [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'console,otlp' }, true],
    [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
    [{ OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'otlp' }, false],
  ])('%j → %s', (env, expected) => {
    expect(tracingRequested(env)).toBe(expected);
  });

  it('stores no trace context when nothing is traced', async () => {
    expect(traceCarrier()).toBeNull();
    await withSpan('untraced', {}, async () => expect(traceCarrier()).toBeNull());
  });
});

/** An OTLP/HTTP (JSON) receiver: what a collector would get. */
async function startReceiver() {
  const names: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const payload = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: { name: string }[] }[] }[];
      };
      for (const r of payload.resourceSpans)
        for (const s of r.scopeSpans) for (const span of s.spans) names.push(span.name);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { names, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('node --import @prospectflow/telemetry/register (how the images start)', () => {
  let database: TestDatabase;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    database = await createTestDatabase('telemetry');
    receiver = await startReceiver();
  });
  afterAll(async () => {
    receiver?.server.close();
    await database?.drop();
  });

  it('exports pg spans of an ES module application over OTLP when OTEL_* asks for it', async () => {
    const script = `import pg from 'pg';
      const pool = new pg.Pool({ connectionString: process.env.DB_URL });
      await pool.query('SELECT 1');
      await pool.end();`;
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(
        process.execPath,
        ['--import', path.join(here, '../dist/register.js'), '--input-type=module', '-e', script],
        {
          cwd: here,
          env: {
            ...process.env,
            DB_URL: database.adminUrl,
            OTEL_TRACES_EXPORTER: 'otlp',
            OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
            OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
            OTEL_SERVICE_NAME: 'telemetry-test',
          },
          stdio: 'inherit',
        },
      );
      child.on('exit', resolve);
    });
    expect(code).toBe(0);
    expect(receiver.names.some((name) => name.startsWith('pg.query'))).toBe(true);
  });
});
