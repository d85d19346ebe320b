import { Ajv, type Options } from 'ajv';
import ajvFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// ajv-formats is CommonJS: its default import is `module.exports`, the plugin, whose `default` is itself.
const addFormats = ajvFormats.default;

/** What both share, as the app's ajv had before: every error reported (the problem lists them all), defaults filled in. */
const SHARED: Options = { useDefaults: true, allErrors: true, addUsedSchema: false };

/**
 * The one validator of every route (set once at the root, `src/app.ts`), Fastify's documented
 * per-`httpPart` compiler with two ajv instances:
 *
 * - **body**: taken exactly as sent. No type is coerced (`"name": 42` is 400, not stored as "42";
 *   `true` is not "true"; a scalar is not wrapped into an array) and no field is removed: an object
 *   declared `additionalProperties: false` refuses an unknown field (400 `validation_failed`, its
 *   path in `errors[]`, nothing written) instead of dropping it with a 2xx. A schema that leaves
 *   its object open (the inbound webhook, whose providers may add fields) accepts and ignores
 *   extra fields — read the declared ones only. Declared defaults are still filled in.
 * - **querystring, params, headers**: they arrive as strings, so they are coerced as before
 *   (`?limit=20` is 20, one `?status=a` is `["a"]` where an array is declared), and an undeclared
 *   parameter is dropped where the schema closes its object.
 */
export function requestValidator(): FastifySchemaCompiler<unknown> {
  const exact = addFormats(new Ajv({ ...SHARED, coerceTypes: false, removeAdditional: false }));
  const fromStrings = addFormats(new Ajv({ ...SHARED, coerceTypes: 'array', removeAdditional: true }));
  return ({ schema, httpPart }) => (httpPart === 'body' ? exact : fromStrings).compile(schema as object);
}
