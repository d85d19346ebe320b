import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  consentUrl,
  newConsentSecrets,
  OAuthCodeRefused,
  type OAuthProvider,
  redeemAuthorizationCode,
} from '@prospectflow/mailboxes';
import { currentTenant } from '@prospectflow/tenant-context';
import type { FastifyInstance } from 'fastify';
import { notFound, ProblemError, unprocessable } from '../../../../lib/problem.js';
import { created } from '../../../../lib/replies.js';
import { MANAGE } from '../../../../lib/role-policy.js';
import { checkZone, prepareChange, split } from '../../../../mailboxes/change.js';
import { checkHosts, mergeConnection } from '../../../../mailboxes/connection.js';
import { CONSENT_TTL_SECONDS, oauthConsents } from '../../../../mailboxes/oauth-consents.js';
import { mailboxesRepository } from '../../../../repositories/mailboxes.js';
import { Mailbox, OAuthComplete, OAuthStart, OAuthStarted } from '../schema.js';

/** What the consent needs of the deployment: the provider's OAuth client, the redirect page, Redis. */
function consentSetup(fastify: FastifyInstance, provider: OAuthProvider) {
  const client = fastify.config.oauth.clients[provider];
  const redirectUri = fastify.config.oauth.redirectUrl;
  const redis = fastify.redis;
  if (!client || !redirectUri || !redis)
    throw new ProblemError(
      503,
      'oauth_not_configured',
      `Connecting ${provider} mailboxes by consent is not set up on this deployment (OAUTH_${provider.toUpperCase()}_CLIENT_ID, OAUTH_REDIRECT_URL and REDIS_URL).`,
    );
  return { client, redirectUri, consents: oauthConsents(redis) };
}

/** Redis down or slow: the consent cannot be kept or found, say so rather than fail with a 500. */
async function consentStore<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProblemError) throw error;
    throw new ProblemError(503, 'oauth_unavailable', 'Pending consents cannot be read now: try again.');
  }
}

/**
 * Connecting a Google or Microsoft mailbox by consent (authorisation code + PKCE): `start` checks
 * the mailbox's settings and answers the provider's consent page; the provider sends the user back
 * to OAUTH_REDIRECT_URL with a code and the state, which the frontend posts to `complete`. That
 * redeems the code for the refresh token and creates the mailbox (or gives a reconnected one its
 * new token) exactly as POST /v1/mailboxes would: sealed, unverified until the worker checks it.
 */
const oauth: FastifyPluginAsyncTypebox = async (fastify) => {
  const tags = ['outreach'];
  const repository = mailboxesRepository(fastify.db);

  fastify.post(
    '/start',
    {
      config: MANAGE,
      schema: {
        tags,
        summary:
          "Start connecting a Google or Microsoft mailbox: answers the provider's consent page to send the user to",
        body: OAuthStart,
        response: { 200: OAuthStarted },
      },
    },
    async (request) => {
      const { provider, mailboxId: reconnect, ...settings } = request.body;
      const { client, redirectUri, consents } = consentSetup(fastify, provider);
      // What completing would refuse is refused now, before the user consents: the token could not
      // be sealed (503), or the organisation already sends from the address (409).
      fastify.secretBox();
      let mailboxId: string | undefined;
      if (reconnect) {
        if (Object.keys(settings).some((k) => k !== 'fromAddress'))
          throw unprocessable(
            'oauth_reconnect_settings',
            'A reconnection gives the mailbox a new token only: change its settings with PATCH /v1/mailboxes/{id}.',
          );
        const stored = await repository.stored(reconnect);
        if (!stored) throw notFound('Mailbox');
        // As the database has it: the new token is sealed to this id at completion.
        mailboxId = stored.id;
        if (stored.connection.provider !== provider)
          throw unprocessable('oauth_provider_mismatch', `This mailbox is not a ${provider} mailbox.`);
        if (stored.fromAddress.toLowerCase() !== settings.fromAddress.toLowerCase())
          throw unprocessable(
            'oauth_address_mismatch',
            `This mailbox sends as ${stored.fromAddress}: reconnect that account.`,
          );
      } else {
        checkZone(settings.timeZone);
        await repository.refuseTakenAddress(settings.fromAddress);
        // The servers are checked now (SSRF, TLS), before the user is sent to consent.
        const { input } = split({ ...settings, provider, oauth: { refreshToken: 'pending' } });
        const { connection } = mergeConnection(
          { provider: 'relay', smtp: null, imap: null },
          {},
          input,
          settings.fromAddress,
        );
        await checkHosts(connection, fastify.config.mail);
      }
      const { state, codeVerifier, codeChallenge } = newConsentSecrets();
      const tenant = currentTenant();
      const expiresAt = Date.now() + CONSENT_TTL_SECONDS * 1000;
      await consentStore(() =>
        consents.save(state, {
          organisationId: tenant.organisationId,
          userId: tenant.userId,
          provider,
          codeVerifier,
          redirectUri,
          ...(mailboxId ? { mailboxId } : {}),
          settings: mailboxId ? {} : { fromName: settings.fromAddress.slice(0, 200), ...settings, provider },
          expiresAt,
        }),
      );
      return {
        authorizationUrl: consentUrl(provider, client, {
          redirectUri,
          state,
          codeChallenge,
          loginHint: settings.fromAddress,
        }),
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
  );

  fastify.post(
    '/complete',
    {
      config: MANAGE,
      schema: {
        tags,
        summary:
          'Finish connecting a Google or Microsoft mailbox with the code and state the provider sent back: creates it (201) or reconnects it (200), unverified until checked',
        body: OAuthComplete,
        response: { 200: Mailbox, 201: Mailbox },
      },
    },
    async (request, reply) => {
      const tenant = currentTenant();
      // The store is checked first: without Redis nothing was started here.
      const redis = fastify.redis;
      if (!redis) throw new ProblemError(503, 'oauth_not_configured', 'No consent store (REDIS_URL).');
      // Nor a key to seal the token with: the consent stays pending, the code unredeemed.
      fastify.secretBox();
      const consents = oauthConsents(redis);
      const consent = await consentStore(() =>
        consents.take(
          request.body.state,
          (c) => c.organisationId === tenant.organisationId && c.userId === tenant.userId,
        ),
      );
      if (!consent)
        throw unprocessable(
          'oauth_state_invalid',
          'No consent of yours is pending under this state (expired, completed already, or started by someone else): start again.',
        );
      const { client } = consentSetup(fastify, consent.provider);
      // Another mailbox took the address since start: refused before the code becomes a token no
      // mailbox would keep (a race past this check answers the same, from the unique key).
      if (!consent.mailboxId) await repository.refuseTakenAddress(String(consent.settings.fromAddress));
      let refreshToken: string;
      try {
        ({ refreshToken } = await redeemAuthorizationCode(consent.provider, client, {
          code: request.body.code,
          codeVerifier: consent.codeVerifier,
          redirectUri: consent.redirectUri,
        }));
      } catch (error) {
        if (error instanceof OAuthCodeRefused) throw unprocessable('oauth_code_refused', error.message);
        request.log.warn({ err: error, provider: consent.provider }, 'oauth token endpoint failed');
        // A provider that failed (5xx, unreachable) has usually not used the code up: the consent is
        // pending again, so the same code and state can be posted once more.
        const pending = await consents.putBack(request.body.state, consent).catch(() => false);
        const expiresAt = pending ? new Date(consent.expiresAt).toISOString() : undefined;
        throw new ProblemError(
          502,
          'oauth_provider_unavailable',
          `${consent.provider} did not redeem the code: ${expiresAt ? `post the same code and state again before ${expiresAt}, or start again if it is then refused` : 'start again'}.`,
          { extensions: expiresAt ? { consentPending: true, expiresAt } : { consentPending: false } },
        );
      }
      const oauthInput = { oauth: { refreshToken } };
      if (consent.mailboxId) {
        const stored = await repository.stored(consent.mailboxId);
        if (!stored) throw notFound('Mailbox');
        const change = await prepareChange(
          fastify,
          tenant.organisationId,
          stored,
          oauthInput,
          stored.fromAddress,
        );
        const row = await repository.update(stored.id, {}, change);
        if (!row) throw notFound('Mailbox');
        return row;
      }
      const { values, input } = split({ ...consent.settings, ...oauthInput });
      const id = repository.newId();
      const change = await prepareChange(
        fastify,
        tenant.organisationId,
        { id },
        input,
        String(values.fromAddress),
      );
      const row = await repository.create(id, values, change);
      return created(reply, `/v1/mailboxes/${row.id}`, row);
    },
  );
};

export default oauth;
