import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('config', () => {
  it('reports every problem at once', () => {
    let error: unknown;
    try {
      loadConfig({ NODE_ENV: 'production', PORT: 'eighty', REDIS_URL: 'http://x', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toContain('DATABASE_URL is required');
    expect(problems).toContain('REDIS_URL must use redis: or rediss:');
    expect(problems).toContain('PORT must be an integer');
    expect(problems).toContain('LOG_LEVEL must be one of');
  });

  it('applies defaults and parses values', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://prospectflow_app:x@db/prospectflow',
      TRUST_PROXY: 'true',
      BODY_LIMIT_BYTES: '2048',
    });
    expect(config).toMatchObject({
      nodeEnv: 'development',
      host: '0.0.0.0',
      port: 3000,
      trustProxy: true,
      bodyLimitBytes: 2048,
      redisUrl: undefined,
      rateLimitMax: 600,
    });
  });

  it('requires REDIS_URL in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production', DATABASE_URL: 'postgres://a@b/c' })).toThrow(
      /REDIS_URL is required/,
    );
  });
});
