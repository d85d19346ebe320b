/**
 * Development SMTP sink: accepts every message on 127.0.0.1 and writes it as an .eml file
 * (open with any mail client, or `cat`). `pnpm dev` starts it and points the worker's SMTP_URL at it.
 *   SMTP_SINK_PORT (default 1025), SMTP_SINK_DIR (default .data/mail)
 */
import fs from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { createLogger } from './logger.js';

const log = createLogger(undefined, 'dev-smtp-sink');
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
