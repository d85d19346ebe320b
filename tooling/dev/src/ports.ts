import net from 'node:net';
import { DevStartError } from './problems.js';

/** Fails with a clear message when something already listens on `port`. */
export async function assertPortFree(port: number, what: string, envName: string): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
  if (!free) {
    throw new DevStartError(
      `port ${port} (${what}) is already in use`,
      `stop the process using it (\`lsof -i :${port}\`), or choose another port with ${envName}=<port>`,
    );
  }
}
