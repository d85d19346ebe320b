import { tryCurrentTenant } from '@prospectflow/tenant-context';
import Fastify, { type FastifyInstance } from 'fastify';
import { authenticatePlugin } from '../../src/plugins/authenticate.js';
import { organisationScopePlugin } from '../../src/plugins/organisation-scope.js';
import { sessionPlugin } from '../../src/plugins/session.js';
import type { SessionService } from '../../src/session-service.js';
import type { TokenVerifier } from '../../src/verifier.js';

export interface TestAppOptions {
  verifier: TokenVerifier;
  sessions?: SessionService;
  /** Counts handler runs, to prove rejected requests never reach one. */
  onHandler?: () => void;
}

/** A small API shaped like ingest-api: public, authenticated, organisation-scoped and admin routes. */
export async function buildTestApp(options: TestAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(authenticatePlugin, { verifier: options.verifier, hydrate: false });
  app.get('/public', { config: { auth: false } }, async () => ({ ok: true }));
  app.get('/me', async (request) => {
    options.onHandler?.();
    return {
      sub: request.auth?.sub,
      tokenUse: request.auth?.token.tokenUse,
      userId: request.auth?.userId ?? null,
    };
  });
  // Every method, OPTIONS included: a preflight-shaped request must not reach it without a token.
  app.all('/any-method', async (request) => {
    options.onHandler?.();
    return { sub: request.auth?.sub };
  });
  app.post('/me', async (request) => {
    options.onHandler?.();
    return { sub: request.auth?.sub, bodyType: typeof request.body };
  });
  if (options.sessions) {
    await app.register(sessionPlugin, { sessions: options.sessions });
    // A role declared where no organisation scope runs (a registration mistake): refused to all.
    app.post('/unscoped-admin', { config: { role: 'admin' } }, async () => {
      options.onHandler?.();
      return { saved: true };
    });
    app.get('/session', async (request) => ({
      userId: request.auth?.userId,
      memberships: request.auth?.session?.memberships,
    }));
    await app.register(async (tenantRoutes) => {
      await tenantRoutes.register(organisationScopePlugin);
      tenantRoutes.get('/org', async (request) => {
        options.onHandler?.();
        return { organisation: request.auth?.organisation, tenant: tryCurrentTenant() ?? null };
      });
      tenantRoutes.post('/org/settings', { config: { role: 'admin' } }, async () => ({
        saved: true,
        tenant: tryCurrentTenant() ?? null,
      }));
      tenantRoutes.get('/org-free', { config: { organisation: false } }, async () => ({
        tenant: tryCurrentTenant() ?? null,
      }));
    });
  }
  await app.ready();
  return app;
}
