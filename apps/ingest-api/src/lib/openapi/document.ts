import type { RouteOptions } from 'fastify';
import { roleSentence } from '../role-policy.js';
import { ProblemSchema } from '../schemas.js';
import { schemaRef, withRefs } from './components.js';
import { errorResponses, problemResponse, type RouteFacts, standardResponseName } from './errors.js';
import { operationIdFor } from './operation-id.js';

/**
 * What @fastify/swagger's `transform` and `transformObject` do for this API, so the document is
 * one clients can be generated from: an operationId on every operation, the caller it needs in its
 * description, every problem+json answer declared, shared schemas under components/schemas.
 */

/** Routes that exist only in some configurations: the document must be the same in all of them. */
const UNDOCUMENTED = new Set(['/.well-known/jwks.json']);

type Schema = Record<string, unknown>;

declare module 'fastify' {
  interface FastifySchema {
    /**
     * Request bodies the handler reads itself as streams, by media type (e.g. multipart/form-data,
     * text/csv): declared in the API document beside `body`, never compiled into Fastify's body
     * validation (which would judge the stream against the schema).
     */
    streamedBodies?: Record<string, object>;
  }
}
interface OpenApiObject {
  paths?: Record<string, Record<string, { operationId?: string; responses?: Record<string, unknown> }>>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
}

function who(route: RouteOptions): string {
  const role = route.config?.role;
  if (role) return roleSentence(role);
  if (route.config?.auth === false) return 'Public: no token needed.';
  return 'Any signed-in user (bearer token; no `x-organisation-id`).';
}

const SUCCESS: Record<string, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content' };

/** A success response with a description (the status text unless the schema has one); 201 says where. */
function success(status: string, response: Schema): Schema {
  if (response.content || !status.startsWith('2')) return response;
  const description = (response.description as string | undefined) ?? SUCCESS[status] ?? 'Success';
  const headers =
    status === '201'
      ? { location: { type: 'string', description: 'Path of the created resource' } }
      : undefined;
  if (response.type === 'null') return { ...response, description, ...(headers ? { headers } : {}) };
  return {
    description,
    ...(headers ? { headers } : {}),
    content: { 'application/json': { schema: response } },
  };
}

/**
 * Public routes need nothing; organisation routes need the token and `x-organisation-id`, declared
 * as a security scheme so generated clients set it once (it leaves the parameter lists).
 */
function security(route: RouteOptions): object[] | undefined {
  if (route.config?.auth === false) return [];
  if (route.config?.organisation !== false) return [{ bearer: [], organisation: [] }];
  return undefined;
}

function facts(route: RouteOptions, method: string, url: string, schema: Schema): RouteFacts {
  const authenticated = route.config?.auth !== false;
  return {
    method,
    url,
    authenticated,
    organisation: authenticated && route.config?.organisation !== false,
    rateLimited: route.config?.rateLimit !== false,
    validated: Boolean(schema.body || schema.querystring || schema.params || schema.headers),
    problems: route.config?.problems,
  };
}

export function describeRoute(input: {
  schema: unknown;
  url: string;
  route: RouteOptions;
  openapiObject: Partial<OpenApiObject>;
}): { schema: Schema; url: string } {
  const { url, route, openapiObject } = input;
  const { streamedBodies, ...rest } = (input.schema ?? {}) as Schema & {
    streamedBodies?: Record<string, object>;
  };
  const schema: Schema = { ...rest };
  if (streamedBodies) {
    const content = ((schema.body as { content?: Schema } | undefined)?.content ?? {}) as Schema;
    schema.body = {
      content: {
        ...content,
        ...Object.fromEntries(Object.entries(streamedBodies).map(([type, body]) => [type, { schema: body }])),
      },
    };
  }
  if (schema.hide) return { schema, url };
  if (UNDOCUMENTED.has(url)) return { schema: { ...schema, hide: true }, url };

  openapiObject.components ??= {};
  openapiObject.components.schemas ??= {};
  const components = openapiObject.components.schemas;
  const use = (name: string, value: object) => {
    if (!(name in components)) components[name] = withRefs(value, use, true);
  };
  use('Problem', ProblemSchema);
  const problem = schemaRef('Problem');

  const method = (Array.isArray(route.method) ? route.method[0] : route.method) as string;
  const responses: Schema = {};
  for (const [status, response] of Object.entries((schema.response ?? {}) as Schema)) {
    responses[status] =
      response === ProblemSchema
        ? problemResponse(String((ProblemSchema as { description?: string }).description), problem)
        : success(status, withRefs(response, use) as Schema);
  }
  for (const [status, response] of Object.entries(
    errorResponses(facts(route, method, url, schema), problem),
  )) {
    responses[status] ??= response;
  }
  // Without a declared success the error answers would be all a client sees.
  if (!Object.keys(responses).some((status) => status.startsWith('2'))) {
    responses['200'] = {
      type: 'null',
      description: 'Success (body not described: not JSON, or to be declared)',
    };
  }

  const own = schema.description ? `\n\n${schema.description}` : '';
  const role = route.config?.role;
  return {
    url,
    schema: {
      ...schema,
      operationId: (schema.operationId as string | undefined) ?? operationIdFor(method, url),
      description: `${who(route)}${own}`,
      ...(role ? { 'x-required-role': role } : {}),
      ...(security(route) ? { security: security(route) } : {}),
      ...(schema.body ? { body: withRefs(schema.body, use) } : {}),
      response: responses,
    },
  };
}

/**
 * Checks and orders the finished document: unique operationIds, the generated error responses
 * shared under components/responses (one definition, not one per operation), components by name.
 */
export function finishDocument({ openapiObject }: { openapiObject: Partial<OpenApiObject> }) {
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  const shared: Record<string, unknown> = {};
  for (const [path, operations] of Object.entries(openapiObject.paths ?? {})) {
    for (const [method, operation] of Object.entries(operations)) {
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const name = standardResponseName(status, (response as { description?: unknown }).description);
        if (!name) continue;
        shared[name] ??= response;
        operation.responses![status] = { $ref: `#/components/responses/${name}` };
      }
      const id = operation.operationId;
      if (!id) continue;
      const where = `${method.toUpperCase()} ${path}`;
      if (seen.has(id)) duplicates.push(`${id}: ${seen.get(id)} and ${where}`);
      else seen.set(id, where);
    }
  }
  if (duplicates.length > 0) {
    throw new Error(
      `Duplicate operationIds (set schema.operationId on one of them): ${duplicates.join('; ')}`,
    );
  }
  const schemas = openapiObject.components?.schemas ?? {};
  const byName = (values: Record<string, unknown>) =>
    Object.fromEntries(
      Object.keys(values)
        .sort()
        .map((name) => [name, values[name]]),
    );
  openapiObject.components = {
    ...openapiObject.components,
    schemas: byName(schemas),
    responses: byName({ ...openapiObject.components?.responses, ...shared }),
  };
  return openapiObject;
}
