import fs from 'node:fs';
import path from 'node:path';
import { freePorts } from '../ports.js';
import { findBinary, serviceUser, startDaemon } from '../system-service.js';

export interface RunningDovecot {
  imapPort: number;
  lmtpPort: number;
  log(): string;
  stop(): Promise<void>;
}

const MISSING =
  'Dovecot is not installed. Fix: apt-get install -y dovecot-imapd dovecot-lmtpd (Debian/Ubuntu), or set DOVECOT_BIN to its path.';

/** No runnable Dovecot (not installed, or DOVECOT_BIN does not run): `pnpm dev` goes on without mail. */
export class DovecotMissingError extends Error {
  override name = 'DovecotMissingError';
}

/**
 * Rootless Dovecot 2.3 (IMAP + LMTP on 127.0.0.1): users from one passwd-file per address (the
 * accounts module writes them), XOAUTH2/OAUTHBEARER checked against the test OAuth server,
 * maildir per user, LMTP saving `user+Folder@domain` into Folder (the SMTP server's Sent copy).
 */
function config(dir: string, imapPort: number, lmtpPort: number): string {
  const owner = serviceUser('Dovecot');
  return `instance_name = pf-dovecot-${imapPort}
protocols = imap lmtp
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
default_internal_user = ${owner.user}
default_internal_group = ${owner.group}
default_login_user = ${owner.user}
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
service anvil {
  chroot =
  # No growing delay after failed logins (auth penalty): tests fail logins on purpose.
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = ${imapPort}
  }
  inet_listener imaps {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = ${lmtpPort}
  }
}
passdb {
  driver = passwd-file
  mechanisms = plain login
  args = scheme=PLAIN username_format=%u ${dir}/users/%u
}
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = ${dir}/oauth2.conf.ext
}
userdb {
  driver = static
  args = allow_all_users=yes uid=${owner.uid} gid=${owner.gid} home=${dir}/home/%u
}
mail_location = maildir:~/Maildir
mail_fsync = never
auth_failure_delay = 0
first_valid_uid = ${owner.uid}
last_valid_uid = ${owner.uid}
first_valid_gid = ${owner.gid}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
}
`;
}

export async function startDovecot(dir: string, tokeninfoUrl: string): Promise<RunningDovecot> {
  let binary: string;
  try {
    binary = findBinary('DOVECOT_BIN', ['dovecot', '/usr/sbin/dovecot'], MISSING);
  } catch (error) {
    throw new DovecotMissingError((error as Error).message);
  }
  const owner = serviceUser('Dovecot');
  const [imapPort, lmtpPort] = (await freePorts(2)) as [number, number];
  for (const sub of ['run', 'state', 'home', 'users', 'oauth'])
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, 'dovecot.conf'), config(dir, imapPort, lmtpPort));
  fs.writeFileSync(
    path.join(dir, 'oauth2.conf.ext'),
    `tokeninfo_url = ${tokeninfoUrl}\nintrospection_mode = get\nusername_attribute = email\nactive_attribute = active\nactive_value = true\n`,
  );
  for (const sub of ['', 'run', 'state', 'home', 'users', 'oauth'])
    fs.chownSync(path.join(dir, sub), owner.uid, owner.gid);
  fs.chmodSync(dir, 0o755);
  const withLog = (output: string) => {
    try {
      return output + fs.readFileSync(path.join(dir, 'dovecot.log'), 'utf8').slice(-20_000);
    } catch {
      return output;
    }
  };
  const daemon = await startDaemon('dovecot', binary, ['-F', '-c', path.join(dir, 'dovecot.conf')], {
    ports: [imapPort, lmtpPort],
    describe: withLog,
  });
  return { imapPort, lmtpPort, log: () => withLog(daemon.output()), stop: daemon.stop };
}
