import fs from 'node:fs';
import { createTestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CatalogTable, readCatalog } from '../src/catalog.js';
import { diffPrismaAgainstCatalog, readDatamodel, SCHEMA_PATH } from './support/prisma-drift.js';

let catalog: CatalogTable[];
const schema = fs.readFileSync(SCHEMA_PATH, 'utf8');

beforeAll(async () => {
  const db = await createTestDatabase('drift');
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    catalog = await readCatalog(client);
  } finally {
    await client.end();
    await db.drop();
  }
});

describe('schema.prisma mirrors the SQL migrations', () => {
  it('has no difference from a freshly migrated catalogue', async () => {
    expect(catalog.length).toBeGreaterThan(20);
    expect(diffPrismaAgainstCatalog(await readDatamodel(schema), catalog)).toEqual([]);
  }, 60_000);

  it('reports every kind of difference in a mutated copy', async () => {
    const mutated = schema
      // nullability
      .replace(/^(\s+websiteUrl String)\?/m, '$1')
      // type
      .replace(/^(\s+employeeCount Int\?)/m, '  employeeCount BigInt?')
      // a dropped column
      .replace(/^\s+nafCode String\? @map\("naf_code"\)\n/m, '')
      // a dropped table
      .replace(/\nmodel Suppression \{[\s\S]*?\n\}\n/, '\n')
      .replace(/^\s+suppressions Suppression\[\].*\n/m, '')
      // a FK action
      .replace(
        /(@relation\("positions_organisation_id_person_id_fkey", fields: \[organisationId, personId\], references: \[organisationId, id\], onDelete: )Cascade/,
        '$1Restrict',
      );
    expect(mutated).not.toBe(schema);
    const problems = diffPrismaAgainstCatalog(await readDatamodel(mutated), catalog);
    expect(problems).toEqual(
      expect.arrayContaining([
        'crm.companies.website_url: nullable true in SQL, false in Prisma',
        'crm.companies.employee_count is integer but the model says BigInt',
        'crm.companies.naf_code is missing from model Company',
        'table outreach.suppressions has no Prisma model',
        expect.stringMatching(
          /^crm\.positions: FK \(organisation_id,person_id\) → crm\.people\(organisation_id,id\) ON DELETE Cascade/,
        ),
      ]),
    );
  }, 60_000);
});
