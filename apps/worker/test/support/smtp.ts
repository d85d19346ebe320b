import net, { type AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

export interface CapturedMail {
  envelopeTo: string[];
  raw: string;
  parsed: ParsedMail;
}

export interface SinkOptions {
  /** Answer to RCPT TO: undefined accepts, otherwise an SMTP code and text (550 bounce, 451 deferral). */
  rcpt?: (address: string) => { code: number; message: string } | undefined;
  /** Require AUTH with these credentials (anything else → 535). */
  auth?: { user: string; pass: string };
  /** Hold each DATA for this long (lets chaos tests kill a worker mid-send). */
  dataDelayMs?: number;
}

export interface SmtpSink {
  url: string;
  port: number;
  mails: CapturedMail[];
  setRcpt(rcpt: SinkOptions['rcpt']): void;
  close(): Promise<void>;
}

/** A real SMTP server on 127.0.0.1:0 that parses what it receives with mailparser. */
export async function startSmtpSink(options: SinkOptions = {}): Promise<SmtpSink> {
  const mails: CapturedMail[] = [];
  let rcpt = options.rcpt;
  const closed = new Set<string>();
  const config: SMTPServerOptions = {
    logger: false,
    // close() waits for connected clients (a pooled transport keeps its connections open) this
    // long before ending them: smtp-server's default, 30 s, was most of some suites' run time.
    closeTimeout: 1_000,
    disabledCommands: options.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !options.auth,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (options.auth && auth.username === options.auth.user && auth.password === options.auth.pass)
        return callback(null, { user: auth.username });
      const error = new Error('Invalid username or password') as Error & { responseCode: number };
      error.responseCode = 535;
      callback(error);
    },
    onRcptTo(address, _session, callback) {
      const answer = rcpt?.(address.address);
      if (!answer) return callback();
      const error = new Error(answer.message) as Error & { responseCode: number };
      error.responseCode = answer.code;
      callback(error);
    },
    onClose(session) {
      closed.add(session.id);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if (options.dataDelayMs) await new Promise((r) => setTimeout(r, options.dataDelayMs));
        // Like a real MTA, a transaction whose client vanished before our 250 is not delivered.
        if (closed.has(session.id)) return callback(new Error('client gone'));
        mails.push({
          envelopeTo: session.envelope.rcptTo.map((r) => r.address),
          raw,
          parsed: await simpleParser(raw),
        });
        callback();
      });
    },
  };
  const server = new SMTPServer(config);
  // Killed clients reset their connections; that is expected here.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.server.address() as AddressInfo).port;
  const credentials = options.auth ? `${encodeURIComponent(options.auth.user)}:wrong-password@` : '';
  return {
    url: `smtp://${credentials}127.0.0.1:${port}`,
    port,
    mails,
    setRcpt(next) {
      rcpt = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface RefusingSmtp {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

/**
 * A raw SMTP server that refuses the client before any envelope, as a blocklisting MTA does: its
 * greeting, or its answers to EHLO and HELO, are the given lines (smtp-server has no hook for EHLO).
 */
export async function startRefusingSmtp(answers: {
  greeting: string;
  ehlo?: string;
  helo?: string;
}): Promise<RefusingSmtp> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0 };
  const server = net.createServer((socket) => {
    state.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write(`${answers.greeting}\r\n`);
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const verb = buffered.slice(0, end).split(' ')[0]!.toUpperCase();
        buffered = buffered.slice(end + 2);
        if (verb === 'QUIT') {
          socket.end('221 2.0.0 Bye\r\n');
          return;
        }
        const answer = verb === 'EHLO' ? answers.ehlo : verb === 'HELO' ? answers.helo : undefined;
        socket.write(`${answer ?? '503 5.5.1 Bad sequence of commands'}\r\n`);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A raw SMTP server that takes a message and then answers its end of data one byte every 200 ms,
 * forever ("2", "5", "5"…): the connection is never idle, so no socket timeout ends the send.
 */
export async function startTarpitSmtp(): Promise<{ port: number; messages: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const drips = new Set<NodeJS.Timeout>();
  const state = { messages: 0 };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write('220 tarpit ESMTP\r\n');
    let buffered = '';
    let inData = false;
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (inData) {
          if (line !== '.') continue;
          inData = false;
          state.messages += 1;
          socket.write('2');
          const drip = setInterval(() => socket.write('5'), 200);
          drips.add(drip);
          socket.on('close', () => clearInterval(drip));
          continue;
        }
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'EHLO') socket.write('250-tarpit\r\n250 AUTH PLAIN LOGIN\r\n');
        else if (verb === 'AUTH') socket.write('235 2.7.0 Accepted\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 Go ahead\r\n');
        } else if (verb === 'QUIT') socket.end('221 2.0.0 Bye\r\n');
        else socket.write('250 2.0.0 OK\r\n');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    get messages() {
      return state.messages;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const drip of drips) clearInterval(drip);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
