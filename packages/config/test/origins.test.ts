import { describe, expect, it } from 'vitest';
import { ConfigError, EnvObject, isOrigin, loadEnv, Optional, Origins, parseOrigins } from '../src/index.js';

const Schema = EnvObject({ CORS_ORIGINS: Optional(Origins({ description: 'browser origins' })) });

function load(value: string | undefined) {
  try {
    return parseOrigins(loadEnv(Schema, { CORS_ORIGINS: value }).CORS_ORIGINS);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('Origins()', () => {
  it('reads a comma-separated list of origins; unset is none', () => {
    expect(load(undefined)).toEqual([]);
    expect(load(' ')).toEqual([]);
    expect(load('https://app.example.com, http://localhost:5173,https://app.example.com')).toEqual([
      'https://app.example.com',
      'http://localhost:5173',
    ]);
  });

  it.each([
    ['*'],
    ['https://app.example.com/'],
    ['https://app.example.com/path'],
    ['https://App.example.com'],
    ['app.example.com'],
    ['ftp://files.example.com'],
    ['https://app.example.com:443'],
    ['https://ok.example.com,null'],
    [','],
  ])('refuses %s with one message naming the variable', (value) => {
    expect(load(value)).toEqual([
      `CORS_ORIGINS must be comma-separated origins like https://app.example.com (scheme://host[:port], lower case, no path, no trailing slash, no *) (got "${value.trim()}")`,
    ]);
  });

  it('isOrigin is the browser serialisation', () => {
    expect(isOrigin('http://127.0.0.1:8080')).toBe(true);
    expect(isOrigin('https://[::1]:8443')).toBe(true);
    expect(isOrigin('https://app.example.com:443')).toBe(false);
  });
});
