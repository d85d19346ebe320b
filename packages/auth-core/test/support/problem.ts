import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { CLIENT_ID, ISSUER, mainKey, otherKey } from './keys.js';

/** Asserts an RFC 9457 auth answer with the given status and code, leaking nothing internal. */
export function expectProblem(response: LightMyRequestResponse, status: number, code: string): void {
  const body = response.json();
  expect({ status: response.statusCode, code: body.code }).toEqual({ status, code });
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(body).toMatchObject({
    status,
    code,
    type: expect.stringMatching(/^https:\/\//),
    title: expect.any(String),
    detail: expect.any(String),
  });
  expect(body.instance).toEqual(expect.any(String));
  for (const secret of [mainKey.kid, otherKey.kid, CLIENT_ID, ISSUER, 'amazonaws', ' at ']) {
    expect(response.body).not.toContain(secret);
  }
  if (status === 401) expect(response.headers['www-authenticate']).toMatch(/^Bearer realm="prospectflow"/);
  if (status === 503) expect(Number(response.headers['retry-after'])).toBeGreaterThan(0);
}
