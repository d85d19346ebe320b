import type { RegisteredRoute } from '../../src/plugins/route-policy.js';
import type { TestApp, TestUser } from './app.js';
import { validSiren } from './fixtures.js';
import { fillPath, pathParams, sampleBody } from './route-requests.js';
import { discoverTenantFixtures, paramsFor, type TenantFixtureResult } from './tenant-fixtures.js';

/** Every organisation route of the app, with a request for each filled from organisation A's real objects. */
export interface RouteMatrix {
  routes: RegisteredRoute[];
  fixtureFiles: string[];
  /** Params by route prefix; `/` holds ids request bodies reference by property name. */
  fixtures: Record<string, Record<string, string>>;
  requestFor(route: RegisteredRoute): {
    covered: boolean;
    inject: { method: 'GET'; url: string; payload?: object };
  };
}

/**
 * Creates A's objects (companies, people, positions here; every `test/<area>/tenant-fixtures.ts`
 * for the rest) as A's owner through the API, and builds a request for every organisation route.
 * `params` are extra fixtures (e.g. which member `:userId` names).
 */
export async function buildRouteMatrix(
  t: TestApp,
  owner: TestUser,
  params: Record<string, Record<string, string>> = {},
): Promise<RouteMatrix> {
  const fixtures: Record<string, Record<string, string>> = {};
  const bodies: Record<string, object> = {};
  const fixtureFiles: string[] = [];
  const add = ({ params: more, bodies: moreBodies = {} }: TenantFixtureResult) => {
    Object.assign(bodies, moreBodies);
    for (const [prefix, values] of Object.entries(more)) {
      const clash = Object.keys(values).filter((name) => fixtures[prefix]?.[name] !== undefined);
      if (clash.length > 0) throw new Error(`fixtures for ${prefix} define ${clash.join(', ')} twice`);
      fixtures[prefix] = { ...fixtures[prefix], ...values };
    }
  };
  const create = async (url: string, payload: object) => {
    const res = await t.request(owner, { method: 'POST', url, payload });
    if (res.statusCode !== 201) throw new Error(`fixture ${url}: ${res.statusCode} ${res.body}`);
    return res.json().id as string;
  };
  const companyId = await create('/v1/companies', { name: 'A Corp', siren: validSiren(777) });
  const personId = await create('/v1/people', { firstName: 'Alice', lastName: 'A' });
  const positionId = await create('/v1/positions', { personId, companyId, email: 'alice@a.test' });
  add({
    params: {
      '/v1/companies/:id': { id: companyId },
      '/v1/people/:id': { id: personId },
      '/v1/positions/:id': { id: positionId },
      '/v1/organisations/:organisationId': { organisationId: owner.organisationId, userId: owner.userId },
      '/': { personId, companyId },
    },
  });
  for (const { file, fixture } of await discoverTenantFixtures()) {
    add(await fixture({ t, owner }));
    fixtureFiles.push(file);
  }
  for (const [prefix, values] of Object.entries(params))
    fixtures[prefix] = { ...fixtures[prefix], ...values };

  const routes = t.app
    .routeCatalog()
    .filter(
      (route) => route.auth && route.organisation && route.method !== 'HEAD' && route.method !== 'OPTIONS',
    );

  const requestFor: RouteMatrix['requestFor'] = (route) => {
    const values = { ...fixtures['/'], ...paramsFor(route.url, fixtures) };
    const body =
      bodies[`${route.method} ${route.url}`] ??
      (route.schema?.body ? sampleBody(route.schema.body, values) : undefined);
    return {
      covered: pathParams(route.url).every((name) => values[name] !== undefined),
      inject: {
        method: route.method as 'GET',
        url: fillPath(route.url, values),
        ...(body !== undefined && route.method !== 'GET' && route.method !== 'DELETE'
          ? { payload: body as object }
          : {}),
      },
    };
  };
  return { routes, fixtureFiles, fixtures, requestFor };
}
