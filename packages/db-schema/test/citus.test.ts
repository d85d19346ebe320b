import { createTestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { beforeAll, expect, it } from 'vitest';
import { type CatalogTable, readCatalog } from '../src/catalog.js';
import { citusProblems } from '../src/validation/citus.js';

let catalog: CatalogTable[];

beforeAll(async () => {
  const db = await createTestDatabase('citus');
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    catalog = await readCatalog(client);
  } finally {
    await client.end();
    await db.drop();
  }
});

it('every tenant table is distributable by organisation_id and iam global tables can be reference tables', () => {
  expect(catalog.filter((t) => t.columns.some((c) => c.name === 'organisation_id')).length).toBeGreaterThan(
    20,
  );
  expect(citusProblems(catalog)).toEqual([]);
});

it('flags keys without organisation_id and a reference table pointing at a tenant table', () => {
  const copy: CatalogTable[] = structuredClone(catalog);
  const positions = copy.find((t) => t.name === 'crm.positions')!;
  positions.uniques.push({
    name: 'positions_email_global_key',
    columns: ['email'],
    definition: 'UNIQUE (email)',
  });
  const users = copy.find((t) => t.name === 'iam.users')!;
  users.foreignKeys.push({
    name: 'users_company_fkey',
    columns: ['id'],
    definition: 'FOREIGN KEY (id) REFERENCES crm.companies(id)',
    references: { table: 'crm.companies', columns: ['id'] },
    onDelete: 'NO ACTION',
    onUpdate: 'NO ACTION',
  });
  expect(citusProblems(copy)).toEqual([
    'crm.positions: positions_email_global_key lacks organisation_id',
    'reference table iam.users has FK users_company_fkey to crm.companies (reference → distributed is not allowed)',
  ]);
});
