/**
 * Production rules for secrets, in one place. A variable declared with `Secret()`, and the password
 * inside a `PostgresUrl()`, are checked by `loadEnv` when NODE_ENV=production; `secretProblem` and
 * `urlPasswordProblem` are exported for secrets read without `loadEnv` (db-schema's role passwords
 * and CLI URLs).
 */
export const MIN_SECRET_LENGTH = 24;

/** Values published in this repository (infra/.env.example, dev defaults, docs). */
export const KNOWN_EXAMPLE_SECRETS: readonly string[] = [
  'dev-variant-seed',
  'change-me-inbound-secret',
  'change-me-variant-seed',
];

/** Any value containing one of these words is a placeholder someone forgot to replace. */
const PLACEHOLDER = /change-?me|example|placeholder/i;

/** Why `value` is not acceptable as a production secret, or undefined when it is. */
export function secretProblem(name: string, value: string): string | undefined {
  if (KNOWN_EXAMPLE_SECRETS.includes(value) || PLACEHOLDER.test(value)) {
    return `${name} is a published example value: set a secret of your own`;
  }
  if (value.length < MIN_SECRET_LENGTH) {
    return `${name} is too short for production (${MIN_SECRET_LENGTH} characters at least)`;
  }
  return undefined;
}

/**
 * Why the password inside `url` is not acceptable as a production secret, or undefined when it is
 * (a URL without a password, or one that does not parse, is not this rule's business). The
 * problem names the variable, never the value.
 */
export function urlPasswordProblem(name: string, url: string): string | undefined {
  let password: string;
  try {
    password = decodeURIComponent(new URL(url).password);
  } catch {
    return undefined;
  }
  return password ? secretProblem(`${name} (its password)`, password) : undefined;
}

/**
 * `value` as it may be shown in a message or a log: the password of a URL becomes `***`. A URL
 * may be refused only because its password holds an unencoded `/` or `+`, so when WHATWG parsing
 * fails, what follows `scheme://user:` up to the last `@` is masked instead.
 */
export function redactUrlPassword(value: string): string {
  try {
    const parsed = new URL(value);
    if (!parsed.password) return value;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:).*@/is, '$1***@');
  }
}
