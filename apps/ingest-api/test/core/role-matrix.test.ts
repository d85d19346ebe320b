import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasRole, type Role } from '@prospectflow/auth-core';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLE_RANKS } from '../../src/lib/role-policy.js';
import routePolicy, { type RegisteredRoute } from '../../src/plugins/route-policy.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { buildRouteMatrix, type RouteMatrix } from '../helpers/route-matrix.js';
import { organisationFingerprint } from '../helpers/snapshot.js';

/**
 * The role axis of the cross-tenant matrix: every organisation route × every role of organisation
 * A. Below the route's role → 403 `insufficient_role` naming it, and A unchanged; at or above →
 * past the gate (whatever the handler then answers).
 */
const DOC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/roles.md');
let t: TestApp;
let users: Record<Role, TestUser>;
let matrix: RouteMatrix;

beforeAll(async () => {
  t = await buildTestApp({ label: 'roles' });
  const owner = await t.signUp('owner@roles.test', 'Roles Org');
  users = {
    owner,
    admin: await t.join(owner, 'admin'),
    member: await t.join(owner, 'member'),
    viewer: await t.join(owner, 'viewer'),
  };
  // The member routes act on a plain member, so admins may change them too.
  const target = await t.join(owner, 'member');
  matrix = await buildRouteMatrix(t, owner, {
    '/v1/organisations/:organisationId': { userId: target.userId },
  });
});
afterAll(async () => {
  await t?.close();
});

const label = (route: RegisteredRoute) => `${route.method} ${route.url}`;

/** The doc's table, generated from the routes (the doc is checked against it). */
function roleTable(routes: RegisteredRoute[]): string {
  const rows = [...routes]
    .sort((x, y) => x.url.localeCompare(y.url) || x.method.localeCompare(y.method))
    .map((route) => `| ${route.method} | \`${route.url}\` | ${route.role} |`);
  return ['| Method | Route | Lowest role |', '| --- | --- | --- |', ...rows].join('\n');
}

describe('role matrix', () => {
  it('every organisation route declares a role, and docs/roles.md lists each one', () => {
    expect(matrix.routes.length).toBeGreaterThan(25);
    expect(matrix.routes.filter((route) => !ROLE_RANKS.includes(route.role!)).map(label)).toEqual([]);
    const table = roleTable(matrix.routes);
    const doc = fs.readFileSync(DOC, 'utf8');
    if (process.env.UPDATE_DOCS) {
      fs.writeFileSync(
        DOC,
        doc.replace(/<!-- routes -->[\s\S]*<!-- \/routes -->/, `<!-- routes -->\n${table}\n<!-- /routes -->`),
      );
    }
    expect(fs.readFileSync(DOC, 'utf8'), 'run with UPDATE_DOCS=1 to regenerate the table').toContain(table);
  });

  it('follows the matrix: viewers read, members write CRM and outreach, admins manage, owners own', () => {
    const byRole = (role: Role) => matrix.routes.filter((route) => route.role === role).map(label);
    expect(
      matrix.routes
        // Reads of personal data about one subject and of the audit trail are admin-only (issue 18).
        .filter(
          (r) =>
            r.method === 'GET' &&
            r.role !== 'viewer' &&
            !r.url.includes('invitations') &&
            !r.url.startsWith('/v1/privacy/') &&
            r.url !== '/v1/audit',
        )
        .map(label),
    ).toEqual([]);
    expect(byRole('member')).toEqual(
      expect.arrayContaining([
        'POST /v1/companies',
        'DELETE /v1/people/:id',
        'POST /v1/imports',
        'POST /v1/campaigns/:id/activate',
        'POST /v1/campaigns/:id/enrollments',
      ]),
    );
    expect(byRole('admin')).toEqual(
      expect.arrayContaining([
        'POST /v1/mailboxes',
        'PATCH /v1/mailboxes/:id',
        'DELETE /v1/organisations/:organisationId/members/:userId',
        'GET /v1/organisations/:organisationId/invitations',
        'POST /v1/organisations/:organisationId/invitations',
        'DELETE /v1/organisations/:organisationId/invitations/:invitationId',
        'POST /v1/privacy/erasures',
        'GET /v1/privacy/subjects',
        'GET /v1/audit',
      ]),
    );
    // Organisation settings are the owners': the privacy settings' retention periods decide what the
    // worker deletes (the CRM, the audit trail).
    expect(byRole('owner')).toEqual(
      expect.arrayContaining(['PATCH /v1/organisations/:organisationId', 'PATCH /v1/privacy/settings']),
    );
  });

  it('the OpenAPI description of every organisation route names its role', () => {
    const spec = t.app.swagger() as unknown as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const wrong = matrix.routes.filter((route) => {
      const operation = spec.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      return (
        operation?.['x-required-role'] !== route.role ||
        !String(operation?.description).startsWith(`Role: \`${route.role}\` or higher`)
      );
    });
    expect(wrong.map(label)).toEqual([]);
  });

  it('below the required role: 403 insufficient_role naming it on every route, and nothing changes', async () => {
    const before = await organisationFingerprint(t.admin, users.owner.organisationId);
    const wrong: string[] = [];
    let refused = 0;
    for (const role of ROLE_RANKS) {
      for (const route of matrix.routes.filter((r) => !hasRole(role, r.role!))) {
        const res = await t.request(users[role], matrix.requestFor(route).inject);
        const body = res.json();
        refused += 1;
        if (res.statusCode !== 403 || body.code !== 'insufficient_role' || body.requiredRole !== route.role)
          wrong.push(`${role} ${label(route)} → ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(wrong).toEqual([]);
    // Every write route is refused to a viewer.
    expect(refused).toBeGreaterThanOrEqual(matrix.routes.filter((r) => r.method !== 'GET').length);
    expect(await organisationFingerprint(t.admin, users.owner.organisationId)).toEqual(before);
  });

  it('a refused caller never has its body read: a viewer’s 10 MB CSV upload is 403, not 413', async () => {
    const res = await t.request(users.viewer, {
      method: 'POST',
      url: '/v1/imports',
      headers: { 'content-type': 'text/csv' },
      payload: Buffer.alloc(10 * 1024 * 1024, 'a'),
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'insufficient_role', requiredRole: 'member' });
  });

  it('at or above the required role: past the gate on every route (writes last)', async () => {
    const order = (route: RegisteredRoute) => ({ GET: 0, POST: 1, PATCH: 2, DELETE: 3 })[route.method] ?? 1;
    const stopped: string[] = [];
    for (const route of [...matrix.routes].sort((x, y) => order(x) - order(y))) {
      for (const role of ROLE_RANKS.filter((r) => hasRole(r, route.role!))) {
        const res = await t.request(users[role], matrix.requestFor(route).inject);
        const body = res.statusCode === 403 ? res.json() : {};
        if (body.code === 'insufficient_role' && body.requiredRole === route.role)
          stopped.push(`${role} ${label(route)}`);
        if (res.statusCode >= 500) stopped.push(`${role} ${label(route)} → ${res.statusCode}`);
      }
    }
    expect(stopped).toEqual([]);
  });

  it('an organisation route without a role stops the app from starting', async () => {
    const app = Fastify();
    await app.register(routePolicy);
    app.get('/v1/undeclared', async () => ({}));
    app.get('/v1/outside', { config: { organisation: false, role: 'viewer' } }, async () => ({}));
    await expect(app.ready()).rejects.toThrow(
      /without a required role.*GET \/v1\/undeclared[\s\S]*GET \/v1\/outside/,
    );
    await app.close().catch(() => {});
  });
});
