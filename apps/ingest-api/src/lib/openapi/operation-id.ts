/**
 * operationIds, derived from the method and path so every route has one without writing it
 * (a route may still set `schema.operationId`). Generated clients name their functions after
 * them, so they must stay unique: the document is refused otherwise (see document.ts).
 *   GET /v1/companies → listCompanies, POST /v1/companies → createCompany,
 *   GET|PATCH|DELETE /v1/companies/:id → getCompany | updateCompany | deleteCompany,
 *   POST /v1/campaigns/:id/activate → activateCampaign, GET /v1/campaigns/:id/stats → getCampaignStats.
 */

/** Where the rule gives a poor name. */
const OVERRIDES: Record<string, string> = {
  'GET /openapi.json': 'getOpenApiDocument',
  'GET /ready': 'getReadiness',
  'GET /t/:file': 'getTrackingPixel',
  'GET /u/:token': 'getUnsubscribePage',
  'POST /u/:token': 'unsubscribe',
  'POST /u/:token/erasure': 'requestErasureFromUnsubscribePage',
  'GET /v1/audit': 'listAuditEntries',
  'POST /v1/inbound': 'receiveInboundEvent',
};

/** Words ending in s that are not plurals. */
const SINGULAR_WORDS = new Set(['stats', 'settings', 'status', 'metrics', 'news', 'address']);

function singular(word: string): string {
  if (SINGULAR_WORDS.has(word)) return word;
  if (word.endsWith('people') || word.endsWith('People'))
    return `${word.slice(0, -6)}${word.endsWith('people') ? 'person' : 'Person'}`;
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(x|ch|sh|ss)es$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

const isPlural = (word: string) => singular(word) !== word;
const camel = (segment: string) =>
  segment.replace(/[^A-Za-z0-9]+([A-Za-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (words: string[]) => words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
const isParam = (segment: string) => segment.startsWith(':') || segment.startsWith('{');

const VERBS: Record<string, { item: string; collection: string }> = {
  GET: { item: 'get', collection: 'get' },
  POST: { item: 'post', collection: 'create' },
  PUT: { item: 'replace', collection: 'replace' },
  PATCH: { item: 'update', collection: 'update' },
  DELETE: { item: 'delete', collection: 'delete' },
};

/** `url` in Fastify's form (`/v1/companies/:id`). */
export function operationIdFor(method: string, url: string): string {
  const override = OVERRIDES[`${method} ${url}`];
  if (override) return override;
  const parts = url.split('/').filter((part) => part && part !== 'v1');
  const words = parts.filter((part) => !isParam(part)).map(camel);
  const last = words.at(-1) ?? 'root';
  const endsWithParam = parts.length > 0 && isParam(parts.at(-1)!);
  const verbs = VERBS[method] ?? { item: method.toLowerCase(), collection: method.toLowerCase() };
  // POST /campaigns/:id/activate: an action on one resource.
  if (method === 'POST' && !endsWithParam && parts.length >= 2 && isParam(parts.at(-2)!) && !isPlural(last)) {
    return `${last}${pascal(words.slice(0, -1).map(singular))}`;
  }
  if (method === 'GET' && !endsWithParam && isPlural(last)) {
    return `list${pascal([...words.slice(0, -1).map(singular), last])}`;
  }
  const verb = endsWithParam ? verbs.item : verbs.collection;
  return `${verb}${pascal(words.map(singular))}`;
}
