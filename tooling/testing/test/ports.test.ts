import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePorts } from '../src/ports.js';

describe('freePorts', () => {
  it('hands out distinct ports that are free again once it returns', async () => {
    const ports = await freePorts(64);
    expect(new Set(ports).size).toBe(64);
    for (const port of ports) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
