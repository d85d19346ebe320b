import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { isListedPublicRoute } from '../lib/public-routes.js';

export interface RegisteredRoute {
  method: string;
  url: string;
  /** `false` when the route answers without a token (it must be on PUBLIC_ROUTES). */
  auth: boolean;
  /** `false` when an authenticated route runs without an organisation (x-organisation-id). */
  organisation: boolean;
  /** The route's schema (body, params…), for tests that generate requests. */
  schema: RouteOptions['schema'];
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route of the app, for the deny-by-default and cross-tenant tests (complete once ready). */
    routeCatalog(): RegisteredRoute[];
  }
}

function describe(route: RouteOptions): RegisteredRoute[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const auth = route.config?.auth !== false;
  return methods.map((method) => ({
    method,
    url: route.url,
    auth,
    organisation: auth && route.config?.organisation !== false,
    schema: route.schema,
  }));
}

/**
 * Deny by default, enforced at boot: a route answers without a token only when it is both marked
 * `config: { auth: false }` and listed in PUBLIC_ROUTES; otherwise `ready()` fails. Checked in
 * onReady because later onRoute hooks (e.g. the Swagger UI's) may still adjust a route's config.
 * Registered by app.ts before every other plugin, so it sees every route.
 */
async function routePolicy(fastify: FastifyInstance) {
  const routes: RouteOptions[] = [];
  const catalog = () => routes.flatMap(describe);
  fastify.decorate('routeCatalog', catalog);
  fastify.addHook('onRoute', (route) => {
    routes.push(route);
  });
  fastify.addHook('onReady', async () => {
    const unlisted = catalog().filter(
      (route) => !route.auth && !isListedPublicRoute(route.method, route.url),
    );
    if (unlisted.length > 0) {
      throw new Error(
        `Routes marked public (config.auth = false) but missing from PUBLIC_ROUTES (src/lib/public-routes.ts): ${unlisted
          .map((route) => `${route.method} ${route.url}`)
          .join(', ')}`,
      );
    }
  });
}

export default fp(routePolicy, { name: 'route-policy', fastify: '5.x' });
