import type { Fetcher } from 'aws-jwt-verify/https';
import type { Jwks } from 'aws-jwt-verify/jwk';

/**
 * Serves every pool's JWKS from one URL (AUTH_JWKS_URL): the dev issuer's
 * `/.well-known/jwks.json` or a test server. Uses global fetch, so plain http works for local use.
 */
export class UrlJwksFetcher implements Fetcher {
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
  ) {}

  async fetch(): Promise<ArrayBuffer> {
    const response = await globalThis.fetch(this.url, {
      signal: AbortSignal.timeout(this.timeoutMs),
      headers: { accept: 'application/json' },
      redirect: 'error',
    });
    if (!response.ok) throw new Error(`JWKS fetch from ${this.url} answered ${response.status}`);
    return await response.arrayBuffer();
  }
}

/** Serves an in-memory JWKS (the dev issuer's, or a test's); the provider may throw to fake an outage. */
export class StaticJwksFetcher implements Fetcher {
  fetchCount = 0;

  constructor(private readonly provide: () => Jwks | Promise<Jwks>) {}

  async fetch(): Promise<ArrayBuffer> {
    this.fetchCount += 1;
    const jwks = await this.provide();
    return new TextEncoder().encode(JSON.stringify(jwks)).buffer as ArrayBuffer;
  }
}
