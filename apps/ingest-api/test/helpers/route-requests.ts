import { randomUUID } from 'node:crypto';

/** Route pattern with its `:params` replaced by `values[param]`, or a fresh uuid when unknown. */
export function fillPath(url: string, values: Record<string, string> = {}): string {
  return url
    .replace(/:([A-Za-z0-9_]+)/g, (_, name: string) => values[name] ?? randomUUID())
    .replace(/\*$/, 'x');
}

export function pathParams(url: string): string[] {
  return [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((match) => match[1]!);
}

type Schema = Record<string, unknown>;

/**
 * A plausible body for a JSON schema: every property (optional ones too), null where allowed
 * (so format checks cannot fail first), uuids from `ids` by property name.
 */
export function sampleBody(schema: unknown, ids: Record<string, string> = {}, name = ''): unknown {
  if (!schema || typeof schema !== 'object') return undefined;
  const s = schema as Schema;
  if (s.default !== undefined) return s.default;
  if (s.const !== undefined) return s.const;
  if (Array.isArray(s.enum)) return s.enum[0];
  const types = Array.isArray(s.type) ? (s.type as string[]) : s.type ? [s.type as string] : [];
  if (types.includes('null')) return null;
  const variants = (s.anyOf ?? s.oneOf) as Schema[] | undefined;
  if (variants) {
    const nullVariant = variants.find((v) => v.type === 'null');
    return nullVariant ? null : sampleBody(variants[0], ids, name);
  }
  switch (types[0]) {
    case 'object': {
      const properties = (s.properties ?? {}) as Record<string, Schema>;
      return Object.fromEntries(
        Object.entries(properties).map(([key, value]) => [key, sampleBody(value, ids, key)]),
      );
    }
    case 'array':
      return Array.from({ length: Number(s.minItems ?? 0) }, () => sampleBody(s.items, ids, name));
    case 'integer':
    case 'number':
      return Number(s.minimum ?? 1);
    case 'boolean':
      return false;
    case 'string': {
      if (s.format === 'uuid') return ids[name] ?? randomUUID();
      if (s.format === 'email') return `matrix-${randomUUID().slice(0, 8)}@example.test`;
      if (s.format === 'date-time') return new Date().toISOString();
      if (s.format === 'uri' || s.format === 'url') return 'https://example.test/';
      return 'x'.repeat(Math.max(1, Number(s.minLength ?? 1)));
    }
    default:
      return undefined;
  }
}
