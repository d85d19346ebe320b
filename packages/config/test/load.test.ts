import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  type Env,
  EnvObject,
  envUsage,
  Flag,
  Integer,
  LogLevel,
  loadAll,
  loadEnv,
  OneOf,
  Optional,
  PostgresUrl,
  type Rule,
  Secret,
  type Static,
  Text,
  Url,
} from '../src/index.js';

const Schema = EnvObject({
  NODE_ENV: OneOf(['development', 'test', 'production'], { default: 'development' }),
  DATABASE_URL: Url(['postgres', 'postgresql'], { description: 'role prospectflow_app' }),
  REDIS_URL: Optional(Url(['redis', 'rediss'])),
  PORT: Integer({ default: 3000, minimum: 0, maximum: 65_535 }),
  TRUST_PROXY: Flag({ default: false }),
  HOST: Text({ default: '0.0.0.0' }),
  WEBHOOK_SECRET: Optional(Secret({ description: 'HMAC key' })),
});
type Values = Static<typeof Schema>;

const redisInProduction: Rule<Values> = (values) =>
  values.NODE_ENV === 'production' && !values.REDIS_URL
    ? 'REDIS_URL is required when NODE_ENV=production'
    : undefined;

function problemsOf(env: Env, rules: Rule<Values>[] = [redisInProduction]): string[] {
  try {
    loadEnv(Schema, env, rules);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadEnv', () => {
  it('types values, applies defaults, treats blanks as unset and ignores undeclared variables', () => {
    const values = loadEnv(Schema, {
      DATABASE_URL: 'postgres://app@db/pf',
      PORT: ' 8080 ',
      TRUST_PROXY: 'Yes',
      REDIS_URL: '',
      UNRELATED: 'x',
    });
    expect(values).toEqual({
      NODE_ENV: 'development',
      DATABASE_URL: 'postgres://app@db/pf',
      PORT: 8080,
      TRUST_PROXY: true,
      HOST: '0.0.0.0',
    });
  });

  it('reports every problem at once, schema and rules together', () => {
    expect(
      problemsOf({
        NODE_ENV: 'production',
        PORT: 'eighty',
        TRUST_PROXY: 'maybe',
        HOST: ' ',
        REDIS_URL: 'http://r',
      }),
    ).toEqual([
      'DATABASE_URL is required (role prospectflow_app)',
      'REDIS_URL must be a URL using redis: or rediss: (got "http://r")',
      'PORT must be an integer (got "eighty")',
      'TRUST_PROXY must be true or false (got "maybe")',
    ]);
    expect(problemsOf({ NODE_ENV: 'staging', DATABASE_URL: 'postgres://a@b/c', PORT: '70000' })).toEqual([
      'NODE_ENV must be one of development, test, production (got "staging")',
      'PORT must be an integer between 0 and 65535 (got "70000")',
    ]);
  });

  it('runs the rules on the variables that did validate', () => {
    expect(problemsOf({ NODE_ENV: 'production', PORT: '-1', DATABASE_URL: 'postgres://a@b/c' })).toEqual([
      'PORT must be an integer between 0 and 65535 (got "-1")',
      'REDIS_URL is required when NODE_ENV=production',
    ]);
  });

  it('refuses short and published secrets in production without echoing them', () => {
    const base = { DATABASE_URL: 'postgres://a@b/c', REDIS_URL: 'redis://r' };
    expect(problemsOf({ ...base, WEBHOOK_SECRET: 'short' })).toEqual([]);
    const problems = problemsOf({ ...base, NODE_ENV: 'production', WEBHOOK_SECRET: 'short' });
    expect(problems).toEqual(['WEBHOOK_SECRET is too short for production (24 characters at least)']);
    expect(
      problemsOf({ ...base, NODE_ENV: 'production', WEBHOOK_SECRET: 'change-me-inbound-secret' }),
    ).toEqual(['WEBHOOK_SECRET is a published example value: set a secret of your own']);
    expect(problemsOf({ ...base, NODE_ENV: 'production', WEBHOOK_SECRET: 'k'.repeat(24) })).toEqual([]);
  });

  it("refuses a PostgresUrl's short or published password in production, never echoing it", () => {
    const Db = EnvObject({ NODE_ENV: Text({ default: 'development' }), DATABASE_URL: PostgresUrl() });
    const problems = (url: string, NODE_ENV = 'production') => {
      try {
        loadEnv(Db, { NODE_ENV, DATABASE_URL: url });
        return [];
      } catch (error) {
        expect((error as Error).message).not.toContain(new URL(url).password || '\u0000');
        return (error as ConfigError).problems;
      }
    };
    expect(problems('postgres://prospectflow_app:change-me-app@pgbouncer:6432/prospectflow')).toEqual([
      'DATABASE_URL (its password) is a published example value: set a secret of your own',
    ]);
    expect(problems('postgres://prospectflow_app:prospectflow_app@h/db')).toEqual([
      'DATABASE_URL (its password) is too short for production (24 characters at least)',
    ]);
    // Percent-encoded characters count once; no password (peer, certificate, PGPASSFILE) is not this rule's.
    expect(problems(`postgres://u:${encodeURIComponent('p@ss/word:'.repeat(3))}@h/db`)).toEqual([]);
    expect(problems('postgres://u@h/db')).toEqual([]);
    expect(problems('postgres://u:short@h/db', 'development')).toEqual([]);
  });

  it('never echoes the password of a URL it refuses (an unencoded / or + makes it no URL)', () => {
    const Db = EnvObject({ DATABASE_URL: PostgresUrl(), REDIS_URL: Url(['redis', 'rediss']) });
    const password = 'mt6kSh1Ndy/oNif1k8jky+AetdxfP@S51q=';
    try {
      loadEnv(Db, {
        DATABASE_URL: `postgres://prospectflow_app:${password}@pgbouncer:6432/prospectflow`,
        REDIS_URL: `redis://default:${password}@redis:6379`,
      });
      expect.unreachable();
    } catch (error) {
      expect((error as ConfigError).problems).toEqual([
        'DATABASE_URL must be a URL using postgres: or postgresql: (got "postgres://prospectflow_app:***@pgbouncer:6432/prospectflow")',
        'REDIS_URL must be a URL using redis: or rediss: (got "redis://default:***@redis:6379")',
      ]);
      expect((error as Error).message).not.toContain('oNif1k8jky');
    }
  });

  it('never prints a secret value in an error', () => {
    const secretSchema = EnvObject({ TOKEN: Secret(), COUNT: Integer({ minimum: 0, maximum: 9 }) });
    expect(() => loadEnv(secretSchema, { TOKEN: '', COUNT: 'hunter2-but-not-the-token' })).toThrow(
      /TOKEN is required/,
    );
    try {
      loadEnv(EnvObject({ TOKEN: Secret({ description: 'x' }) }), {
        TOKEN: 'sk_live_abc',
        NODE_ENV: 'production',
      });
    } catch (error) {
      expect((error as Error).message).not.toContain('sk_live_abc');
    }
  });

  it('prints the variables for --help', () => {
    const usage = envUsage(Schema);
    expect(usage).toContain('DATABASE_URL    role prospectflow_app (required)');
    expect(usage).toContain('PORT            (default 3000)');
    expect(usage).toContain('WEBHOOK_SECRET  HMAC key (secret)');
  });

  it('requires a variable in production only when it says so, with its description', () => {
    const Service = EnvObject({
      NODE_ENV: Text({ default: 'development' }),
      LOG_LEVEL: LogLevel({ default: 'info' }),
      DATABASE_URL: PostgresUrl(),
      SEED: Optional(Secret({ description: 'HMAC key', requiredInProduction: true })),
    });
    const base = { DATABASE_URL: 'postgresql://app@db/pf' };
    expect(loadEnv(Service, base)).toEqual({ NODE_ENV: 'development', LOG_LEVEL: 'info', ...base });
    expect(() => loadEnv(Service, { ...base, NODE_ENV: 'production', LOG_LEVEL: 'loud' })).toThrow(
      expect.objectContaining({
        problems: [
          'LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "loud")',
          'SEED is required in production (HMAC key)',
        ],
      }),
    );
    expect(() => loadEnv(Service, { DATABASE_URL: 'redis://x' })).toThrow(/postgres: or postgresql:/);
    expect(envUsage(Service)).toContain('SEED          HMAC key (required in production, secret)');
  });
});

describe('loadAll', () => {
  it("returns every loader's result, or one ConfigError with the problems of all of them", () => {
    const own = () => loadEnv(Schema, { DATABASE_URL: 'postgres://app@db/pf' });
    const [values, keys] = loadAll([own, () => 42]);
    expect(values.PORT).toBe(3000);
    expect(keys).toBe(42);
    const error = (() => {
      try {
        loadAll(
          [
            () => loadEnv(Schema, {}),
            () => {
              throw new Error('KEYS is required in production');
            },
          ],
          'test configuration',
        );
      } catch (caught) {
        return caught as ConfigError;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.problems).toEqual([
      'DATABASE_URL is required (role prospectflow_app)',
      'KEYS is required in production',
    ]);
    expect(error?.message).toMatch(/^Invalid test configuration:/);
  });
});
