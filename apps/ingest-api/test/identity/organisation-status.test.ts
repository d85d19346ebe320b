import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { ROLES, roleUrl } from '@prospectflow/db-schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setOrganisationStatus } from '../../src/operations/organisation-status.js';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

/**
 * An operator suspends an organisation (there is no route for it): its members are refused from
 * their next request, although their sessions were cached a moment before; reactivated, they are
 * let in again. Before the command, a status changed by SQL held only once sessions expired (10 min).
 */
let t: TestApp;
let owner: TestUser;
let member: TestUser;
let other: TestUser;
const options = () => ({
  migrationUrl: roleUrl(t.database.adminUrl, ROLES.migrator),
  redisUrl: t.env.REDIS_URL,
  keyPrefix: t.authKeyPrefix,
});
const companies = (user: TestUser) => t.request(user, { method: 'GET', url: '/v1/companies' });

beforeAll(async () => {
  t = await buildTestApp({ label: 'orgstatus' });
  owner = await t.signUp();
  member = await t.join(owner, 'member');
  other = await t.signUp();
});
afterAll(async () => {
  await t?.close();
});

describe('suspending an organisation (operator command)', () => {
  it('refuses its members at their next request, with their sessions cached, and lets them back in once reactivated', async () => {
    expect((await companies(member)).statusCode).toBe(200);
    expect((await companies(owner)).statusCode).toBe(200);

    const change = await setOrganisationStatus(owner.organisationId, 'suspended', options());
    expect(change).toEqual({ organisationId: owner.organisationId, status: 'suspended', sessionsDropped: 2 });
    for (const user of [member, owner]) {
      const refused = await companies(user);
      expect(refused.statusCode).toBe(403);
      expect(refused.json().code).toBe('organisation_suspended');
    }
    // Another organisation is untouched.
    expect((await companies(other)).statusCode).toBe(200);

    await setOrganisationStatus(owner.organisationId, 'active', options());
    expect((await companies(member)).statusCode).toBe(200);
  });

  it('says so for an organisation that does not exist, changing nothing', async () => {
    await expect(setOrganisationStatus(randomUUID(), 'suspended', options())).rejects.toThrow(
      /does not exist/,
    );
  });

  it('has a CLI that answers --help and refuses a bad call with exit 2', () => {
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/organisation.ts', ...args], {
        encoding: 'utf8',
        env: { ...process.env, MIGRATION_DATABASE_URL: options().migrationUrl },
      });
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: organisation <suspend\|reactivate> <organisation-id>/);
    expect(cli('delete', owner.organisationId).status).toBe(2);
    expect(cli('suspend', 'not-an-id').status).toBe(2);
    const unknown = cli('suspend', randomUUID());
    expect(unknown.status).toBe(2);
    expect(unknown.stdout).toMatch(/does not exist/);
  });
});
