import envSchema from 'env-schema';
import type { Static, TObject, TSchema } from 'typebox';
import { ORIGINS_FORMAT, URL_FORMAT_PREFIX } from './formats.js';
import { isOriginList } from './origins.js';
import { redactUrlPassword, secretProblem, urlPasswordProblem } from './secrets.js';

export type Env = Record<string, string | undefined>;

/** A check across variables (e.g. "REDIS_URL is required when NODE_ENV=production"). */
export type Rule<T> = (values: T, env: Env) => string | readonly string[] | undefined;

export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    what = 'configuration',
  ) {
    super(`Invalid ${what}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

type Property = TSchema & {
  type?: string;
  enum?: string[];
  format?: string;
  description?: string;
  writeOnly?: boolean;
  requiredInProduction?: boolean;
  /** `PostgresUrl()`: the URL's password is a secret. */
  passwordIsSecret?: boolean;
  minimum?: number;
  maximum?: number;
};

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['0', 'false', 'no', 'off'];

function properties(schema: TObject): Record<string, Property> {
  return schema.properties as Record<string, Property>;
}

/** Blank means unset; flags accept the usual spellings; everything else goes to the schema as text. */
function prepare(schema: TObject, env: Env): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [name, property] of Object.entries(properties(schema))) {
    const raw = env[name]?.trim();
    if (raw === undefined || raw === '') continue;
    const lower = raw.toLowerCase();
    if (property.type === 'boolean' && TRUE.includes(lower)) data[name] = 'true';
    else if (property.type === 'boolean' && FALSE.includes(lower)) data[name] = 'false';
    else data[name] = raw;
  }
  return data;
}

function acceptsUrl(protocols: string[]) {
  return (value: string) => {
    try {
      return protocols.includes(new URL(value).protocol.slice(0, -1));
    } catch {
      return false;
    }
  };
}

type EnvSchemaOptions = NonNullable<Parameters<typeof envSchema>[0]>;
/** The Ajv class env-schema was built with (taken from its own types, so no second copy). */
type Ajv =
  Extract<NonNullable<EnvSchemaOptions['ajv']>, { customOptions: unknown }> extends {
    customOptions(ajv: infer A): unknown;
  }
    ? A
    : never;

/** env-schema's own Ajv instance, kept so each schema is compiled once per process. */
let sharedAjv: Ajv | undefined;
const prepared = new WeakMap<TObject, TObject>();

/**
 * Registers the `url:<schemes>` formats the schema uses (see `Url()`), `Origins()`' format and the
 * `requiredInProduction` and `passwordIsSecret` annotations (checked by `loadEnv` itself, not by Ajv).
 */
function addUrlFormats(ajv: Ajv, schema: TObject): Ajv {
  if (!ajv.formats[ORIGINS_FORMAT]) ajv.addFormat(ORIGINS_FORMAT, isOriginList);
  for (const keyword of ['requiredInProduction', 'passwordIsSecret']) {
    if (!ajv.getKeyword(keyword)) ajv.addKeyword({ keyword, schemaType: 'boolean' });
  }
  for (const property of Object.values(properties(schema))) {
    const format = property.format;
    if (format?.startsWith(URL_FORMAT_PREFIX) && !ajv.formats[format]) {
      ajv.addFormat(format, acceptsUrl(format.slice(URL_FORMAT_PREFIX.length).split(',')));
    }
  }
  return ajv;
}

function validate<S extends TObject>(schema: S, data: Record<string, string>): Static<S> {
  // env-schema sets additionalProperties on the object it is given: hand it a copy, the same one
  // every time so Ajv's per-object cache hits.
  const copy = prepared.get(schema) ?? { ...schema };
  prepared.set(schema, copy);
  const ajv: EnvSchemaOptions['ajv'] = sharedAjv
    ? addUrlFormats(sharedAjv, schema)
    : {
        customOptions: (instance) => {
          sharedAjv = addUrlFormats(instance, schema);
          return sharedAjv;
        },
      };
  return envSchema<Static<S>>({ schema: copy, data, env: false, ajv });
}

function describe(error: AjvError, schema: TObject, data: Record<string, string>): [string, string] {
  const name =
    error.keyword === 'required' ? String(error.params.missingProperty) : error.instancePath.slice(1);
  const property = properties(schema)[name] ?? {};
  const got =
    property.writeOnly || data[name] === undefined ? '' : ` (got "${redactUrlPassword(data[name])}")`;
  switch (error.keyword) {
    case 'required':
      return [name, `${name} is required${property.description ? ` (${property.description})` : ''}`];
    case 'enum':
      return [name, `${name} must be one of ${property.enum?.join(', ')}${got}`];
    case 'type':
      if (property.type === 'boolean') return [name, `${name} must be true or false${got}`];
      return [
        name,
        `${name} must be ${property.type === 'integer' ? 'an integer' : `a ${property.type}`}${got}`,
      ];
    case 'minimum':
    case 'maximum':
      return [name, `${name} must be an integer between ${property.minimum} and ${property.maximum}${got}`];
    case 'format': {
      if (error.params.format === ORIGINS_FORMAT) {
        return [
          name,
          `${name} must be comma-separated origins like https://app.example.com (scheme://host[:port], lower case, no path, no trailing slash, no *)${got}`,
        ];
      }
      const schemes = String(error.params.format).slice(URL_FORMAT_PREFIX.length).split(',');
      return [name, `${name} must be a URL using ${schemes.map((s) => `${s}:`).join(' or ')}${got}`];
    }
    default:
      return [name, `${name} ${error.message ?? 'is invalid'}${got}`];
  }
}

function schemaErrors(error: unknown): AjvError[] {
  const errors = (error as { errors?: AjvError[] }).errors;
  if (!Array.isArray(errors)) throw error;
  return errors;
}

/**
 * Reads the variables `schema` declares from `env` (nothing else), applies defaults and types,
 * then the production rules (`requiredInProduction`, secrets) and the cross-variable `rules`, and
 * throws one ConfigError listing every problem. Values of secrets never appear in a message.
 */
export function loadEnv<S extends TObject>(
  schema: S,
  env: Env = process.env,
  rules: readonly Rule<Static<S>>[] = [],
  what?: string,
): Static<S> {
  const data = prepare(schema, env);
  const problems = new Map<string, string[]>();
  const add = (name: string, problem: string) => problems.set(name, [...(problems.get(name) ?? []), problem]);
  let values: Static<S>;
  try {
    values = validate(schema, data);
  } catch (error) {
    for (const [name, problem] of schemaErrors(error).map((e) => describe(e, schema, data)))
      add(name, problem);
    // Run the rules on what did validate, so they are reported in the same breath.
    const valid = Object.fromEntries(Object.entries(data).filter(([name]) => !problems.has(name)));
    const lenient = { ...schema, required: (schema.required ?? []).filter((name) => !problems.has(name)) };
    values = validate(lenient as S, valid);
  }
  const invalid = new Set(problems.keys());
  const production = env.NODE_ENV?.trim() === 'production';
  for (const [name, property] of Object.entries(properties(schema))) {
    const value = (values as Record<string, unknown>)[name];
    if (!production || invalid.has(name)) continue;
    if (property.requiredInProduction && value === undefined) {
      add(
        name,
        `${name} is required in production${property.description ? ` (${property.description})` : ''}`,
      );
      continue;
    }
    if (typeof value !== 'string') continue;
    const problem = property.writeOnly
      ? secretProblem(name, value)
      : property.passwordIsSecret
        ? urlPasswordProblem(name, value)
        : undefined;
    if (problem) add(name, problem);
  }
  for (const rule of rules) {
    const found = rule(values, env);
    for (const problem of typeof found === 'string' ? [found] : (found ?? [])) {
      // A rule about a variable that already has a schema problem would only repeat it.
      const name = problem.split(/[\s:=]/, 1)[0] ?? '';
      if (!invalid.has(name)) add(name, problem);
    }
  }
  if (problems.size > 0) throw new ConfigError([...problems.values()].flat(), what);
  return values;
}

type Results<L extends readonly (() => unknown)[]> = { -readonly [K in keyof L]: ReturnType<L[K]> };

/**
 * Runs every loader of one program's settings (its own `loadEnv`, a library's loader) and returns
 * their results, or throws one ConfigError with the problems of all of them: a ConfigError's list,
 * any other error's message.
 */
export function loadAll<const L extends readonly (() => unknown)[]>(loaders: L, what?: string): Results<L> {
  const problems: string[] = [];
  const results = loaders.map((load) => {
    try {
      return load();
    } catch (error) {
      if (error instanceof ConfigError) problems.push(...error.problems);
      else if (error instanceof Error) problems.push(error.message);
      else throw error;
      return undefined;
    }
  });
  if (problems.length > 0) throw new ConfigError(problems, what);
  return results as Results<L>;
}
