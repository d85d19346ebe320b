import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { invalidSiren, validSiren } from '../helpers/fixtures.js';

let t: TestApp;
let user: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'crm' });
  user = await t.signUp();
});
afterAll(async () => {
  await t?.close();
});

const post = (url: string, payload: object) => t.request(user, { method: 'POST', url, payload });

describe('companies', () => {
  it('creates, reads, patches, lists and deletes', async () => {
    const created = await post('/v1/companies', {
      name: '  Acme SAS ',
      siren: `${validSiren(1001).slice(0, 3)} ${validSiren(1001).slice(3, 6)} ${validSiren(1001).slice(6)}`,
      nafCode: '6201z',
      websiteUrl: 'www.acme.fr/about',
      phone: '01 23 45 67 89',
      countryCode: 'fr',
    });
    expect(created.statusCode).toBe(201);
    const company = created.json();
    expect(company).toMatchObject({
      name: 'Acme SAS',
      siren: validSiren(1001),
      nafCode: '62.01Z',
      websiteUrl: 'https://www.acme.fr/about',
      domain: 'acme.fr',
      phone: '+33123456789',
      countryCode: 'FR',
      custom: {},
    });
    expect(created.headers.location).toBe(`/v1/companies/${company.id}`);

    const read = await t.request(user, { method: 'GET', url: `/v1/companies/${company.id}` });
    expect(read.statusCode).toBe(200);
    expect(read.json()).toEqual(company);

    const patched = await t.request(user, {
      method: 'PATCH',
      url: `/v1/companies/${company.id}`,
      payload: { city: 'Lyon', phone: null, employeeCount: 0, custom: { tier: 'A' } },
    });
    expect(patched.statusCode, patched.body).toBe(200);
    // null clears (it must not be coerced to ""), 0 stays 0 (it must not be coerced to null).
    expect(patched.json()).toMatchObject({
      city: 'Lyon',
      phone: null,
      employeeCount: 0,
      custom: { tier: 'A' },
      name: 'Acme SAS',
    });

    const bySiren = await t.request(user, { method: 'GET', url: `/v1/companies?siren=${validSiren(1001)}` });
    expect(bySiren.json().items.map((c: { id: string }) => c.id)).toEqual([company.id]);

    const deleted = await t.request(user, { method: 'DELETE', url: `/v1/companies/${company.id}` });
    expect(deleted.statusCode).toBe(204);
    const gone = await t.request(user, { method: 'GET', url: `/v1/companies/${company.id}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ code: 'company_not_found' });
  });

  it('refuses a wrong SIREN check digit, a bad NAF and a bad URL with 422 listing each', async () => {
    const res = await post('/v1/companies', {
      name: 'Broken',
      siren: invalidSiren(2002),
      nafCode: '620Z',
      linkedinUrl: 'ftp://example.com',
    });
    expect(res.statusCode).toBe(422);
    expect(res.headers['content-type']).toContain('application/problem+json');
    const body = res.json();
    expect(body.code).toBe('invalid_siren');
    expect(body.errors.map((e: { code: string }) => e.code)).toEqual([
      'invalid_siren',
      'invalid_naf',
      'invalid_url',
    ]);
    const count = await t.admin.query(`SELECT count(*)::int AS n FROM crm.companies WHERE name = 'Broken'`);
    expect(count.rows[0].n).toBe(0);
  });

  it('answers 400 validation_failed for schema violations', async () => {
    const res = await post('/v1/companies', { siren: validSiren(3) });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', errors: [{ in: 'body', path: '/name' }] });
  });

  it('answers 409 with the existing id on a duplicate SIREN, on create and on patch', async () => {
    const first = (await post('/v1/companies', { name: 'First', siren: validSiren(4004) })).json();
    const dup = await post('/v1/companies', { name: 'Dup', siren: validSiren(4004) });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'company_siren_taken', existingId: first.id });

    const other = (await post('/v1/companies', { name: 'Other' })).json();
    const clash = await t.request(user, {
      method: 'PATCH',
      url: `/v1/companies/${other.id}`,
      payload: { siren: validSiren(4004) },
    });
    expect(clash.statusCode).toBe(409);
    expect(clash.json()).toMatchObject({ code: 'company_siren_taken', existingId: first.id });
  });

  it('refuses a SIRET of another SIREN on create and on a patch of either one (422, nothing written)', async () => {
    // 552100554 and 732829320 are two companies' SIRENs; 73282932000074 is a SIRET of the second.
    const mismatch = await post('/v1/companies', {
      name: 'Mismatch',
      siren: '552100554',
      siret: '73282932000074',
    });
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.json().code).toBe('siret_siren_mismatch');
    const created = (await post('/v1/companies', { name: 'Pair', siren: '552100554' })).json();
    const patch = (payload: object) =>
      t.request(user, { method: 'PATCH', url: `/v1/companies/${created.id}`, payload });
    const siretAlone = await patch({ siret: '73282932000074' });
    expect(siretAlone.statusCode).toBe(422);
    expect(siretAlone.json()).toMatchObject({ code: 'siret_siren_mismatch', errors: [{ path: '/siret' }] });
    expect((await patch({ siret: '55210055400013' })).statusCode).toBe(200);
    const sirenAlone = await patch({ siren: '732829320' });
    expect(sirenAlone.statusCode).toBe(422);
    expect(sirenAlone.json().code).toBe('siret_siren_mismatch');
    const stored = await t.request(user, { method: 'GET', url: `/v1/companies/${created.id}` });
    expect(stored.json()).toMatchObject({ siren: '552100554', siret: '55210055400013' });
    // Both together, consistent: accepted.
    expect((await patch({ siren: '732829320', siret: '73282932000074' })).statusCode).toBe(200);
    // A pair stored mismatched before the rule (a legacy consolidation, a direct write) does not
    // block edits of other fields; a change of either one must still make the pair right.
    await t.admin.query(`UPDATE crm.companies SET siret = '55210055400013' WHERE id = $1`, [created.id]);
    const renamed = await patch({ name: 'Renamed' });
    expect(renamed.statusCode).toBe(200);
    expect(renamed.json()).toMatchObject({ name: 'Renamed', siren: '732829320', siret: '55210055400013' });
    expect((await patch({ siren: '732829320' })).json().code).toBe('siret_siren_mismatch');
  });

  it('paginates with a cursor and filters by name and domain', async () => {
    const owner = await t.signUp();
    for (let i = 0; i < 7; i += 1) {
      const res = await t.request(owner, {
        method: 'POST',
        url: '/v1/companies',
        payload: { name: `Page Co ${i}`, domain: i < 2 ? 'Paged.example' : `p${i}.example` },
      });
      expect(res.statusCode).toBe(201);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const res = await t.request(owner, { method: 'GET', url: `/v1/companies?limit=3${query}` });
      expect(res.statusCode).toBe(200);
      const body = res.json();
      seen.push(...body.items.map((c: { id: string }) => c.id));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(7);
    expect([...seen].sort()).toEqual(seen);

    const byName = await t.request(owner, { method: 'GET', url: '/v1/companies?name=co%205' });
    expect(byName.json().items.map((c: { name: string }) => c.name)).toEqual(['Page Co 5']);
    const byDomain = await t.request(owner, { method: 'GET', url: '/v1/companies?domain=paged.example' });
    expect(byDomain.json().items).toHaveLength(2);
    // The filter reads a domain as the field does (scheme, www., case, path dropped).
    const byUrl = await t.request(owner, {
      method: 'GET',
      url: `/v1/companies?domain=${encodeURIComponent('https://WWW.Paged.example/about')}`,
    });
    expect(byUrl.json().items).toHaveLength(2);
    const badCursor = await t.request(owner, { method: 'GET', url: '/v1/companies?cursor=garbage' });
    expect(badCursor.statusCode).toBe(400);
    expect(badCursor.json().code).toBe('invalid_cursor');
  });
});

describe('people and positions', () => {
  it('links a person to a company through a position and filters by email', async () => {
    const company = (await post('/v1/companies', { name: 'Hire Co', siren: validSiren(5005) })).json();
    const person = await post('/v1/people', {
      firstName: ' Ada ',
      lastName: 'Lovelace',
      phone: '06 12 34 56 78',
    });
    expect(person.statusCode).toBe(201);
    expect(person.json()).toMatchObject({ firstName: 'Ada', lastName: 'Lovelace', phone: '+33612345678' });
    const personId = person.json().id;

    const position = await post('/v1/positions', {
      personId,
      companyId: company.id,
      title: 'CTO',
      email: 'Ada@Hire.Example',
    });
    expect(position.statusCode).toBe(201);
    expect(position.json()).toMatchObject({
      email: 'ada@hire.example',
      emailStatus: 'unknown',
      status: 'active',
    });

    const dup = await post('/v1/positions', { personId, companyId: company.id, email: 'ADA@hire.example' });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'position_email_taken', existingId: position.json().id });

    const byEmail = await t.request(user, { method: 'GET', url: '/v1/people?email=ada@hire.example' });
    expect(byEmail.json().items.map((p: { id: string }) => p.id)).toEqual([personId]);
    const byName = await t.request(user, { method: 'GET', url: '/v1/people?name=lovelace' });
    expect(byName.json().items.map((p: { id: string }) => p.id)).toEqual([personId]);
    const bySiren = await t.request(user, { method: 'GET', url: `/v1/positions?siren=${validSiren(5005)}` });
    expect(bySiren.json().items.map((p: { id: string }) => p.id)).toEqual([position.json().id]);
    const byDomain = await t.request(user, { method: 'GET', url: '/v1/positions?domain=hire.example' });
    expect(byDomain.json().items).toHaveLength(1);
  });

  it('refuses a position pointing at an unknown company with 422', async () => {
    const person = (await post('/v1/people', { lastName: 'Orphan' })).json();
    const res = await post('/v1/positions', {
      personId: person.id,
      companyId: '00000000-0000-4000-8000-000000000000',
    });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: 'unknown_company' });
  });

  it('requires a first or last name', async () => {
    const res = await post('/v1/people', { location: 'Paris' });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('name_required');
    // A PATCH clearing the only name answers the same code (it was constraint_violation people_check).
    const ada = (await post('/v1/people', { firstName: 'Ada' })).json();
    for (const payload of [{ firstName: null }, { firstName: '  ', lastName: null }]) {
      const cleared = await t.request(user, { method: 'PATCH', url: `/v1/people/${ada.id}`, payload });
      expect([cleared.statusCode, cleared.json().code], JSON.stringify(payload)).toEqual([
        422,
        'name_required',
      ]);
      expect(cleared.json().errors).toEqual([
        expect.objectContaining({ path: '/lastName', code: 'name_required' }),
      ]);
    }
    const kept = await t.request(user, { method: 'GET', url: `/v1/people/${ada.id}` });
    expect(kept.json()).toMatchObject({ firstName: 'Ada', lastName: null });
  });
});

describe('text PostgreSQL cannot hold', () => {
  it('answers 400 invalid_value, not 500, for NUL in a field, a custom value, a filter or an organisation name', async () => {
    const refused = [
      await post('/v1/companies', { name: 'Nul\u0000Co' }),
      await post('/v1/companies', { name: 'Nul city', city: 'Ly\u0000on' }),
      await post('/v1/companies', { name: 'Nul custom', custom: { note: 'a\u0000b' } }),
      await t.request(user, { method: 'GET', url: '/v1/companies?name=a%00' }),
      await t.request(user, { method: 'GET', url: '/v1/people?name=a%00' }),
      await t.request(user, { method: 'POST', url: '/v1/organisations', payload: { name: 'Nul\u0000Org' } }),
    ];
    for (const res of refused) {
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ code: 'invalid_value' });
    }
    const stored = await t.admin.query(
      `SELECT (SELECT count(*) FROM crm.companies WHERE name LIKE 'Nul%')::int AS companies,
              (SELECT count(*) FROM iam.organisations WHERE name LIKE 'Nul%')::int AS organisations`,
    );
    expect(stored.rows[0]).toEqual({ companies: 0, organisations: 0 });
  });
});
