import en from 'i18n-iso-countries/langs/en.json' with { type: 'json' };
import fr from 'i18n-iso-countries/langs/fr.json' with { type: 'json' };
import { fold } from './fold.js';
import { accept, type Outcome, refuse } from './outcome.js';
import { trimValue } from './text.js';

type Names = Record<string, string | string[]>;

/** ISO 3166-1 alpha-2 codes (i18n-iso-countries' list). */
export const COUNTRY_CODES: readonly string[] = Object.keys((en as { countries: Names }).countries).sort();

/** Names people write that the ISO lists spell otherwise. */
const ALIASES: Record<string, string> = {
  'etats-unis': 'US',
  'etats unis': 'US',
  angleterre: 'GB',
  hollande: 'NL',
  'republique tcheque': 'CZ',
  'coree du sud': 'KR',
};

/** Folded English and French names (official and aliases) → code: `allemagne` → `DE`. */
export const COUNTRY_NAMES: Readonly<Record<string, string>> = (() => {
  const names: Record<string, string> = {};
  for (const [name, code] of Object.entries(ALIASES)) names[fold(name)] = code;
  for (const locale of [en, fr] as Array<{ countries: Names }>) {
    for (const [code, name] of Object.entries(locale.countries)) {
      for (const one of Array.isArray(name) ? name : [name]) names[fold(one)] ??= code;
    }
  }
  return names;
})();

const CODES = new Set(COUNTRY_CODES);

/** A country, stored as its ISO alpha-2 code; English or French names are accepted. */
export function country(raw: string): Outcome {
  const value = trimValue(raw);
  const upper = value.toUpperCase();
  const code = /^[A-Za-z]{2}$/.test(value) && CODES.has(upper) ? upper : COUNTRY_NAMES[fold(value)];
  if (!code) return refuse('invalid_country', 'A country is an ISO code (FR) or its English or French name.');
  return accept(code);
}
