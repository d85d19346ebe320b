import { readFileSync } from 'node:fs';
import { listImportErrors, resolveMapping } from '@prospectflow/import-engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PHAROW_HEADER, pharowRow, setupImportDb, toCsv } from './helpers.js';

let ctx: Awaited<ReturnType<typeof setupImportDb>>;

beforeAll(async () => {
  ctx = await setupImportDb('imports_pharow_ids');
});
afterAll(async () => {
  await ctx?.close();
});

/** A Pharow people export: the usual columns plus Pharow's company id and (generic) person id. */
const HEADER = [...PHAROW_HEADER, 'ID entreprise', 'Id Pharow'];
const row = (i: number, ids: [company: string, person: string], overrides: Record<string, string> = {}) => [
  ...pharowRow(i, overrides),
  ...ids,
];

describe('Pharow ids', () => {
  it('maps Pharow id headers: "ID Pharow" is the person in a people export, the company otherwise', () => {
    expect(resolveMapping(['Id Pharow', "Nom de l'entreprise", 'SIREN']).columns).toMatchObject({
      company_pharow_id: 0,
    });
    expect(resolveMapping(['Pharow ID', 'Email']).columns).toEqual({ person_pharow_id: 0, email: 1 });
    expect(resolveMapping(HEADER).columns).toMatchObject({
      company_pharow_id: HEADER.indexOf('ID entreprise'),
      person_pharow_id: HEADER.indexOf('Id Pharow'),
    });
    expect(resolveMapping(['ID contact Pharow', 'Identifiant entreprise']).columns).toEqual({
      person_pharow_id: 0,
      company_pharow_id: 1,
    });
  });

  it('stores them, and re-importing the same Pharow file updates instead of duplicating', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    const file = (overrides: Record<string, string> = {}) =>
      toCsv([
        HEADER,
        row(1, ['pc-1', 'pp-1'], overrides),
        row(2, ['pc-2', 'pp-2']),
        // No SIREN, no website and a free-mail address: only the Pharow id identifies the company.
        row(3, ['pc-3', 'pp-3'], { SIREN: '', 'Site web': '', Email: 'contact3@gmail.com' }),
      ]);
    const first = await ctx.importCsv(file());
    expect(first.outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 3, failed: 0 } });
    const again = await ctx.importCsv(file());
    expect(again.outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 3 } });

    // A later export: person pp-1 has a new email address and title, company pc-1 a new SIREN-less name.
    const later = await ctx.importCsv(
      file({ Email: 'new.contact1@societe1.fr', Poste: 'Présidente', "Nom de l'entreprise": 'Société Un' }),
    );
    expect(later.outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 3 } });

    expect(await ctx.count(tenant, 'crm.companies')).toBe(3);
    expect(await ctx.count(tenant, 'crm.people')).toBe(3);
    expect(await ctx.count(tenant, 'crm.positions')).toBe(3);
    const stored = await ctx.query<{ company: string; pharow_company_id: string; pharow_person_id: string }>(
      tenant,
      `SELECT c.name AS company, c.pharow_company_id, pe.pharow_person_id, p.email::text, p.title
         FROM crm.positions p JOIN crm.companies c ON c.id = p.company_id JOIN crm.people pe ON pe.id = p.person_id
        ORDER BY pe.pharow_person_id`,
    );
    expect(stored).toEqual([
      {
        company: 'Société Un',
        pharow_company_id: 'pc-1',
        pharow_person_id: 'pp-1',
        email: 'new.contact1@societe1.fr',
        title: 'Présidente',
      },
      expect.objectContaining({ pharow_company_id: 'pc-2', pharow_person_id: 'pp-2' }),
      expect.objectContaining({
        company: 'Société 3',
        pharow_company_id: 'pc-3',
        email: 'contact3@gmail.com',
      }),
    ]);
  });

  it('fills the id on a company or person already known by SIREN or email', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    await ctx.importCsv(toCsv([PHAROW_HEADER, pharowRow(4)]));
    const { outcome } = await ctx.importCsv(toCsv([HEADER, row(4, ['pc-4', 'pp-4'])]));
    expect(outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 1 } });
    expect(
      await ctx.query(
        tenant,
        'SELECT c.pharow_company_id, pe.pharow_person_id FROM crm.companies c, crm.people pe',
      ),
    ).toEqual([{ pharow_company_id: 'pc-4', pharow_person_id: 'pp-4' }]);
  });

  it('a Pharow id claimed twice in one file fails or skips the later row, never the import', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    const { outcome, importId } = await ctx.importCsv(
      toCsv([
        HEADER,
        row(5, ['pc-5', 'pp-5']),
        row(6, ['pc-5', 'pp-6']), // another SIREN with the same Pharow company id
        row(7, ['pc-7', 'pp-5']), // another email with the same Pharow person id
      ]),
    );
    expect(outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 1, skipped: 1, failed: 1 } });
    const { items } = await listImportErrors(ctx.pool, tenant, importId, { limit: 10 });
    expect(items.map((e) => [e.rowNumber, e.column, e.code])).toEqual([
      [3, 'ID entreprise', 'pharow_id_conflict'],
      [4, 'Id Pharow', 'duplicate_in_file'],
    ]);
    expect(await ctx.count(tenant, 'crm.companies')).toBe(1);
  });

  it('imports the documented sample file (docs/samples/pharow.csv) cleanly, twice', async () => {
    const tenant = await ctx.newOrganisation();
    ctx.tenant.organisationId = tenant.organisationId;
    const sample = readFileSync(new URL('../../docs/samples/pharow.csv', import.meta.url));
    const first = await ctx.importCsv(sample);
    expect(first.outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 3, failed: 0 } });
    const again = await ctx.importCsv(sample);
    expect(again.outcome).toMatchObject({ status: 'succeeded', counts: { inserted: 0, updated: 3 } });
    expect(await ctx.count(tenant, 'crm.companies')).toBe(2);
  });
});
