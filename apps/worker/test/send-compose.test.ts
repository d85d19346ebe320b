import { describe, expect, it } from 'vitest';
import {
  htmlBody,
  mailOf,
  referencesOf,
  renderContent,
  templateValues,
} from '../src/outreach/send/compose.js';
import type { MailboxRow } from '../src/outreach/window.js';

const MAILBOX: MailboxRow = {
  id: 'mb',
  from_name: 'Sales Team',
  from_address: 'sales@acme.test',
  daily_limit: 10,
  window_start: '09:00',
  window_end: '17:00',
  window_days: [1, 2, 3, 4, 5],
  time_zone: 'Europe/Paris',
  min_gap_seconds: 0,
  status: 'active',
  organisation_id: 'org',
  provider: 'relay',
  verification_status: 'verified',
  credentials_version: 1,
};
const TARGET = {
  first_name: 'Ada',
  last_name: 'Lovelace',
  company_name: 'Analytical',
  domain: 'analytical.test',
  city: null,
  industry: null,
  website_url: null,
  title: 'CTO',
  email: 'ada@analytical.test',
};

describe('compose', () => {
  it('renders subject and body from the recipient and sender values', () => {
    const content = renderContent({
      subjectTemplate: 'Hello {{person.first_name}}',
      bodyTemplate: 'Hi {{person.full_name}} at {{company.name}}, {{sender.name}}',
      previous: null,
      stepOrder: 1,
      values: templateValues(TARGET, MAILBOX),
    });
    expect(content).toEqual({
      ok: true,
      subject: 'Hello Ada',
      text: 'Hi Ada Lovelace at Analytical, Sales Team',
      previous: null,
    });
  });

  it('a step without subject replies in the previous message thread', () => {
    const previous = { subject: 'Re: Hello', message_id_header: '<b@x>', references_headers: ['<a@x>'] };
    const content = renderContent({
      subjectTemplate: null,
      bodyTemplate: 'ping',
      previous,
      stepOrder: 2,
      values: {},
    });
    expect(content).toMatchObject({ ok: true, subject: 'Re: Hello' });
    expect(referencesOf(previous)).toEqual(['<a@x>', '<b@x>']);
  });

  it('refuses what the author must fix, pausing the enrollment when it is the template', () => {
    const base = { previous: null, stepOrder: 3, values: templateValues({ ...TARGET, city: null }, MAILBOX) };
    expect(renderContent({ ...base, subjectTemplate: 'x', bodyTemplate: null })).toEqual({
      ok: false,
      reason: 'step has no body template',
      pauseEnrollment: false,
    });
    expect(renderContent({ ...base, subjectTemplate: null, bodyTemplate: 'x' })).toMatchObject({
      ok: false,
      pauseEnrollment: true,
    });
    const missing = renderContent({ ...base, subjectTemplate: 'x', bodyTemplate: 'In {{company.city}}' });
    expect(missing).toMatchObject({ ok: false, pauseEnrollment: true });
    expect(missing.ok ? '' : missing.reason).toMatch(/^template of step 3: .*company\.city/);
  });

  it('renders the Art. 14 notice as a template before the body', () => {
    const content = renderContent({
      subjectTemplate: 's',
      bodyTemplate: 'Body\n{{privacy.notice}}',
      previous: null,
      stepOrder: 1,
      values: { 'privacy.notice': 'Source: {{privacy.source}}', 'privacy.source': 'crm (2026-01-01)' },
    });
    expect(content).toMatchObject({ ok: true, text: 'Body\nSource: crm (2026-01-01)' });
  });

  it('escapes the HTML part and adds the pixel only when tracking is on', () => {
    expect(htmlBody('a < b\n"c"', 'https://app.test', null)).toBe('<div>a &#60; b<br>\n&#34;c&#34;</div>');
    expect(htmlBody('x', 'https://app.test', 'tok')).toContain(
      '<img src="https://app.test/t/tok.gif" width="1" height="1"',
    );
  });

  it('puts Message-ID, both unsubscribe headers and the thread headers on the mail', () => {
    const mail = mailOf(
      {
        id: 'm',
        status: 'queued',
        variant_id: null,
        to_address: 'ada@analytical.test',
        subject: 'Re: Hello',
        body_text: 'ping',
        body_html: '<div>ping</div>',
        message_id_header: '<c@acme.test>',
        unsubscribe_token: 'UTOK',
        in_reply_to: '<b@x>',
        references_headers: ['<a@x>', '<b@x>'],
      },
      MAILBOX,
      'https://app.test',
    );
    expect(mail.from).toEqual({ name: 'Sales Team', address: 'sales@acme.test' });
    expect(mail.messageId).toBe('<c@acme.test>');
    expect(mail.headers).toEqual({
      'List-Unsubscribe': '<mailto:sales@acme.test?subject=unsubscribe%20UTOK>, <https://app.test/u/UTOK>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'In-Reply-To': '<b@x>',
      References: '<a@x> <b@x>',
    });
  });
});
