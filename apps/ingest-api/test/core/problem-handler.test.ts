import Fastify from 'fastify';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { serverOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { conflict } from '../../src/lib/problem.js';
import { registerProblemHandlers } from '../../src/lib/problem-handler.js';

function appThrowing(error: () => unknown) {
  const app = Fastify();
  registerProblemHandlers(app);
  app.get('/boom', async () => {
    throw error();
  });
  return app;
}

describe('problem handler', () => {
  it('hides the message of an unexpected error behind 500 internal_error', async () => {
    const app = appThrowing(() => new Error('secret: password=hunter2'));
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(500);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.json()).toMatchObject({
      code: 'internal_error',
      status: 500,
      instance: String(res.json().instance),
    });
    expect(res.body).not.toContain('hunter2');
    expect(res.body).not.toContain('stack');
  });

  it('keeps the code and extensions of a ProblemError', async () => {
    const app = appThrowing(() =>
      conflict('company_siren_taken', 'Taken.', '11111111-1111-4111-8111-111111111111'),
    );
    const res = await app.inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      type: 'https://docs.prospectflow.dev/problems/company-siren-taken',
      title: 'Conflict',
      status: 409,
      detail: 'Taken.',
      code: 'company_siren_taken',
      existingId: '11111111-1111-4111-8111-111111111111',
      instance: expect.any(String),
    });
  });

  it('maps real PostgreSQL errors without echoing their message', async () => {
    // pg's own error class, with the fields a server fills in.
    const errorFrom = async (message: string) => new pg.DatabaseError(`server said: ${message}`, 0, 'error');
    const unique = await errorFrom('duplicate key value (siren)=(123)');
    Object.assign(unique, {
      code: '23505',
      constraint: 'companies_organisation_id_siren_key',
      severity: 'ERROR',
    });
    const res = await appThrowing(() => unique).inject({ method: 'GET', url: '/boom' });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({
      code: 'unique_violation',
      constraint: 'companies_organisation_id_siren_key',
    });
    expect(res.body).not.toContain('123');

    const timeout = await errorFrom('canceling statement due to statement timeout');
    Object.assign(timeout, { code: '57014', severity: 'ERROR' });
    const slow = await appThrowing(() => timeout).inject({ method: 'GET', url: '/boom' });
    expect(slow.statusCode).toBe(503);
    expect(slow.json().code).toBe('database_timeout');
  });

  it("answers a URL the router cannot decode with 400 bad_url problem+json, not Fastify's own body", async () => {
    // The service's own server options (frameworkErrors), as buildApp uses them.
    const config = loadConfig({
      DATABASE_URL: 'postgres://prospectflow_app:x@db/prospectflow',
      AUTH_MODE: 'dev',
    });
    const app = Fastify(serverOptions({ ...config, logLevel: 'silent' }));
    registerProblemHandlers(app);
    app.get('/v1/companies/:id', async () => ({ ok: true }));
    for (const url of ['/v1/companies/%E0%A4%A', '/v1/companies/%zz?token=abc']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 400, code: 'bad_url' });
      // The refused URL is not echoed back (it may hold a token or an address).
      expect(res.body).not.toContain('%E0');
      expect(res.body).not.toContain('abc');
    }
    await app.close();
  });

  it('answers unknown routes with 404 route_not_found', async () => {
    const res = await appThrowing(() => new Error('x')).inject({ method: 'GET', url: '/missing?q=1' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: 'route_not_found', detail: 'No route GET /missing.' });
  });
});
