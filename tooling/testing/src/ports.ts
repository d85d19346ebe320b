import fs from 'node:fs';
import net from 'node:net';

/**
 * Where freePorts looks: below the kernel's ephemeral range. A port the kernel handed out for
 * `listen(0)` is free again once closed, and the kernel may hand it straight to any other
 * process's outgoing connection or port-0 listener before the child meant to use it binds it
 * (CI once saw a worker's metrics port taken that way: EADDRINUSE). Ports below that range are
 * never given out by the kernel on its own.
 */
function candidateRange(): { low: number; high: number } | undefined {
  try {
    const [ephemeralLow] = fs
      .readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    if (ephemeralLow && ephemeralLow > 11_000) return { low: 10_000, high: ephemeralLow };
  } catch {
    // Not Linux: the kernel's own choice below.
  }
  return undefined;
}

function listenOn(server: net.Server, port: number): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) =>
      error.code === 'EADDRINUSE' || error.code === 'EACCES' ? resolve(undefined) : reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : undefined);
    });
  });
}

/**
 * `count` distinct free TCP ports on 127.0.0.1. Each is held until all are known: ports asked for
 * one after another may repeat once the first is closed (a Dovecot config once got the same port
 * for IMAP and LMTP: "duplicate listener").
 */
export async function freePorts(count: number): Promise<number[]> {
  const range = candidateRange();
  const held: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let attempts = 0; ports.length < count; attempts++) {
      if (attempts > count * 50) throw new Error(`could not find ${count} free ports`);
      const wanted = range ? range.low + Math.floor(Math.random() * (range.high - range.low)) : 0;
      const server = net.createServer().unref();
      const port = await listenOn(server, wanted);
      if (port === undefined) continue;
      held.push(server);
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(held.map((server) => new Promise<void>((r) => server.close(() => r()))));
  }
}

/** A free TCP port on 127.0.0.1 (see freePorts). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

/** Resolves once something accepts TCP connections on host:port, or rejects after timeoutMs. */
export async function waitForPort(port: number, host = '127.0.0.1', timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
