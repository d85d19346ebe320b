import { createTestDatabase } from '@prospectflow/testing';
import pg from 'pg';
import { expect, it } from 'vitest';
import { ROLES, roleUrl } from '../src/roles.js';
import { DEMO_IDS, seedDemo } from '../src/seed.js';

it('seeds the demo organisation once; a rerun inserts nothing; the app role sees it only under its tenant', async () => {
  const db = await createTestDatabase('seed');
  try {
    const migrator = roleUrl(db.adminUrl, ROLES.migrator);
    const first = await seedDemo(migrator);
    expect(first.inserted).toBeGreaterThanOrEqual(17);
    expect((await seedDemo(migrator)).inserted).toBe(0);

    const app = new pg.Client({ connectionString: roleUrl(db.adminUrl, ROLES.app) });
    await app.connect();
    try {
      await app.query('BEGIN');
      await app.query(`SELECT set_config('app.organisation_id', $1, true)`, [DEMO_IDS.organisation]);
      const { rows } = await app.query<{ steps: number; positions: number }>(
        `SELECT (SELECT count(*)::int FROM outreach.workflow_steps WHERE campaign_id = $1) AS steps,
                (SELECT count(*)::int FROM crm.positions) AS positions`,
        [DEMO_IDS.campaign],
      );
      expect(rows[0]).toEqual({ steps: 3, positions: 3 });
      await app.query('COMMIT');
      await expect(app.query('SELECT count(*) FROM crm.positions')).rejects.toMatchObject({ code: 'PF001' });
    } finally {
      await app.end();
    }
  } finally {
    await db.drop();
  }
});
