import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

let t: TestApp;
let admin: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'privacy-settings' });
  admin = await t.signUp('owner@settings.test');
});
afterAll(async () => {
  await t?.close();
});

describe('privacy settings and the retention dry run', () => {
  it('starts from the CNIL defaults and validates changes', async () => {
    const initial = await t.request(admin, { method: 'GET', url: '/v1/privacy/settings' });
    expect(initial.json()).toEqual({
      privacyNoticeUrl: null,
      art14Notice: null,
      peopleRetentionDays: 1095,
      openEventsRetentionMonths: 13,
      finishedTasksRetentionDays: 30,
      importErrorValuesRetentionDays: 90,
      auditRetentionDays: 365,
      retentionEnabled: true,
    });
    const bad = await t.request(admin, {
      method: 'PATCH',
      url: '/v1/privacy/settings',
      payload: { art14Notice: 'We got your data from {{privacy.notice}}' },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json().code).toBe('unknown_template_variable');
    const changed = await t.request(admin, {
      method: 'PATCH',
      url: '/v1/privacy/settings',
      payload: {
        privacyNoticeUrl: 'https://acme.example/privacy',
        art14Notice: 'Source : {{privacy.source}}. Détails : {{privacy.notice_url}}',
        peopleRetentionDays: 365,
      },
    });
    expect(changed.json()).toMatchObject({
      peopleRetentionDays: 365,
      privacyNoticeUrl: 'https://acme.example/privacy',
    });
    const tooLong = await t.request(admin, {
      method: 'PATCH',
      url: '/v1/privacy/settings',
      payload: { peopleRetentionDays: 99999 },
    });
    expect(tooLong.statusCode).toBe(400);
  });

  it('only an owner changes them: retention periods can empty the CRM and the audit trail', async () => {
    const owner = await t.signUp('owner@settings-roles.test');
    const realAdmin = await t.join(owner, 'admin');
    const before = await t.request(owner, { method: 'GET', url: '/v1/privacy/settings' });
    // An admin reads them (and the dry run), but cannot shorten the audit trail behind their own actions.
    expect((await t.request(realAdmin, { method: 'GET', url: '/v1/privacy/settings' })).statusCode).toBe(200);
    const refused = await t.request(realAdmin, {
      method: 'PATCH',
      url: '/v1/privacy/settings',
      payload: { auditRetentionDays: 1, peopleRetentionDays: 1, retentionEnabled: true },
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'insufficient_role', requiredRole: 'owner' });
    const after = await t.request(owner, { method: 'GET', url: '/v1/privacy/settings' });
    expect(after.json()).toEqual(before.json());
    const byOwner = await t.request(owner, {
      method: 'PATCH',
      url: '/v1/privacy/settings',
      payload: { auditRetentionDays: 400 },
    });
    expect(byOwner.statusCode).toBe(200);
  });

  it('previews what retention would remove, changing nothing', async () => {
    await t.admin.query(
      `INSERT INTO crm.people (organisation_id, last_name, collected_at) VALUES ($1, 'Old', now() - interval '2 years'), ($1, 'New', now())`,
      [admin.organisationId],
    );
    await t.admin.query(
      `INSERT INTO iam.organisation_invitations (organisation_id, email, role, status, created_at, expires_at, revoked_at)
       VALUES ($1, 'gone@example.test', 'member', 'revoked', now() - interval '60 days', now(), now() - interval '59 days')`,
      [admin.organisationId],
    );
    const preview = await t.request(admin, { method: 'GET', url: '/v1/privacy/retention' });
    expect(preview.statusCode, preview.body).toBe(200);
    const due = (rule: string) => preview.json().rules.find((r: { rule: string }) => r.rule === rule);
    expect(due('people')).toMatchObject({ due: 1 });
    expect(due('closed_invitations')).toMatchObject({ due: 1 });
    const { rows } = await t.admin.query(
      'SELECT count(*)::int AS n FROM crm.people WHERE organisation_id = $1',
      [admin.organisationId],
    );
    expect(rows[0].n).toBe(2);
    const invitations = await t.admin.query(
      'SELECT count(*)::int AS n FROM iam.organisation_invitations WHERE organisation_id = $1',
      [admin.organisationId],
    );
    expect(invitations.rows[0].n).toBe(1);
  });
});
