import net from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTestDatabase, startRedisServer, testEnvironment } from '../src/index.js';

async function redisPing(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return await new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().trim());
    });
    socket.once('error', reject);
  });
}

describe('test services', () => {
  it('gives each file a database cloned from the prepared template', async () => {
    const a = await createTestDatabase('a');
    const b = await createTestDatabase('b');
    expect(a.name).not.toBe(b.name);
    const client = new pg.Client({ connectionString: a.adminUrl });
    await client.connect();
    const { rows } = await client.query('SELECT id FROM marker');
    await client.query('INSERT INTO marker VALUES (2)');
    await client.end();
    expect(rows).toEqual([{ id: 1 }]);
    const other = new pg.Client({ connectionString: b.adminUrl });
    await other.connect();
    const count = await other.query('SELECT count(*)::int AS n FROM marker');
    await other.end();
    expect(count.rows[0].n).toBe(1);
    await a.drop();
    await b.drop();
  });

  it('reports the server version and a reachable Redis', async () => {
    const environment = testEnvironment();
    expect(environment.serverVersion).toMatch(/^(15|16|17|18)\./);
    expect(await redisPing(environment.redisUrl)).toBe('+PONG');
  });

  it('starts and stops a private redis-server', async () => {
    const redis = await startRedisServer();
    expect(await redisPing(redis.url)).toBe('+PONG');
    await redis.stop();
    await expect(redisPing(redis.url)).rejects.toThrow();
  });

  it('starts an S3 wire-protocol server with a bucket when asked', async () => {
    const { s3 } = testEnvironment();
    expect(s3?.bucket).toBe('prospectflow-test');
    // The run's bucket exists (a missing key is NoSuchKey, not NoSuchBucket) and answers in S3's XML.
    const response = await fetch(`${s3!.endpoint}/${s3!.bucket}/missing`);
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('<Code>NoSuchKey</Code>');
  });
});
