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
  // Art. 14 GDPR: the organisation's notice (set in its privacy settings), where the record came
  // from, and the link to the full privacy notice. A message that renders privacy.notice records
  // that the person was informed (crm.positions.art14_notified_at).
  'privacy.notice',
  'privacy.source',
  'privacy.notice_url',
] as const;

/** The variables a notice text may itself use (it is rendered before it is put in a message). */
export const NOTICE_VARIABLES = TEMPLATE_VARIABLES.filter((name) => name !== 'privacy.notice');

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
  return unknownAmong(template, KNOWN);
}

/** Same for an Art. 14 notice text, which may not embed itself. */
export function unknownNoticeVariables(notice: string): string[] {
  return unknownAmong(notice, new Set(NOTICE_VARIABLES));
}

/** Whether a template uses `variable` (e.g. to fetch what only some templates need). */
export function usesVariable(template: string, variable: TemplateVariable): boolean {
  for (const match of template.matchAll(TAG)) if (match[1] === variable) return true;
  return false;
}

function unknownAmong(template: string, known: ReadonlySet<string>): string[] {
  const unknown = new Set<string>();
  for (const match of template.matchAll(TAG)) if (!known.has(match[1]!)) unknown.add(match[1]!);
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
