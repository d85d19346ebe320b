import fs from 'node:fs';
import path from 'node:path';
import type { MailAccounts } from './accounts.js';
import { startDovecot } from './dovecot.js';

export { DovecotMissingError } from './dovecot.js';

import { startTestOAuth } from './oauth.js';
import { startTestSmtp } from './smtp.js';

export {
  failTokenRefreshes,
  issueRefreshToken,
  type MailAccounts,
  mailPassword,
  refreshTokenGrant,
  revokeRefreshToken,
  setMailPassword,
  type TokenRefreshFailure,
  tokenRefreshFailure,
} from './accounts.js';
export { startTestOAuth, type TestOAuth } from './oauth.js';

/** Where the mail service listens; serialisable (passed from the global setup to test files). */
export interface TestMailEnvironment extends MailAccounts {
  host: string;
  imapPort: number;
  smtpPort: number;
  oauthTokenUrl: string;
  /** The OAuth server's consent page (see TestOAuth.authorizeUrl). */
  oauthAuthorizeUrl: string;
}

export interface RunningTestMail extends TestMailEnvironment {
  log(): string;
  stop(): Promise<void>;
}

export interface TestMailOptions {
  /** Addresses the SMTP server answers like `answer-…` ones (see smtp.ts). */
  answering?: readonly string[];
}

/**
 * A real mail system on 127.0.0.1 for tests and `pnpm dev`: Dovecot (IMAP, LMTP) from the
 * distribution, a submission SMTP server delivering into it over LMTP, and an OAuth token server
 * for XOAUTH2 mailboxes. Everything lives in `dir` (a fresh temporary one by default).
 */
export async function startTestMail(dir?: string, options: TestMailOptions = {}): Promise<RunningTestMail> {
  // Short path: Dovecot's unix sockets live under it (sun_path is 108 bytes).
  const root = dir ?? fs.mkdtempSync('/tmp/pfm.');
  const accounts = { dir: root };
  fs.mkdirSync(path.join(root, 'oauth'), { recursive: true });
  const oauth = await startTestOAuth(accounts);
  let dovecot: Awaited<ReturnType<typeof startDovecot>> | undefined;
  try {
    dovecot = await startDovecot(root, oauth.tokeninfoUrl);
    const smtp = await startTestSmtp({
      accounts,
      lmtpPort: dovecot.lmtpPort,
      ownerOfAccessToken: oauth.ownerOf,
      answering: options.answering,
    });
    const running = dovecot;
    return {
      dir: root,
      host: '127.0.0.1',
      imapPort: running.imapPort,
      smtpPort: smtp.port,
      oauthTokenUrl: oauth.tokenUrl,
      oauthAuthorizeUrl: oauth.authorizeUrl,
      log: running.log,
      async stop() {
        await smtp.close();
        await running.stop();
        await oauth.close();
        if (!dir) fs.rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await dovecot?.stop();
    await oauth.close();
    // The temporary directory made above (one per failed start otherwise, left in /tmp).
    if (!dir) fs.rmSync(root, { recursive: true, force: true });
    throw error;
  }
}
