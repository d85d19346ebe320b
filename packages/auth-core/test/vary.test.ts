import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StaticJwksFetcher } from '../src/jwks-fetchers.js';
import { authenticatePlugin } from '../src/plugins/authenticate.js';
import { appendVary } from '../src/vary.js';
import { createTokenVerifier } from '../src/verifier.js';
import { accessClaims, jwksFor, mainKey, sign, testConfig } from './support/keys.js';

/** Vary as a list of lower-case names. */
const varyOf = (value: unknown) =>
  String(value ?? '')
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify({ logger: false });
  // What @fastify/cors does in its onRequest hook, before authentication runs.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('vary', 'Origin');
  });
  const verifier = createTokenVerifier(testConfig(), {
    fetcher: new StaticJwksFetcher(() => jwksFor(mainKey)),
  });
  await app.register(authenticatePlugin, { verifier, hydrate: false });
  app.get('/me', async (request) => ({ sub: request.auth?.sub }));
  await app.ready();
});
afterAll(async () => {
  await app?.close();
});

describe('Vary on authenticated answers', () => {
  it('adds Authorization to the Vary already set (Origin, by CORS) on a 200 and a 401', async () => {
    const ok = await app.inject({
      url: '/me',
      headers: { authorization: `Bearer ${sign(accessClaims())}` },
    });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(varyOf(ok.headers.vary)).toEqual(['origin', 'authorization']);

    const refused = await app.inject({ url: '/me' });
    expect(refused.statusCode).toBe(401);
    expect(varyOf(refused.headers.vary)).toEqual(['origin', 'authorization']);
  });
});

describe('appendVary', () => {
  const run = async (initial: string | undefined, ...names: string[]) => {
    const bare = Fastify({ logger: false });
    bare.get('/', async (_request, reply) => {
      if (initial !== undefined) reply.header('vary', initial);
      appendVary(reply, ...names);
      return 'ok';
    });
    const response = await bare.inject({ url: '/' });
    await bare.close();
    return response.headers.vary;
  };

  it('keeps what is there, adds each name once in any case, and leaves * alone', async () => {
    expect(await run(undefined, 'Authorization')).toBe('Authorization');
    expect(await run('Origin', 'Authorization', 'X-Organisation-Id')).toBe(
      'Origin, Authorization, X-Organisation-Id',
    );
    expect(await run('Origin, authorization', 'Authorization', 'Accept-Language')).toBe(
      'Origin, authorization, Accept-Language',
    );
    expect(await run('*', 'Authorization')).toBe('*');
    expect(await run('Origin', '*')).toBe('*');
  });
});
