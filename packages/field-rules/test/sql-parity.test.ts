import { createTestDatabase, type TestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIELD_RULES, presentValue, SQL_RULES, sqlPresent } from '../src/index.js';
import { CASES } from './cases.js';

/**
 * The CSV import applies the rules as set-based SQL; this runs every case of the table (plus
 * generated ones) through the TypeScript rule and its SQL twin and requires the same answer.
 */
let database: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  database = await createTestDatabase('field_rules_sql');
  client = new pg.Client({ connectionString: database.adminUrl });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

async function throughSql(rule: keyof typeof SQL_RULES, raws: string[]): Promise<Array<string | null>> {
  const { rows } = await client.query<{ stored: string | null }>(
    `SELECT (SELECT ${SQL_RULES[rule]('v')} FROM (SELECT ${sqlPresent('raw')} AS v) AS p) AS stored
       FROM unnest($1::text[]) WITH ORDINALITY AS c(raw, n) ORDER BY n`,
    [raws],
  );
  return rows.map((r) => r.stored);
}

const throughTs = (rule: keyof typeof SQL_RULES, raw: string) => {
  const present = presentValue(raw);
  if (present === null) return null;
  const outcome = FIELD_RULES[rule](present);
  return outcome.ok ? outcome.value : null;
};

/** Deterministic pseudo-random inputs: digits with separators, hosts, addresses, names. */
function generated(rule: keyof typeof SQL_RULES): string[] {
  let seed = 42;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pick = (alphabet: string, length: number) =>
    Array.from({ length }, () => alphabet[next(alphabet.length)]).join('');
  const out: string[] = [];
  for (let i = 0; i < 300; i++) {
    if (rule === 'siren' || rule === 'siret') out.push(pick('0123456789  .-', rule === 'siren' ? 11 : 16));
    else if (rule === 'naf') out.push(pick('0123456789.zZA ', 6));
    else if (rule === 'email') out.push(`${pick('aB.+_-9', 5)}@${pick('ab-.9', 6)}.${pick('frFR-', 2)}`);
    else if (rule === 'url' || rule === 'domain')
      out.push(
        `${['', 'http://', 'HTTPS://', 'www.', 'ftp://'][next(5)]}${pick('abZ-9._@', 7)}.${pick('fr', 2)}${['', '/x', ':80', '?q=1', ' a'][next(5)]}`,
      );
    else out.push(pick('FRDEBUSfrance ', 2 + next(6)));
  }
  return out;
}

describe('SQL twins answer like the TypeScript rules', () => {
  for (const rule of Object.keys(SQL_RULES) as Array<keyof typeof SQL_RULES>) {
    it(rule, async () => {
      const raws = [...CASES[rule].map(([raw]) => raw), ...generated(rule)];
      const sql = await throughSql(rule, raws);
      const mismatches = raws
        .map((raw, i) => ({ raw, ts: throughTs(rule, raw), sql: sql[i] }))
        .filter((r) => r.ts !== r.sql);
      expect(mismatches).toEqual([]);
      // The table's expectations hold on the SQL side too.
      for (const [i, [, stored]] of CASES[rule].entries()) expect(sql[i], CASES[rule][i]![0]).toBe(stored);
    });
  }
});
