import type { AddressInfo } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp, type TestUser } from '../helpers/app.js';

// The Debian package (apt-get install chromium); .ci/run installs it when missing.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let t: TestApp;
let admin: TestUser;
let browser: Browser;
let base: string;
const tokens: string[] = [];

beforeAll(async () => {
  t = await buildTestApp({ label: 'recipient-pages' });
  admin = await t.signUp('owner@pages.test', 'Acme Conseil SAS');
  await t.request(admin, {
    method: 'PATCH',
    url: '/v1/privacy/settings',
    payload: { privacyNoticeUrl: 'https://acme.example/confidentialite' },
  });
  const org = admin.organisationId;
  const q = async (sql: string, params: unknown[]) => (await t.admin.query(sql, [org, ...params])).rows[0];
  const company = await q(`INSERT INTO crm.companies (organisation_id, name) VALUES ($1, $2) RETURNING id`, [
    'Cible',
  ]);
  const campaign = await q(
    `INSERT INTO outreach.campaigns (organisation_id, name, status) VALUES ($1, $2, 'active') RETURNING id`,
    ['Q1'],
  );
  for (const i of [1, 2]) {
    const person = await q(
      `INSERT INTO crm.people (organisation_id, last_name) VALUES ($1, $2) RETURNING id`,
      [`Dest${i}`],
    );
    const position = await q(
      `INSERT INTO crm.positions (organisation_id, person_id, company_id, email) VALUES ($1, $2, $3, $4) RETURNING id`,
      [person.id, company.id, `dest${i}@cible.test`],
    );
    const enrollment = await q(
      `INSERT INTO outreach.campaign_enrollments (organisation_id, campaign_id, position_id) VALUES ($1, $2, $3) RETURNING id`,
      [campaign.id, position.id],
    );
    const token = `pageToken${i}XXXXXXXXXXXXXXXXXX`;
    await q(
      `INSERT INTO outreach.messages (organisation_id, enrollment_id, direction, status, message_id_header, to_address, unsubscribe_token, sent_at)
       VALUES ($1, $2, 'outbound', 'sent', $3, $4, $5, now())`,
      [enrollment.id, `<page${i}@acme.test>`, `dest${i}@cible.test`, token],
    );
    tokens.push(token);
  }
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function openPage(language: string, token: string): Promise<Page> {
  const context = await browser.newContext({
    javaScriptEnabled: false,
    extraHTTPHeaders: { 'accept-language': language },
  });
  const page = await context.newPage();
  const response = await page.goto(`${base}/u/${token}`);
  expect(response?.status()).toBe(200);
  return page;
}

/** Tab until `name` has focus (the keyboard is the only input used), then Enter. */
async function activateByKeyboard(page: Page, name: string): Promise<void> {
  for (let presses = 0; presses < 10; presses++) {
    await page.keyboard.press('Tab');
    if (((await page.locator(':focus').textContent()) ?? '').trim() === name) {
      // The form posts to a URL under /u/ like the page itself: wait for the new document, not a URL.
      const navigated = page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame());
      await page.keyboard.press('Enter');
      await navigated;
      await page.waitForLoadState('load');
      return;
    }
  }
  throw new Error(`"${name}" never received keyboard focus`);
}

describe('recipient pages in headless Chromium, without JavaScript, keyboard only', () => {
  it('French: names the sender, links its privacy notice, and unsubscribes', async () => {
    const page = await openPage('fr-FR,fr;q=0.9,en;q=0.5', tokens[0]!);
    expect(await page.locator('html').getAttribute('lang')).toBe('fr');
    expect(await page.locator('h1').textContent()).toBe('Ne plus recevoir d’e-mails de Acme Conseil SAS ?');
    const notice = page.getByRole('link', { name: 'Politique de confidentialité de Acme Conseil SAS' });
    expect(await notice.getAttribute('href')).toBe('https://acme.example/confidentialite');
    expect(await page.getByRole('button').allTextContents()).toEqual([
      'Me désabonner',
      'Demander l’effacement de mes données',
    ]);
    await activateByKeyboard(page, 'Me désabonner');
    expect(await page.locator('h1').textContent()).toBe(
      'Vous êtes désabonné des e-mails de Acme Conseil SAS',
    );
    const { rows } = await t.admin.query(
      `SELECT e.status FROM outreach.campaign_enrollments e JOIN outreach.messages m ON m.enrollment_id = e.id
        WHERE m.unsubscribe_token = $1`,
      [tokens[0]],
    );
    expect(rows[0].status).toBe('unsubscribed');
    await page.context().close();
  });

  it('English: an erasure request lands in the admins’ erasure flow', async () => {
    const page = await openPage('en-GB,en;q=0.8', tokens[1]!);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    expect(await page.locator('h1').textContent()).toBe('Stop emails from Acme Conseil SAS?');
    await activateByKeyboard(page, 'Ask for my data to be erased');
    expect(await page.locator('h1').textContent()).toBe('Your request has been sent to Acme Conseil SAS');
    expect(await page.getByRole('link', { name: 'Privacy notice of Acme Conseil SAS' }).count()).toBe(1);
    await page.context().close();

    const requests = await t.request(admin, {
      method: 'GET',
      url: '/v1/privacy/erasure-requests?status=pending',
    });
    const [request] = requests.json().items;
    expect(request).toMatchObject({ status: 'pending', channel: 'recipient_page' });
    expect(request.personId).toBeTruthy();
    const erased = await t.request(admin, {
      method: 'POST',
      url: '/v1/privacy/erasures',
      payload: { requestId: request.id },
    });
    expect(erased.statusCode, erased.body).toBe(201);
    expect(erased.json().removed).toMatchObject({ 'crm.people': 1, 'crm.positions': 1 });
    const after = await t.request(admin, { method: 'GET', url: '/v1/privacy/erasure-requests' });
    expect(after.json().items).toEqual([
      expect.objectContaining({
        id: request.id,
        status: 'completed',
        erasureId: erased.json().id,
        personId: null,
      }),
    ]);
    const { rows } = await t.admin.query(
      `SELECT count(*)::int AS n FROM crm.people WHERE last_name = 'Dest2'`,
    );
    expect(rows[0].n).toBe(0);
  });
});
