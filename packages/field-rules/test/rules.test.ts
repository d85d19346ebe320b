import { describe, expect, it } from 'vitest';
import {
  FIELD_RULES,
  type FieldRuleName,
  FOLD_FROM,
  FOLD_TO,
  hostOf,
  luhnValid,
  presentValue,
  sirenOfSiret,
  siretMatchesSiren,
} from '../src/index.js';
import { CASES } from './cases.js';

describe('field rules (TypeScript)', () => {
  for (const [name, cases] of Object.entries(CASES) as Array<
    [FieldRuleName, (typeof CASES)[FieldRuleName]]
  >) {
    it.each(cases)(`${name}(%j) → %j`, (raw, stored) => {
      const outcome = FIELD_RULES[name](raw);
      expect(outcome.ok ? outcome.value : null).toBe(stored);
      if (!outcome.ok) expect(outcome.code).toMatch(/^invalid_/);
    });
  }

  it('normal forms are fixed points: storing a stored value again changes nothing', () => {
    for (const [name, cases] of Object.entries(CASES) as Array<
      [FieldRuleName, (typeof CASES)[FieldRuleName]]
    >) {
      for (const [, stored] of cases) {
        if (stored === null) continue;
        const again = FIELD_RULES[name](stored);
        expect(again.ok ? again.value : null, `${name}(${stored})`).toBe(stored);
      }
    }
  });

  it('trims exactly what String#trim trims (the SQLite import reads text with it)', () => {
    for (let code = 0; code <= 0xffff; code++) {
      const c = String.fromCharCode(code);
      if (code >= 0xd800 && code <= 0xdfff) continue;
      expect(presentValue(`${c}x${c}`), `U+${code.toString(16)}`).toBe(`${c}x${c}`.trim());
    }
  });

  it('the fold table maps each character to exactly one', () => {
    expect([...FOLD_FROM].length).toBe([...FOLD_TO].length);
  });

  it('Luhn, SIRET ↔ SIREN, host of a URL, blank values', () => {
    expect(luhnValid('552100554')).toBe(true);
    expect(luhnValid('552100555')).toBe(false);
    expect(siretMatchesSiren('55210055400013', '552100554')).toBe(true);
    expect(siretMatchesSiren('73282932000074', '552100554')).toBe(false);
    expect(sirenOfSiret('55210055400013')).toBe('552100554');
    // The SIRET's check digit holds, its first 9 digits' does not: no SIREN to store.
    expect(sirenOfSiret('55210055500002')).toBeNull();
    expect(hostOf('https://www.Acme.fr/x')).toBe('acme.fr');
    expect(hostOf('https://www.fr')).toBeUndefined();
    expect(presentValue(' \u00a0 ')).toBeNull();
    expect(presentValue(undefined)).toBeNull();
  });
});
