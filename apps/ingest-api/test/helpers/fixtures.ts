import { luhnValid } from '../../src/lib/validation.js';

/** A SIREN with a correct check digit, derived from `n` (distinct n → distinct SIREN). */
export function validSiren(n: number): string {
  const base = String(n % 100_000_000).padStart(8, '0');
  for (let digit = 0; digit <= 9; digit += 1) {
    const candidate = `${base}${digit}`;
    if (luhnValid(candidate)) return candidate;
  }
  throw new Error('unreachable: one check digit always fits');
}

/** The same SIREN with a wrong check digit. */
export function invalidSiren(n: number): string {
  const valid = validSiren(n);
  const last = (Number(valid[8]) + 1) % 10;
  return `${valid.slice(0, 8)}${last}`;
}
