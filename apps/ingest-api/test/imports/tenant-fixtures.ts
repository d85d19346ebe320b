import type { TenantFixture } from '../helpers/tenant-fixtures.js';
import { waitForImport } from './http-helpers.js';

/**
 * Organisation A's finished import for the cross-tenant matrix: one good row and one bad row, so
 * it has counts, a per-row error and the CRM rows it created. Waiting for it to finish keeps A's
 * data still while the matrix compares fingerprints.
 */
const importFixtures: TenantFixture = async ({ t, owner }) => {
  const res = await t.request(owner, {
    method: 'POST',
    url: '/v1/imports',
    payload: [
      { company_name: 'A Imported', first_name: 'Ines', last_name: 'Port', email: 'ines@a-imported.test' },
      { company_name: 'A Broken', first_name: 'Bad', email: 'not-an-email' },
    ],
  });
  if (res.statusCode !== 202) throw new Error(`fixture /v1/imports: ${res.statusCode} ${res.body}`);
  const done = await waitForImport(t, owner, res.json().id);
  if (done.status !== 'succeeded' || done.errors.items.length === 0)
    throw new Error(`fixture import: ${JSON.stringify(done)}`);
  return { params: { '/v1/imports/:id': { id: done.id } } };
};

export default importFixtures;
