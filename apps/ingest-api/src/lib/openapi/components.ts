/**
 * Named schemas of the OpenAPI document (`components/schemas`). Route schemas stay plain TypeBox
 * objects, validated and serialized as written; only the document replaces a named object by a
 * `$ref`, matched by identity (TypeBox keeps the objects it composes), so naming a schema never
 * changes what the API accepts or answers.
 */
const names = new Map<object, string>();
const byName = new Map<string, object>();
/** `Page(item)` results, so a page of a named item is named too (`CompanyPage`). */
const pages = new WeakMap<object, object>();

/** Names each schema after its key: `named({ Company, Person })`. A name or schema used twice throws. */
export function named(schemas: Record<string, object>): void {
  for (const [name, schema] of Object.entries(schemas)) {
    const existing = names.get(schema);
    if (existing === name) continue;
    if (existing) throw new Error(`OpenAPI component ${name} is already named ${existing}`);
    if (byName.has(name)) throw new Error(`Two schemas are named ${name} in components/schemas`);
    names.set(schema, name);
    byName.set(name, schema);
  }
}

export function registerPage(page: object, item: object): void {
  pages.set(page, item);
}

export function componentName(schema: object): string | undefined {
  const name = names.get(schema);
  if (name) return name;
  const item = pages.get(schema);
  const itemName = item && names.get(item);
  return itemName ? `${itemName}Page` : undefined;
}

export const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * A copy of `value` where every named schema is a `$ref`; `use(name, schema)` is called for each
 * (the caller adds it to components/schemas). `keepTop`: the value itself is the component.
 */
export function withRefs(
  value: unknown,
  use: (name: string, schema: object) => void,
  keepTop = false,
): unknown {
  if (Array.isArray(value)) return value.map((item) => withRefs(item, use));
  if (value === null || typeof value !== 'object') return value;
  const name = keepTop ? undefined : componentName(value);
  if (name) {
    use(name, value);
    return schemaRef(name);
  }
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withRefs(item, use)]));
}
