/**
 * The explicit list of routes that answer without a bearer token. A route marked
 * `config: { auth: false }` that matches none of these refuses to register (the app fails at
 * boot), so nothing becomes public by accident. Add entries here in review, nowhere else.
 */
export interface PublicRoute {
  method: string | '*';
  /** Exact route pattern, or a prefix when it ends with `*`. */
  url: string;
  why: string;
}

export const PUBLIC_ROUTES: readonly PublicRoute[] = [
  {
    method: 'OPTIONS',
    url: '*',
    why: 'CORS preflight, answered by @fastify/cors before auth (CORS_ORIGINS only)',
  },
  { method: 'GET', url: '/health', why: 'liveness probe' },
  { method: 'GET', url: '/ready', why: 'readiness probe' },
  { method: 'GET', url: '/metrics', why: 'Prometheus scrape; keep it off the public ingress' },
  { method: 'GET', url: '/openapi.json', why: 'API description' },
  { method: '*', url: '/docs*', why: 'Swagger UI' },
  { method: 'GET', url: '/.well-known/jwks.json', why: 'dev issuer keys (AUTH_MODE=dev only)' },
  { method: 'GET', url: '/t/*', why: 'tracking pixel (token in the URL)' },
  { method: '*', url: '/u/*', why: 'unsubscribe page and RFC 8058 one-click POST (token in the URL)' },
  { method: 'POST', url: '/v1/inbound', why: 'mail provider webhook, authenticated by HMAC signature' },
  { method: 'POST', url: '/v1/inbound/*', why: 'mail provider webhooks, authenticated by HMAC signature' },
];

function matches(entry: PublicRoute, method: string, url: string): boolean {
  // Fastify's automatic HEAD twin of a GET route shares its policy.
  const effective = method === 'HEAD' ? 'GET' : method;
  if (entry.method !== '*' && entry.method !== effective && entry.method !== method) return false;
  return entry.url.endsWith('*') ? url.startsWith(entry.url.slice(0, -1)) : url === entry.url;
}

export function isListedPublicRoute(method: string, url: string): boolean {
  return PUBLIC_ROUTES.some((entry) => matches(entry, method, url));
}
