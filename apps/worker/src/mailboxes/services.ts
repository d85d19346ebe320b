import { dnsServersResolve, OAuthTokenCache } from '@prospectflow/mailboxes';
import { keyProviderFromEnv, SecretBox } from '@prospectflow/secrets';
import type { MailSettings } from '../config.js';
import type { MailAccess } from './connect.js';
import { MailboxTransports } from './transports.js';

/** What the worker shares across tasks for connected mailboxes: one of each per process. */
export interface MailServices {
  /** Opens sealed credentials; undefined when no key provider is configured (connections then fail closed). */
  box: SecretBox | undefined;
  access: MailAccess;
  transports: MailboxTransports;
  settings: MailSettings;
}

export function createMailServices(
  settings: MailSettings,
  env: NodeJS.ProcessEnv = process.env,
): MailServices {
  const provider = keyProviderFromEnv(env);
  const access: MailAccess = {
    guard: {
      allow: settings.hostAllowList,
      ...(settings.dnsServers.length ? { resolve: dnsServersResolve(settings.dnsServers) } : {}),
    },
    tokens: new OAuthTokenCache({ clients: settings.oauthClients }),
  };
  return {
    box: provider ? new SecretBox(provider) : undefined,
    access,
    transports: new MailboxTransports(),
    settings,
  };
}
