import net, { type AddressInfo } from 'node:net';

export interface LyingImap {
  port: number;
  /** The command lines it received. */
  commands: string[];
  close(): Promise<void>;
}

/**
 * An IMAP server on 127.0.0.1:0 that takes any login and answers every SEARCH with UID 1 although
 * it holds no message: what verification must not take for its message found in the INBOX.
 */
export async function startLyingImap(): Promise<LyingImap> {
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
        const [tag, ...words] = line.split(' ');
        const upper = words.map((w) => w.toUpperCase());
        const command = upper[0] === 'UID' ? upper[1] : upper[0];
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
        if (command === 'LIST') out.push('* LIST () "/" INBOX');
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
