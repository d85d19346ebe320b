import { keyProviderFromEnv, SecretBox } from '@prospectflow/secrets';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppOptions } from '../../app.js';
import { ProblemError } from '../../lib/problem.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Seals mailbox credentials and DKIM keys (envelope encryption); throws 503 when no key provider is set. */
    secretBox(): SecretBox;
  }
}

/** The key provider from SECRETS_* (packages/secrets): without one, nothing secret is stored (fail closed). */
async function secrets(fastify: FastifyInstance, opts: AppOptions) {
  const provider = keyProviderFromEnv(opts.config.env as NodeJS.ProcessEnv);
  const box = provider ? new SecretBox(provider) : undefined;
  if (!box)
    fastify.log.warn('no key provider (SECRETS_*): mailbox credentials and DKIM keys cannot be stored');
  fastify.decorate('secretBox', () => {
    if (!box)
      throw new ProblemError(
        503,
        'secrets_not_configured',
        'This server has no key provider (SECRETS_PROVIDER / SECRETS_LOCAL_KEYS / SECRETS_KMS_KEY_ID): credentials cannot be stored.',
      );
    return box;
  });
}

export default fp(secrets, { name: 'secrets', fastify: '5.x', dependencies: ['config'] });
