import type { TBoolean, TInteger, TObject, TOptional, TProperties, TSchema, TString, TUnsafe } from 'typebox';
import { ORIGINS_FORMAT, URL_FORMAT_PREFIX } from './formats.js';

/**
 * The vocabulary of environment variables. Each helper returns plain JSON Schema typed as the
 * matching TypeBox type, so `Static<typeof Schema>` gives the config's TypeScript type while no
 * schema library is loaded at run time (TypeBox's runtime costs ~0.4 s of CPU at every process
 * start, which the worker pays on each restart). `description` is printed by `envUsage` (the
 * services' `--help`) and in "is required" errors.
 */
type Options = {
  description?: string;
  /**
   * Optional elsewhere, required when NODE_ENV=production: `loadEnv` reports "NAME is required in
   * production (description)" and `envUsage` says so.
   */
  requiredInProduction?: boolean;
};

const optional = new WeakSet<object>();

/** The variables of one program: `EnvObject({ PORT: Integer(…), REDIS_URL: Optional(Url(…)) })`. */
export function EnvObject<P extends TProperties>(properties: P): TObject<P> {
  const required = Object.keys(properties).filter((name) => !optional.has(properties[name] as object));
  return { type: 'object', properties, required } as unknown as TObject<P>;
}

/** Unset is fine (a variable without a default and not optional is required). */
export function Optional<T extends TSchema>(schema: T): TOptional<T> {
  const copy = { ...schema };
  optional.add(copy);
  return copy as TOptional<T>;
}

/** A non-empty string. */
export function Text(options: Options & { default?: string } = {}): TString {
  return { type: 'string', minLength: 1, ...options } as unknown as TString;
}

/** A whole number within bounds (the bounds are part of every error message). */
export function Integer(options: Options & { default?: number; minimum: number; maximum: number }): TInteger {
  return { type: 'integer', ...options } as unknown as TInteger;
}

/** true/false; `1/0`, `yes/no` and `on/off` are accepted too (any case). */
export function Flag(options: Options & { default: boolean }): TBoolean {
  return { type: 'boolean', ...options } as unknown as TBoolean;
}

/** One of a closed list of words. */
export function OneOf<const T extends readonly string[]>(
  values: T,
  options: Options & { default?: T[number] } = {},
): TUnsafe<T[number]> {
  return { type: 'string', enum: [...values], ...options } as unknown as TUnsafe<T[number]>;
}

/** pino's levels, most severe first. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A pino level (LOG_LEVEL). */
export function LogLevel(options: Options & { default?: (typeof LOG_LEVELS)[number] } = {}) {
  return OneOf(LOG_LEVELS, options);
}

/**
 * A PostgreSQL connection URL (postgres: or postgresql:). Its password, when it has one, is a
 * secret: in production `loadEnv` refuses it when short or published (see secrets.ts).
 */
export function PostgresUrl(options: Options & { default?: string } = {}): TString {
  return { ...Url(['postgres', 'postgresql'], options), passwordIsSecret: true } as unknown as TString;
}

/** A URL whose scheme is one of `protocols` (without the colon): `Url(['redis', 'rediss'])`. */
export function Url(protocols: readonly string[], options: Options & { default?: string } = {}): TString {
  return {
    type: 'string',
    ...options,
    format: `${URL_FORMAT_PREFIX}${protocols.join(',')}`,
  } as unknown as TString;
}

/**
 * Comma-separated web origins, e.g. a CORS allow-list: `https://app.example.com,http://localhost:5173`
 * (scheme, lower-case host, optional port; no path, no trailing slash, no `*`). Read the value
 * with `parseOrigins`.
 */
export function Origins(options: Options & { default?: string } = {}): TString {
  return { type: 'string', ...options, format: ORIGINS_FORMAT } as unknown as TString;
}

/**
 * A secret: never echoed in an error, and in production refused when shorter than
 * `MIN_SECRET_LENGTH` or equal to a published example (see secrets.ts). `writeOnly` is the
 * JSON Schema annotation for "may be given, never shown back".
 */
export function Secret(options: Options = {}): TString {
  return { type: 'string', minLength: 1, ...options, writeOnly: true } as unknown as TString;
}
