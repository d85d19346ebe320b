/**
 * `{{person.first_name}}`-style templates. The variable list is closed: the API refuses to save a
 * template with an unknown variable, and the worker's rendering of a known variable without a
 * value fails unless the template gives a fallback: `{{person.first_name | "there"}}`. Never
 * "Hello ,". One list for both, so what is accepted is exactly what can be rendered.
 */
export const TEMPLATE_VARIABLES = [
  'person.first_name',
  'person.last_name',
  'person.full_name',
  'company.name',
  'company.domain',
  'company.city',
  'company.industry',
  'company.website_url',
  'position.title',
  'position.email',
  'sender.name',
  'sender.email',
] as const;

export type TemplateVariable = (typeof TEMPLATE_VARIABLES)[number];
export type TemplateValues = Partial<Record<TemplateVariable, string | null | undefined>>;

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);
const TAG = /\{\{\s*([^{}|\s]+)\s*(?:\|\s*"([^"]*)"\s*)?\}\}/g;

export class TemplateError extends Error {
  override name = 'TemplateError';
  constructor(
    message: string,
    readonly variables: string[],
  ) {
    super(message);
  }
}

/** Variables a template uses that are not in TEMPLATE_VARIABLES, plus malformed tags. */
export function unknownVariables(template: string): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(TAG)) if (!KNOWN.has(match[1]!)) unknown.add(match[1]!);
  // A "{{" left after removing valid tags is a malformed tag.
  const leftovers = template.replace(TAG, '');
  if (leftovers.includes('{{') || leftovers.includes('}}')) unknown.add('(malformed tag)');
  return [...unknown];
}

export function render(template: string, values: TemplateValues): string {
  const bad = unknownVariables(template);
  if (bad.length) throw new TemplateError(`unknown template variables: ${bad.join(', ')}`, bad);
  const missing = new Set<string>();
  const out = template.replace(TAG, (_all, name: string, fallback: string | undefined) => {
    const value = values[name as TemplateVariable];
    if (value !== null && value !== undefined && String(value).trim() !== '') return String(value).trim();
    if (fallback !== undefined) return fallback;
    missing.add(name);
    return '';
  });
  if (missing.size) {
    throw new TemplateError(
      `missing values for template variables: ${[...missing].join(', ')} (add a fallback: {{var | "…"}})`,
      [...missing],
    );
  }
  return out;
}
