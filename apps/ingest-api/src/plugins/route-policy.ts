import type { Role } from '@prospectflow/auth-core';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { isListedPublicRoute } from '../lib/public-routes.js';
import { ROLE_RANKS } from '../lib/role-policy.js';

export interface RegisteredRoute {
  method: string;
  url: string;
  /** `false` when the route answers without a token (it must be on PUBLIC_ROUTES). */
  auth: boolean;
  /** `false` when an authenticated route runs without an organisation (x-organisation-id). */
  organisation: boolean;
  /** Lowest organisation role that may call it (organisation routes only). */
  role: Role | undefined;
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
    role: route.config?.role,
    schema: route.schema,
  }));
}

/** What is wrong with the catalogue's access declarations (empty when every route is declared). */
export function policyProblems(routes: RegisteredRoute[]): string[] {
  const name = (route: RegisteredRoute) => `${route.method} ${route.url}`;
  const problems: string[] = [];
  const unlisted = routes.filter((route) => !route.auth && !isListedPublicRoute(route.method, route.url));
  if (unlisted.length > 0) {
    problems.push(
      `Routes marked public (config.auth = false) but missing from PUBLIC_ROUTES (src/lib/public-routes.ts): ${unlisted.map(name).join(', ')}`,
    );
  }
  const undeclared = routes.filter((route) => route.organisation && !ROLE_RANKS.includes(route.role!));
  if (undeclared.length > 0) {
    problems.push(
      `Organisation routes without a required role (config.role = viewer | member | admin | owner, see src/lib/role-policy.ts): ${undeclared.map(name).join(', ')}`,
    );
  }
  const misplaced = routes.filter((route) => !route.organisation && route.role !== undefined);
  if (misplaced.length > 0) {
    problems.push(
      `Routes outside an organisation cannot require an organisation role: ${misplaced.map(name).join(', ')}`,
    );
  }
  return problems;
}

/**
 * Deny by default, enforced at boot: a route answers without a token only when it is both marked
 * `config: { auth: false }` and listed in PUBLIC_ROUTES, and every organisation route declares the
 * lowest role that may call it (`config.role`, enforced by auth-core's organisation scope);
 * otherwise `ready()` fails. Checked in onReady because later onRoute hooks (e.g. the Swagger
 * UI's) may still adjust a route's config. Registered by app.ts before every other plugin, so it
 * sees every route.
 */
async function routePolicy(fastify: FastifyInstance) {
  const routes: RouteOptions[] = [];
  const catalog = () => routes.flatMap(describe);
  fastify.decorate('routeCatalog', catalog);
  fastify.addHook('onRoute', (route) => {
    routes.push(route);
  });
  fastify.addHook('onReady', async () => {
    const problems = policyProblems(catalog());
    if (problems.length > 0) throw new Error(problems.join('\n'));
  });
}

export default fp(routePolicy, { name: 'route-policy', fastify: '5.x' });
