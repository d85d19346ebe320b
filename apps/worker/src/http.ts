import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Worker } from './queue/worker.js';

/** /metrics (Prometheus text) and /health (200 while claiming, 503 otherwise). */
export async function startOpsServer(
  worker: Worker,
  port: number,
  host: string,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics') {
      worker.metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': worker.metrics.registry.contentType });
          res.end(body);
        })
        .catch((error: Error) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`metrics unavailable: ${error.message}`);
        });
      return;
    }
    if (req.url === '/health') {
      const ok = worker.state === 'running';
      res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          status: ok ? 'ok' : worker.state,
          workerId: worker.id,
          inFlight: worker.inFlightCount,
        }),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
