import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../src/migrations.js';
import { ROLES, roleUrl } from '../src/roles.js';
import { migrationsBefore, query, scratchDatabase } from './support/scratch.js';

const LIST = 3_000;

/** Runs `body` in one transaction of the worker role under `organisation` (empty: none). */
async function asWorker<T>(
  url: string,
  organisation: string,
  body: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [organisation]);
    return await body(client);
  } finally {
    await client.query('ROLLBACK').catch(() => {});
    await client.end();
  }
}

/** Rows of `table` this transaction has read so far (index and sequential scans). */
async function rowsRead(c: pg.Client, table: string): Promise<number> {
  const { rows } = await c.query<{ n: string }>(
    `SELECT coalesce(idx_tup_fetch, 0) + coalesce(seq_tup_read, 0) AS n
     FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`,
    [table],
  );
  return Number(rows[0]?.n ?? 0);
}

describe('lookups by address under row-level security (migrations 0998, 1000)', () => {
  let workerUrl: string;
  let orgA: string;
  let orgB: string;
  let mailboxes: string[];

  beforeAll(async () => {
    const { adminUrl } = await scratchDatabase('suppression');
    await migrate(roleUrl(adminUrl, ROLES.migrator));
    workerUrl = roleUrl(adminUrl, ROLES.worker);
    const orgs = await query<{ id: string }>(
      adminUrl,
      `INSERT INTO iam.organisations (name, slug) VALUES ('A', 'sup-a'), ('B', 'sup-b') RETURNING id`,
    );
    [orgA, orgB] = orgs.map((o) => o.id) as [string, string];
    await query(
      adminUrl,
      `INSERT INTO outreach.suppressions (organisation_id, email, reason)
       SELECT $1, 'person' || n || '@list.test', 'unsubscribed' FROM generate_series(1, $2::int) n`,
      [orgA, LIST],
    );
    await query(
      adminUrl,
      `INSERT INTO outreach.suppressions (organisation_id, email, domain, reason) VALUES
         ($1, NULL, 'blocked.test', 'manual'), ($1, 'both@blocked.test', NULL, 'hard_bounce'),
         ($2, 'only-b@other.test', NULL, 'complaint')`,
      [orgA, orgB],
    );
    await query(
      adminUrl,
      `WITH co AS (INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Acme') RETURNING id),
       pe AS (INSERT INTO crm.people (organisation_id, first_name) SELECT $1, 'P' || n FROM generate_series(1, $2::int) n RETURNING id)
       INSERT INTO crm.positions (organisation_id, person_id, company_id, email)
       SELECT $1, pe.id, co.id, 'p' || row_number() OVER () || '@crm.test' FROM pe, co`,
      [orgA, LIST],
    );
    await query(
      adminUrl,
      `WITH co AS (INSERT INTO crm.companies (organisation_id, name) VALUES ($1, 'Beta') RETURNING id),
       pe AS (INSERT INTO crm.people (organisation_id, first_name) VALUES ($1, 'B') RETURNING id)
       INSERT INTO crm.positions (organisation_id, person_id, company_id, email) SELECT $1, pe.id, co.id, 'p1@crm.test' FROM pe, co`,
      [orgB],
    );
    // Two mailboxes of A, with LIST messages sent from the first, and one message in B.
    mailboxes = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await query(
      adminUrl,
      `INSERT INTO outreach.mailboxes (organisation_id, id, from_name, from_address, provider, daily_limit, window_start,
         window_end, window_days, time_zone, smtp_host, smtp_port, smtp_security, smtp_user, imap_host, imap_port,
         imap_security, imap_user, secret_ciphertext, secret_wrapped_key, secret_key_id)
       SELECT o, id, 'Sales', 'sales' || n || '@acme.test', 'smtp_imap', 100, '08:00', '18:00', '{1,2,3,4,5}', 'UTC',
         'smtp.acme.test', 465, 'tls', 'u', 'imap.acme.test', 993, 'tls', 'u', '\\x00', '\\x00', 'k'
       FROM unnest($1::uuid[], $2::uuid[]) WITH ORDINALITY AS x(o, id, n)`,
      [[orgA, orgA, orgB], mailboxes],
    );
    await query(
      adminUrl,
      `INSERT INTO outreach.messages (organisation_id, mailbox_id, direction, status, message_id_header, from_address, to_address, subject, sent_at, inbound_kind)
       SELECT $1::uuid, $2::uuid, 'outbound', 'sent', '<m' || n || '@acme.test>', 'sales1@acme.test', 'p' || n || '@crm.test', 'Hello', now(), NULL
       FROM generate_series(1, $3::int) n
       UNION ALL SELECT $1, $4::uuid, 'outbound', 'sent', '<second@acme.test>', 'sales2@acme.test', 'p7@crm.test', 'Hello', now(), NULL
       UNION ALL SELECT $5::uuid, $6::uuid, 'outbound', 'sent', '<b@beta.test>', 'sales3@acme.test', 'only-b@crm.test', 'Hello', now(), NULL
       UNION ALL SELECT $1, $2, 'inbound', 'received', '<in@crm.test>', 'reader@crm.test', 'reader@crm.test', 'Re: Hello', NULL, 'reply'`,
      [orgA, mailboxes[0], LIST, mailboxes[1], orgB, mailboxes[2]],
    );
    await query(adminUrl, 'ANALYZE outreach.suppressions, crm.positions, outreach.messages');
  });

  it('answers for the address or its domain, case-insensitively, within the current organisation only', async () => {
    const reasons = await asWorker(workerUrl, orgA, async (c) => {
      const ask = async (address: string) =>
        (await c.query<{ r: string | null }>('SELECT app.suppression_reason($1) AS r', [address])).rows[0]!.r;
      return {
        listed: await ask('PERSON17@List.Test'),
        domain: await ask('anyone@BLOCKED.test'),
        addressOverDomain: await ask('both@blocked.test'),
        notListed: await ask('person17@list.example'),
        otherOrganisation: await ask('only-b@other.test'),
      };
    });
    expect(reasons).toEqual({
      listed: 'unsubscribed',
      domain: 'manual',
      addressOverDomain: 'hard_bounce',
      notListed: null,
      otherOrganisation: null,
    });
    const b = await asWorker(
      workerUrl,
      orgB,
      async (c) => (await c.query('SELECT app.suppression_reason($1) AS r', ['only-b@other.test'])).rows[0].r,
    );
    expect(b).toBe('complaint');
  });

  it('fails closed without an organisation', async () => {
    await expect(
      asWorker(workerUrl, '', (c) => c.query('SELECT app.suppression_reason($1)', ['person1@list.test'])),
    ).rejects.toMatchObject({ code: 'PF001' });
  });

  it('reads a row or two per check, where the same question asked under the policy reads the whole list', async () => {
    const { direct, lookup } = await asWorker(workerUrl, orgA, async (c) => {
      const before = await rowsRead(c, 'outreach.suppressions');
      for (let n = 1; n <= 10; n++)
        await c.query(
          `SELECT reason FROM outreach.suppressions WHERE email = $1 OR domain = split_part($1, '@', 2)::citext LIMIT 1`,
          [`nobody${n}@nowhere.test`],
        );
      const afterDirect = await rowsRead(c, 'outreach.suppressions');
      for (let n = 1; n <= 10; n++)
        await c.query('SELECT app.suppression_reason($1)', [`nobody${n}@nowhere.test`]);
      await c.query('SELECT app.suppression_reason($1)', ['person9@list.test']);
      return {
        direct: afterDirect - before,
        lookup: (await rowsRead(c, 'outreach.suppressions')) - afterDirect,
      };
    });
    // Under RLS citext's = is no index condition: each direct check reads all ≈ 3,000 rows.
    expect(direct).toBeGreaterThanOrEqual(10 * LIST);
    // One listed address (one row) among ten misses (none): the counter does see the lookup's reads.
    expect(lookup).toBeGreaterThanOrEqual(1);
    expect(lookup).toBeLessThanOrEqual(2);
  });

  it('finds the position with an address, in the current organisation only, by one probe', async () => {
    const found = await asWorker(workerUrl, orgA, async (c) => {
      const ask = async (address: string) =>
        (await c.query<{ id: string | null }>('SELECT app.position_id_for_email($1) AS id', [address]))
          .rows[0]!.id;
      const before = await rowsRead(c, 'crm.positions');
      const answers = { p17: await ask('P17@CRM.test'), missing: await ask('p17@crm.example') };
      const read = (await rowsRead(c, 'crm.positions')) - before;
      const { rows } = await c.query<{ id: string }>(
        `SELECT id FROM crm.positions WHERE email = 'p17@crm.test'`,
      );
      return { ...answers, read, expected: rows[0]!.id };
    });
    expect(found.p17).toBe(found.expected);
    expect(found.missing).toBeNull();
    expect(found.read).toBe(1);
    const inB = await asWorker(workerUrl, orgB, async (c) => {
      const ask = async (address: string) =>
        (await c.query<{ id: string | null }>('SELECT app.position_id_for_email($1) AS id', [address]))
          .rows[0]!.id;
      return { own: await ask('p1@crm.test'), othersOnly: await ask('p2@crm.test') };
    });
    expect(inB.own).not.toBeNull();
    expect(inB.own).not.toBe(found.expected);
    expect(inB.othersOnly).toBeNull();
    await expect(
      asWorker(workerUrl, '', (c) => c.query('SELECT app.position_id_for_email($1)', ['p1@crm.test'])),
    ).rejects.toMatchObject({ code: 'PF001' });
  });

  it("finds the organisation's outbound messages to an address (of one mailbox when given) by index (migration 1000)", async () => {
    const ids = (addresses: string[], mailbox: string | null) => async (c: pg.Client) =>
      (
        await c.query<{ ids: string[] }>('SELECT app.outbound_message_ids_to($1, $2) AS ids', [
          addresses,
          mailbox,
        ])
      ).rows[0]!.ids;
    const headers = async (c: pg.Client, found: string[]) =>
      (
        await c.query<{ h: string }>(
          'SELECT message_id_header AS h FROM outreach.messages WHERE id = ANY ($1::uuid[]) ORDER BY 1',
          [found],
        )
      ).rows.map((r) => r.h);
    const inA = await asWorker(workerUrl, orgA, async (c) => {
      const before = await rowsRead(c, 'outreach.messages');
      const fromFirst = await ids(['P7@CRM.test', 'nobody@crm.test'], mailboxes[0]!)(c);
      const anyMailbox = await ids(['p7@crm.test'], null)(c);
      const misses = [];
      for (let n = 1; n <= 10; n++) misses.push(...(await ids([`nobody${n}@crm.test`], mailboxes[0]!)(c)));
      const read = (await rowsRead(c, 'outreach.messages')) - before;
      // The same question under the policy, as the inbound match asked it before 1000.
      await c.query(
        `SELECT id FROM outreach.messages WHERE mailbox_id = $1 AND direction = 'outbound' AND to_address = ANY ($2::citext[])`,
        [mailboxes[0], ['nobody@crm.test']],
      );
      const direct = (await rowsRead(c, 'outreach.messages')) - before - read;
      return {
        direct,
        fromFirst: await headers(c, fromFirst),
        anyMailbox: await headers(c, anyMailbox),
        misses,
        inbound: await ids(['reader@crm.test'], null)(c),
        ofB: await ids(['only-b@crm.test'], null)(c),
        read,
      };
    });
    expect(inA).toEqual({
      direct: expect.any(Number),
      fromFirst: ['<m7@acme.test>'],
      anyMailbox: ['<m7@acme.test>', '<second@acme.test>'],
      misses: [],
      inbound: [],
      ofB: [],
      // The index holds the address: p7's rows (one, then two), none for a miss; the policy-bound
      // question reads every message of the organisation.
      read: expect.any(Number),
    });
    expect(inA.read).toBeGreaterThanOrEqual(3);
    expect(inA.read).toBeLessThanOrEqual(4);
    expect(inA.direct).toBeGreaterThanOrEqual(LIST);
    const inB = await asWorker(workerUrl, orgB, (c) => ids(['only-b@crm.test'], null)(c));
    expect(inB).toHaveLength(1);
    await expect(asWorker(workerUrl, '', ids(['p7@crm.test'], null))).rejects.toMatchObject({
      code: 'PF001',
    });
  });
});

describe('migration 1000 on a database whose operator built its index beforehand', () => {
  it('finds the index built CONCURRENTLY (runbook run-migrations.md) and adds the rest', async () => {
    const { adminUrl } = await scratchDatabase('prebuilt');
    const migrator = roleUrl(adminUrl, ROLES.migrator);
    await migrate(migrator, { migrationsDir: migrationsBefore(20260101001000) });
    await query(
      migrator,
      `CREATE INDEX CONCURRENTLY IF NOT EXISTS messages_org_outbound_recipient_idx
         ON outreach.messages (organisation_id, (lower(to_address::text) COLLATE "C")) WHERE direction = 'outbound'`,
    );
    // Up to 1000 only: later migrations are not what this checks.
    const applied = await migrate(migrator, { migrationsDir: migrationsBefore(20260101001001) });
    expect(applied.map((m) => m.version)).toEqual([20260101001000]);
    const indexes = await query<{ n: number }>(
      adminUrl,
      `SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = 'outreach' AND indexdef LIKE '%lower((to_address)::text)%'`,
    );
    expect(indexes[0]!.n).toBe(1);
    const fn = await query<{ f: string | null }>(
      adminUrl,
      `SELECT to_regprocedure('app.outbound_message_ids_to(text[], uuid)')::text AS f`,
    );
    expect(fn[0]!.f).not.toBeNull();
  });
});
