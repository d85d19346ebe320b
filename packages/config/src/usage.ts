import type { TObject, TSchema } from 'typebox';

type Property = TSchema & {
  description?: string;
  default?: unknown;
  writeOnly?: boolean;
  requiredInProduction?: boolean;
};

/** The variables a schema reads, one per line with default and description: the `--help` text. */
export function envUsage(schema: TObject): string {
  const required = new Set(schema.required ?? []);
  const rows = Object.entries(schema.properties as Record<string, Property>).map(([name, property]) => {
    const facts = [
      required.has(name) && property.default === undefined ? 'required' : undefined,
      property.requiredInProduction ? 'required in production' : undefined,
      property.default === undefined ? undefined : `default ${String(property.default)}`,
      property.writeOnly ? 'secret' : undefined,
    ].filter(Boolean);
    const detail = [property.description, facts.length > 0 ? `(${facts.join(', ')})` : undefined];
    return [name, detail.filter(Boolean).join(' ')] as const;
  });
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, detail]) => `  ${name.padEnd(width)}  ${detail}`.trimEnd()).join('\n');
}
