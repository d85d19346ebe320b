import type { MessageStructureObject } from 'imapflow';
import { simpleParser } from 'mailparser';

const ENCODINGS = new Set(['7bit', '8bit', 'binary', 'base64', 'quoted-printable']);
const TOKEN = /^[\w.:+-]{1,64}$/;

/**
 * Decodes one fetched body part to text: its transfer encoding (quoted-printable, base64) and its
 * charset (UTF-8, ISO-8859-x, Windows-125x…) through mailparser, which the part's own headers are
 * given to as a one-part message. Values from the server that are not plain tokens are dropped
 * (they would otherwise be header text we write). An undecodable part gives undefined, not an error:
 * the message is still classified and matched, only its text is missing.
 */
export async function decodePart(
  part: MessageStructureObject,
  raw: Buffer | undefined,
): Promise<string | undefined> {
  if (!raw) return undefined;
  const encoding = part.encoding?.toLowerCase() ?? '7bit';
  const charset = part.parameters?.charset ?? 'utf-8';
  const flowed = part.parameters?.format?.toLowerCase() === 'flowed';
  const delSp = part.parameters?.delsp?.toLowerCase() === 'yes';
  const head = [
    `Content-Type: text/plain; charset=${TOKEN.test(charset) ? charset : 'utf-8'}${flowed ? '; format=flowed' : ''}${flowed && delSp ? '; delsp=yes' : ''}`,
    `Content-Transfer-Encoding: ${ENCODINGS.has(encoding) ? encoding : '8bit'}`,
    '',
    '',
  ].join('\r\n');
  try {
    const parsed = await simpleParser(Buffer.concat([Buffer.from(head, 'ascii'), raw]), {
      skipHtmlToText: true,
      skipTextToHtml: true,
      skipTextLinks: true,
      skipImageLinks: true,
    });
    return parsed.text;
  } catch {
    return undefined;
  }
}
