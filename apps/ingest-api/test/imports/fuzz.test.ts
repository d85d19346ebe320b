import fc from 'fast-check';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { PHAROW_HEADER, pharowRow } from './helpers.js';
import { type ImportBody, multipart, waitForImport } from './http-helpers.js';

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'imports_fuzz' });
  user = await t.signUp();
});
afterAll(async () => {
  await t?.close();
});

async function crmCounts(): Promise<number[]> {
  const { rows } = await t.admin.query(
    `SELECT (SELECT count(*) FROM crm.companies WHERE organisation_id = $1)::int AS c,
            (SELECT count(*) FROM crm.people WHERE organisation_id = $1)::int AS p,
            (SELECT count(*) FROM crm.positions WHERE organisation_id = $1)::int AS s`,
    [user.organisationId],
  );
  return [rows[0].c, rows[0].p, rows[0].s];
}

const nasty = fc.oneof(
  fc.constantFrom(
    '=cmd()',
    '=HYPERLINK("http://x")',
    '+33 6 12 34 56 78',
    '-2+3',
    '@SUM(A1)',
    '\t=1',
    '-',
    '"',
    '""',
    'a"b',
    ';',
    ',',
  ),
  fc.constantFrom('é', 'ü', '€', '\u00a0', '\r\n', '\n', '\u0000', '\uFEFF'),
  fc.string({ maxLength: 30 }),
  fc.constant('x'.repeat(12_000)),
  fc.integer({ min: 0, max: 5000 }).map((i) => pharowRow(i)[7]!),
);

/** A CSV-ish file: real, partial or junk headers; cells valid, nasty or huge; quoting sometimes broken. */
const csvFile = fc
  .record({
    header: fc.oneof(
      fc.constant(PHAROW_HEADER),
      fc.subarray(PHAROW_HEADER, { minLength: 1 }),
      fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 6 }),
    ),
    rows: fc.array(
      fc.record({
        base: fc.integer({ min: 0, max: 50 }),
        mutate: fc.array(fc.tuple(fc.nat(12), nasty), { maxLength: 3 }),
      }),
      { maxLength: 12 },
    ),
    delimiter: fc.constantFrom(';', ','),
    quote: fc.boolean(),
    encoding: fc.constantFrom('utf8', 'utf8-bom', 'win1252', 'utf16le', 'garbage'),
  })
  .map(({ header, rows, delimiter, quote, encoding }) => {
    const cell = (c: string) => (quote ? `"${c.replace(/"/g, '""')}"` : c);
    const lines = [header.map(cell).join(delimiter)];
    for (const { base, mutate } of rows) {
      const values = pharowRow(base).slice(0, Math.max(header.length, 1));
      for (const [index, value] of mutate) values[index % values.length] = value;
      lines.push(values.map(cell).join(delimiter));
    }
    const text = `${lines.join('\n')}\n`;
    if (encoding === 'utf8-bom') return Buffer.from(`\uFEFF${text}`);
    if (encoding === 'win1252') return iconv.encode(text, 'win1252');
    if (encoding === 'utf16le')
      return Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(text, 'utf16le')]);
    if (encoding === 'garbage')
      return Buffer.concat([Buffer.from(text), Buffer.from([0xff, 0xfe, 0x00, 0xc3])]);
    return Buffer.from(text);
  });

describe('fuzzed imports', () => {
  it('never answer 5xx and never import partially (CSV)', async () => {
    await fc.assert(
      fc.asyncProperty(csvFile, async (file) => {
        const before = await crmCounts();
        const response = await t.request(user, { method: 'POST', url: '/v1/imports', ...multipart(file) });
        expect(response.statusCode, response.body).toBeLessThan(500);
        if (response.statusCode >= 400) {
          expect(response.headers['content-type']).toContain('application/problem+json');
          expect(await crmCounts()).toEqual(before);
          return;
        }
        const done = await waitForImport(t, user, (response.json() as ImportBody).id);
        if (response.statusCode === 200) return; // same content as an earlier run: the earlier import
        if (done.status === 'failed') {
          expect(done.error?.code).toMatch(/^[a-z_]+$/);
          expect(await crmCounts()).toEqual(before);
          return;
        }
        const { inserted, updated, skipped, failed } = done.counts;
        expect(inserted + updated + skipped + failed).toBe(done.progress.rowsTotal);
        const after = await crmCounts();
        expect(after[2]! - before[2]!).toBeLessThanOrEqual(inserted);
      }),
      { numRuns: 40, seed: 20_261_122 },
    );
  });

  it('never answer 5xx for arbitrary JSON bodies', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.array(fc.jsonValue(), { maxLength: 8 }), fc.jsonValue()), async (body) => {
        const before = await crmCounts();
        const response = await t.request(user, {
          method: 'POST',
          url: '/v1/imports',
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        expect(response.statusCode, response.body).toBeLessThan(500);
        if (response.statusCode === 202) {
          const done = await waitForImport(t, user, (response.json() as ImportBody).id);
          if (done.status === 'failed') expect(await crmCounts()).toEqual(before);
        } else if (response.statusCode >= 400) {
          expect(await crmCounts()).toEqual(before);
        }
      }),
      { numRuns: 40, seed: 20_261_122 },
    );
  });
});
