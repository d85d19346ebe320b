/** Deterministic Pharow-style rows for benches and import tests (streamed, never built whole in memory). */
import { Readable } from 'node:stream';

export const HEADER = "Nom de l'entreprise;SIREN;Code NAF;Site web;Prénom;Nom;Poste;Email;Téléphone;Ville\n";

export function siren(prefix: number): string {
  const base = String(prefix).padStart(8, '0').slice(-8);
  for (let check = 0; check <= 9; check++) {
    const candidate = base + check;
    let sum = 0;
    for (let i = 0; i < 9; i++) {
      let d = Number(candidate[i]);
      if (i % 2 === 1) {
        d *= 2;
        if (d > 9) d -= 9;
      }
      sum += d;
    }
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}

/** Row i: one company per 4 contacts, so companies are shared like in real exports. */
export function line(i: number, padding = ''): string {
  const c = Math.floor(i / 4);
  return `Société ${c}${padding};${siren(10_000_000 + c)};62.01Z;www.societe${c}.fr;Prénom${i};Nom${i};Directeur;contact${i}@societe${c}.fr;06 12 ${String(i % 100).padStart(2, '0')} 34 56;Lyon\n`;
}

export function csvStream(rows: number, padding = ''): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i === 0) this.push(HEADER);
      let chunk = '';
      while (i < rows && chunk.length < 64 * 1024) chunk += line(i++, padding);
      this.push(chunk || null);
      if (i >= rows && chunk) this.push(null);
    },
  });
}
