/**
 * Development SMTP sink: accepts every message on 127.0.0.1 and writes it as an .eml file
 * (open with any mail client, or `cat`). `pnpm dev` starts it and points the worker's SMTP_URL at it.
 * A development tool, so it lives in tooling/dev, not in the worker that ships.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { SMTPServer } from 'smtp-server';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`Usage: node tooling/dev/dist/smtp-sink.js   (started by pnpm dev unless SMTP_URL is set)
Accepts every message on 127.0.0.1 and writes one .eml file per message.
  SMTP_SINK_PORT  listening port (default 1025)
  SMTP_SINK_DIR   where the .eml files go (default .data/mail)
  LOG_LEVEL       pino level (default info)
`);
  process.exit(0);
}

const log = pino({ name: 'dev-smtp-sink', level: process.env.LOG_LEVEL ?? 'info' });
const port = Number(process.env.SMTP_SINK_PORT ?? 1025);
const dir = path.resolve(process.env.SMTP_SINK_DIR ?? '.data/mail');
fs.mkdirSync(dir, { recursive: true });
let counter = 0;

function header(raw: string, name: string): string | undefined {
  const head = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const match = head.match(new RegExp(`^${name}:\\s*(.*(?:\\r?\\n[ \\t].*)*)`, 'im'));
  return match?.[1]?.replace(/\r?\n[ \t]+/g, ' ').trim();
}

const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => {
      const raw = Buffer.concat(chunks);
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      const file = path.join(dir, `${stamp}-${process.pid}-${++counter}.eml`);
      fs.writeFile(file, raw, (error) => {
        if (error) return callback(error);
        const text = raw.toString('utf8');
        log.info(
          {
            file,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
            to: session.envelope.rcptTo.map((r) => r.address),
            subject: header(text, 'Subject'),
            messageId: header(text, 'Message-ID'),
          },
          'captured mail',
        );
        callback();
      });
    });
  },
});

server.listen(port, '127.0.0.1', () => log.info({ port, dir }, 'dev SMTP sink listening'));
const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
