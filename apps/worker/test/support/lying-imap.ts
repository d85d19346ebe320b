import net, { type AddressInfo } from 'node:net';

/** An IMAP server of a user's choosing that misbehaves (tests of what the worker must withstand). */
export interface FakeImap {
  port: number;
  /** The command lines it received. */
  commands: string[];
  close(): Promise<void>;
}

/**
 * A minimal IMAP server on 127.0.0.1:0 that takes any login and holds one message in INBOX
 * (UIDVALIDITY 7, UID 1). `answer` may take a command over: it gets the socket, the tag and the
 * command name (UID stripped) and returns true when it answered (or chose not to).
 */
async function startFakeImap(
  answer: (socket: net.Socket, tag: string, command: string) => boolean = () => false,
): Promise<FakeImap> {
  const commands: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n');
    let buffer = '';
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let at = buffer.indexOf('\r\n'); at >= 0; at = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        commands.push(line);
        const [tag = '*', ...words] = line.split(' ');
        const upper = words.map((w) => w.toUpperCase());
        const command = (upper[0] === 'UID' ? upper[1] : upper[0]) ?? '';
        if (answer(socket, tag, command)) continue;
        const out: string[] = [];
        if (command === 'CAPABILITY') out.push('* CAPABILITY IMAP4rev1 AUTH=PLAIN');
        if (command === 'SELECT' || command === 'EXAMINE')
          out.push(
            '* FLAGS (\\Seen \\Deleted)',
            '* 1 EXISTS',
            '* OK [UIDVALIDITY 7] ok',
            '* OK [UIDNEXT 2] ok',
          );
        if (command === 'SEARCH') out.push('* SEARCH 1');
        if (command === 'LIST') out.push('* LIST () "/" INBOX', '* LIST (\\Sent) "/" Sent');
        // Whatever it is asked to fetch, it has nothing: an empty header block.
        if (command === 'FETCH') out.push('* 1 FETCH (UID 1 BODY[HEADER] {2}\r\n\r\n)');
        if (command === 'LOGOUT') out.push('* BYE');
        out.push(`${tag} OK done`);
        socket.write(`${out.join('\r\n')}\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    commands,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Answers every SEARCH with UID 1 although it holds no message: what verification must not take
 * for its message found in the INBOX.
 */
export const startLyingImap = () => startFakeImap();

/**
 * Answers a SEARCH or FETCH one byte every 200 ms, forever: the connection is never idle, so no
 * socket timeout ends it.
 */
export async function startTarpitImap(): Promise<FakeImap> {
  const drips = new Set<NodeJS.Timeout>();
  const imap = await startFakeImap((socket, _tag, command) => {
    if (command !== 'SEARCH' && command !== 'FETCH') return false;
    socket.write('* SEARCH');
    const drip = setInterval(() => socket.write(' '), 200);
    drips.add(drip);
    socket.on('close', () => clearInterval(drip));
    return true;
  });
  return {
    ...imap,
    close: async () => {
      for (const drip of drips) clearInterval(drip);
      await imap.close();
    },
  };
}

/**
 * Answers a FETCH with one literal of `size` bytes (what a server of a user's choosing may
 * announce): `bytesTaken` is how much of it the client read before it hung up.
 */
export async function startHugeLiteralImap(size: number): Promise<FakeImap & { bytesTaken(): number }> {
  const taken: net.Socket[] = [];
  const chunk = Buffer.alloc(1024 * 1024, 0x61);
  const imap = await startFakeImap((socket, tag, command) => {
    if (command !== 'FETCH') return false;
    taken.push(socket);
    socket.write(`* 1 FETCH (UID 1 BODY[HEADER.FIELDS (REFERENCES)] {${size}}\r\n`);
    let sent = 0;
    const pump = () => {
      while (sent < size && !socket.destroyed) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      if (!socket.destroyed) socket.write(`)\r\n${tag} OK done\r\n`);
    };
    pump();
    return true;
  });
  return { ...imap, bytesTaken: () => taken.reduce((n, s) => n + s.bytesWritten - s.writableLength, 0) };
}
