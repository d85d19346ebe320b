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
      email: RAW.email, // padded and mixed case, as in the import below
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

describe('blank and padded values through every door', () => {
  it('reads a blank field as no value and trims what String#trim trims, in the API as in an import', async () => {
    const apiUser = await t.signUp('api-blank@example.com', 'API blank');
    const importUser = await t.signUp('import-blank@example.com', 'Import blank');
    const siren = validSiren(4343);
    // A blank value (spaces, no-break spaces) is no value; an em space or an ideographic space
    // pasted around a value is trimmed like the SQLite import's String#trim trims it.
    const raw = {
      name: 'Blank SAS',
      siren: `${siren}\u2003`,
      nafCode: '\u00a0 ',
      phone: '   ',
      websiteUrl: '\u2009blank-example.fr\u205f',
      domain: ' ',
      countryCode: 'France\u3000',
      // Plain text is trimmed too: a Pharow id is a key the import matches companies by.
      pharowCompanyId: ' PH-4343\u00a0',
      city: ' Paris\u2003',
      postalCode: '\u00a0',
    };
    const company = await t.request(apiUser, { method: 'POST', url: '/v1/companies', payload: raw });
    expect(company.statusCode, company.body).toBe(201);
    const person = await t.request(apiUser, {
      method: 'POST',
      url: '/v1/people',
      payload: { lastName: 'Blank', phone: '\u00a0', linkedinUrl: ' ' },
    });
    expect(person.statusCode, person.body).toBe(201);
    const position = await t.request(apiUser, {
      method: 'POST',
      url: '/v1/positions',
      payload: { personId: person.json().id, companyId: company.json().id, phone: ' ' },
    });
    expect(position.statusCode, position.body).toBe(201);

    const accepted = await t.request(importUser, {
      method: 'POST',
      url: '/v1/imports',
      payload: [
        {
          company_name: raw.name,
          company_siren: raw.siren,
          company_naf: raw.nafCode,
          company_phone: raw.phone,
          company_website: raw.websiteUrl,
          company_domain: raw.domain,
          company_country: raw.countryCode,
          company_pharow_id: raw.pharowCompanyId,
          company_city: raw.city,
          company_postal_code: raw.postalCode,
          last_name: 'Blank',
          email: 'blank@blank-example.fr\u202f',
          person_phone: '\u00a0',
          person_linkedin: ' ',
        },
        // U+212A (Kelvin) is not lower-cased into k: the API's email format refuses it too.
        {
          company_name: raw.name,
          company_siren: siren,
          last_name: 'Kelvin',
          email: '\u212Aarl@blank-example.fr',
        },
      ],
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    const done = await waitForImport(t, importUser, (accepted.json() as ImportBody).id);
    expect(done.errors.items.map((e) => [e.rowNumber, e.code])).toEqual([[2, 'invalid_email']]);

    const pick = (row: Record<string, unknown>, keys: string[]) =>
      Object.fromEntries(keys.map((k) => [k, row[k]]));
    const storedCompany = async (user: TestUser) => {
      const list = await t.request(user, { method: 'GET', url: `/v1/companies?siren=${siren}` });
      expect(list.json().items).toHaveLength(1);
      return pick(list.json().items[0], [
        'siren',
        'nafCode',
        'phone',
        'websiteUrl',
        'domain',
        'countryCode',
        'pharowCompanyId',
        'city',
        'postalCode',
      ]);
    };
    const api = await storedCompany(apiUser);
    expect(api).toEqual({
      siren,
      nafCode: null,
      phone: null,
      websiteUrl: 'https://blank-example.fr',
      domain: 'blank-example.fr',
      countryCode: 'FR',
      pharowCompanyId: 'PH-4343',
      city: 'Paris',
      postalCode: null,
    });
    expect(await storedCompany(importUser)).toEqual(api);
    expect(pick(person.json(), ['phone', 'linkedinUrl'])).toEqual({ phone: null, linkedinUrl: null });
    expect(position.json().phone).toBeNull();
  });
});

describe('a company given only its SIRET', () => {
  it('is stored with the SIREN the SIRET names by the API and by an import; one of no valid SIREN fails no import', async () => {
    const apiUser = await t.signUp('api-siret@example.com', 'API SIRET');
    const importUser = await t.signUp('import-siret@example.com', 'Import SIRET');
    // 38012986646850 names SIREN 380129866; 55210055500002 passes its check digit, 552100555 does not.
    for (const siret of ['38012986646850', '55210055500002']) {
      const created = await t.request(apiUser, {
        method: 'POST',
        url: '/v1/companies',
        payload: { name: siret, siret },
      });
      expect(created.statusCode, created.body).toBe(201);
    }
    const accepted = await t.request(importUser, {
      method: 'POST',
      url: '/v1/imports',
      payload: ['38012986646850', '55210055500002'].map((siret, i) => ({
        company_name: siret,
        company_siret: siret,
        last_name: 'Siret',
        email: `siret@siret-${i}.example.fr`,
      })),
    });
    expect(accepted.statusCode, accepted.body).toBe(202);
    const done = await waitForImport(t, importUser, (accepted.json() as ImportBody).id);
    expect(done).toMatchObject({ status: 'succeeded', counts: { inserted: 2, failed: 0 } });

    const companies = async (user: TestUser) => {
      const list = await t.request(user, { method: 'GET', url: '/v1/companies?limit=10' });
      return (list.json().items as Array<Record<string, unknown>>)
        .map((c) => [c.name, c.siren, c.siret])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    };
    const api = await companies(apiUser);
    expect(api).toEqual([
      ['38012986646850', '380129866', '38012986646850'],
      ['55210055500002', null, '55210055500002'],
    ]);
    expect(await companies(importUser)).toEqual(api);
  });
});
