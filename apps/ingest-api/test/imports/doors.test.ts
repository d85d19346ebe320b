import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';
import { validSiren } from '../helpers/fixtures.js';
import { type ImportBody, waitForImport } from './http-helpers.js';

/**
 * Field rules once (@prospectflow/field-rules): the same messy contact entered through the JSON
 * API and through an import (staging + set-based SQL) is accepted by both and stored identically.
 */
let t: TestApp;
let viaApi: TestUser;
let viaImport: TestUser;

beforeAll(async () => {
  t = await buildTestApp({ label: 'doors' });
  viaApi = await t.signUp('api-door@example.com', 'API door');
  viaImport = await t.signUp('import-door@example.com', 'Import door');
});
afterAll(async () => {
  await t?.close();
});

const SIREN = validSiren(4242);
const RAW = {
  companyName: 'Doors SAS',
  siren: `${SIREN.slice(0, 3)} ${SIREN.slice(3, 6)}.${SIREN.slice(6)}`,
  naf: '62 01 z',
  website: 'WWW.Doors-Example.fr/contact',
  companyPhone: '01 23 45 67 89',
  country: 'Allemagne',
  companyLinkedin: 'linkedin.com/company/doors',
  email: '  Ada.Lovelace@Doors-Example.FR ',
  personPhone: '+44 20 7946 0958',
  personLinkedin: 'https://www.linkedin.com/in/ada',
  positionPhone: '06.12.34.56.78',
};

async function stored(user: TestUser) {
  const get = async (url: string) => {
    const response = await t.request(user, { method: 'GET', url });
    expect(response.statusCode, response.body).toBe(200);
    return response.json();
  };
  const companies = (await get(`/v1/companies?siren=${SIREN}`)).items;
  expect(companies).toHaveLength(1);
  const positions = (await get(`/v1/positions?companyId=${companies[0].id}`)).items;
  expect(positions).toHaveLength(1);
  const person = await get(`/v1/people/${positions[0].personId}`);
  const pick = (row: Record<string, unknown>, keys: string[]) =>
    Object.fromEntries(keys.map((k) => [k, row[k]]));
  return {
    company: pick(companies[0], [
      'siren',
      'nafCode',
      'websiteUrl',
      'domain',
      'phone',
      'countryCode',
      'linkedinUrl',
    ]),
    person: pick(person, ['phone', 'linkedinUrl']),
    position: pick(positions[0], ['email', 'phone']),
  };
}

describe('one contact through every door', () => {
  it('is accepted by the API and by an import, and stored the same way', async () => {
    const post = async (url: string, payload: object) => {
      const response = await t.request(viaApi, { method: 'POST', url, payload });
      expect(response.statusCode, response.body).toBe(201);
      return response.json();
    };
    const company = await post('/v1/companies', {
      name: RAW.companyName,
      siren: RAW.siren,
      nafCode: RAW.naf,
      websiteUrl: RAW.website,
      phone: RAW.companyPhone,
      countryCode: RAW.country,
      linkedinUrl: RAW.companyLinkedin,
    });
    const person = await post('/v1/people', {
      firstName: 'Ada',
      lastName: 'Lovelace',
      phone: RAW.personPhone,
      linkedinUrl: RAW.personLinkedin,
    });
    await post('/v1/positions', {
      personId: person.id,
      companyId: company.id,
      email: RAW.email.trim(), // the JSON schema's email format does not trim; the rule does
      phone: RAW.positionPhone,
    });

    const accepted = await t.request(viaImport, {
      method: 'POST',
      url: '/v1/imports',
      payload: [
        {
          company_name: RAW.companyName,
          company_siren: RAW.siren,
          company_naf: RAW.naf,
          company_website: RAW.website,
          company_phone: RAW.companyPhone,
          company_country: RAW.country,
          company_linkedin: RAW.companyLinkedin,
          first_name: 'Ada',
          last_name: 'Lovelace',
          email: RAW.email,
          person_phone: RAW.personPhone,
          person_linkedin: RAW.personLinkedin,
          position_phone: RAW.positionPhone,
        },
      ],
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    const done = await waitForImport(t, viaImport, (accepted.json() as ImportBody).id);
    expect(done.errors.items).toEqual([]);
    expect(done).toMatchObject({ status: 'succeeded', counts: { inserted: 1, failed: 0 } });

    const api = await stored(viaApi);
    expect(api).toEqual({
      company: {
        siren: SIREN,
        nafCode: '62.01Z',
        websiteUrl: 'https://WWW.Doors-Example.fr/contact',
        domain: 'doors-example.fr',
        phone: '+33123456789',
        countryCode: 'DE',
        linkedinUrl: 'https://linkedin.com/company/doors',
      },
      person: { phone: '+442079460958', linkedinUrl: 'https://www.linkedin.com/in/ada' },
      position: { email: 'ada.lovelace@doors-example.fr', phone: '+33612345678' },
    });
    expect(await stored(viaImport)).toEqual(api);
  });
});
