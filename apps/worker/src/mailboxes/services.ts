import { dnsServersResolve, OAuthTokenCache } from '@prospectflow/mailboxes';
import { keyProviderFromEnv, SecretBox } from '@prospectflow/secrets';
import type { Pool } from 'pg';
import type { MailSettings } from '../config.js';
import type { MailAccess } from './connect.js';
import { loadStoredRefreshToken, storeRotatedRefreshToken } from './refresh-tokens.js';
import { MailboxTransports } from './transports.js';

/** What the worker shares across tasks for connected mailboxes: one of each per process. */
export interface MailServices {
  /** Opens sealed credentials; undefined when no key provider is configured (connections then fail closed). */
  box: SecretBox | undefined;
  access: MailAccess;
  transports: MailboxTransports;
  settings: MailSettings;
}

/** `pool`: where refresh tokens rotated by a provider are stored and read back before each refresh (without it they live in memory only). */
export function createMailServices(
  settings: MailSettings,
  env: NodeJS.ProcessEnv = process.env,
  pool?: Pool,
): MailServices {
  const provider = keyProviderFromEnv(env);
  const box = provider ? new SecretBox(provider) : undefined;
  const access: MailAccess = {
    guard: {
      allow: settings.hostAllowList,
      ...(settings.dnsServers.length ? { resolve: dnsServersResolve(settings.dnsServers) } : {}),
    },
    tokens: new OAuthTokenCache({
      clients: settings.oauthClients,
      ...(pool && box
        ? {
            onRefreshTokenRotated: storeRotatedRefreshToken(pool, box),
            loadRefreshToken: loadStoredRefreshToken(pool, box),
          }
        : {}),
    }),
  };
  return {
    box,
    access,
    transports: new MailboxTransports(),
    settings,
  };
}
