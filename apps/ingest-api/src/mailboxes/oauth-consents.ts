import { createHash } from 'node:crypto';
import type { OAuthProvider } from '@prospectflow/mailboxes';
import type { Redis } from 'ioredis';

/** How long a user has to consent and come back (the provider's own codes live minutes). */
export const CONSENT_TTL_SECONDS = 600;

/** A consent between its start and its completion: whose, for which mailbox, and the PKCE verifier. */
export interface PendingConsent {
  organisationId: string;
  userId: string | undefined;
  provider: OAuthProvider;
  codeVerifier: string;
  redirectUri: string;
  /** Reconnect this mailbox; otherwise create one from `settings`. */
  mailboxId?: string;
  /** The new mailbox's fields (the create body without its secret). */
  settings: Record<string, unknown>;
  /** When it lapses (epoch ms): CONSENT_TTL_SECONDS after the start, also when it is put back. */
  expiresAt: number;
}

/**
 * Pending consents in Redis, shared by every API instance, gone after CONSENT_TTL_SECONDS. Keyed by
 * a hash of the state, so the state (which travels through the browser) is not a Redis key either.
 */
export function oauthConsents(redis: Redis) {
  const key = (state: string) => `pf:oauth-consent:${createHash('sha256').update(state).digest('hex')}`;
  return {
    async save(state: string, consent: PendingConsent): Promise<void> {
      await redis.set(key(state), JSON.stringify(consent), 'PXAT', consent.expiresAt);
    },
    /**
     * A taken consent pending again, until its original expiry: the provider failed to redeem the
     * code (5xx, unreachable), so the same code and state may be posted again. False when it has
     * lapsed meanwhile, was started before consents carried their expiry, or the state is somehow
     * in use again (NX).
     */
    async putBack(state: string, consent: PendingConsent): Promise<boolean> {
      const { expiresAt } = consent;
      if (typeof expiresAt !== 'number' || expiresAt <= Date.now()) return false;
      return (await redis.set(key(state), JSON.stringify(consent), 'PXAT', expiresAt, 'NX')) === 'OK';
    },
    /**
     * The consent of this state when `accept` takes it, removed so it completes once: of two
     * concurrent completions only the one whose DEL removed it gets it.
     */
    async take(
      state: string,
      accept: (consent: PendingConsent) => boolean,
    ): Promise<PendingConsent | undefined> {
      const raw = await redis.get(key(state));
      if (!raw) return undefined;
      const consent = JSON.parse(raw) as PendingConsent;
      if (!accept(consent)) return undefined;
      return (await redis.del(key(state))) === 1 ? consent : undefined;
    },
  };
}
