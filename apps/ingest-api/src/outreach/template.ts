/**
 * Template variables accepted at save time. Identical to apps/worker/src/outreach/template.ts
 * (the worker renders them); test/outreach/template-parity.test.ts fails if the lists drift.
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

const KNOWN = new Set<string>(TEMPLATE_VARIABLES);
const TAG = /\{\{\s*([^{}|\s]+)\s*(?:\|\s*"([^"]*)"\s*)?\}\}/g;

/** Unknown variables and malformed tags in a template ([] when it is valid). */
export function unknownVariables(template: string): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(TAG)) if (!KNOWN.has(match[1]!)) unknown.add(match[1]!);
  const leftovers = template.replace(TAG, '');
  if (leftovers.includes('{{') || leftovers.includes('}}')) unknown.add('(malformed tag)');
  return [...unknown];
}
