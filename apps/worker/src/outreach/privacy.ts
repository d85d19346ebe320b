import {
  type SubjectKeys,
  subjectHmac,
  type TemplateValues,
  usesVariable,
} from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import type { Pool } from 'pg';
import { inTenant } from '../queue/sql.js';

/**
 * Privacy pieces of a send (issue 18): the Art. 14 notice variables and the keyed-hash
 * suppression list. Kept out of the send path's statements: only templates that use
 * {{privacy.*}} cost a read, and the hash list is cached per organisation.
 */

const CACHE_MS = 30_000;
const cache = new Map<string, { at: number; hashes: Promise<Set<string>> }>();

function hashesOf(pool: Pool, organisationId: string, now: number): Promise<Set<string>> {
  const hit = cache.get(organisationId);
  if (hit && now - hit.at < CACHE_MS) return hit.hashes;
  const hashes = inTenant(pool, organisationId, async (client) => {
    const { rows } = await client.query<{ key_version: number; email_hmac: Buffer }>(
      'SELECT key_version, email_hmac FROM outreach.suppression_hashes',
    );
    return new Set(rows.map((r) => `${r.key_version}:${r.email_hmac.toString('hex')}`));
  });
  hashes.catch(() => cache.delete(organisationId));
  cache.set(organisationId, { at: now, hashes });
  return hashes;
}

/**
 * Whether the address belongs to an erased or objecting person. Erasure removes their
 * enrollments and the recipient page unsubscribes them, so this is the last line: it also stops
 * an address that came back by a path that skipped the checks (direct SQL, a restored backup).
 * The list is read at most every 30 s per organisation.
 */
export async function isSuppressedSubject(
  pool: Pool,
  organisationId: string,
  keys: SubjectKeys,
  email: string,
  now = Date.now(),
): Promise<boolean> {
  const hashes = await hashesOf(pool, organisationId, now);
  if (hashes.size === 0) return false;
  return keys.all.some((key) => hashes.has(`${key.version}:${subjectHmac(email, key).toString('hex')}`));
}

export interface NoticeValues {
  values: TemplateValues;
  /** The rendered message carries the organisation's Art. 14 notice. */
  carriesNotice: boolean;
}

/**
 * {{privacy.*}} values for a position, read only when one of the templates uses them.
 * {{privacy.source}} is written for the recipient (Art. 14(2)(f)): the import file (and its
 * kind) or "entered by a user" (the API), "entered by the organisation" (no user: seeds, scripts),
 * "source not recorded" (rows older than provenance), then the date, e.g.
 * "leads-2026.csv (import CSV), 2026-01-15" — never the internal source code ('api', 'system').
 */
export async function privacyValues(
  pool: Pool,
  client: TenantClient | undefined,
  organisationId: string,
  positionId: string,
  templates: (string | null)[],
): Promise<NoticeValues> {
  const used = templates.some(
    (t) =>
      t &&
      (usesVariable(t, 'privacy.notice') ||
        usesVariable(t, 'privacy.source') ||
        usesVariable(t, 'privacy.notice_url')),
  );
  if (!used) return { values: {}, carriesNotice: false };
  const read = async (c: TenantClient) =>
    (
      await c.query<{ notice: string | null; notice_url: string | null; source: string }>(
        `SELECT s.art14_notice AS notice, s.privacy_notice_url AS notice_url,
                CASE p.created_source
                     WHEN 'api' THEN 'entered by a user'
                     WHEN 'system' THEN 'entered by the organisation'
                     WHEN 'unknown' THEN 'source not recorded'
                     ELSE coalesce(i.file_name, 'import') || ' (import ' || upper(p.created_source) || ')'
                END || ', ' || to_char(p.created_at, 'YYYY-MM-DD') AS source
           FROM crm.positions p
           LEFT JOIN crm.imports i ON i.id = p.created_import_id
           LEFT JOIN iam.privacy_settings s ON s.organisation_id = p.organisation_id
          WHERE p.id = $1`,
        [positionId],
      )
    ).rows[0];
  const row = client ? await read(client) : await inTenant(pool, organisationId, read);
  const base: TemplateValues = { 'privacy.source': row?.source, 'privacy.notice_url': row?.notice_url };
  // The notice is itself a template (it may use {{privacy.source}}); the caller renders it first.
  return {
    values: { ...base, 'privacy.notice': row?.notice ?? undefined },
    carriesNotice: templates.some((t) => t && usesVariable(t, 'privacy.notice')) && !!row?.notice,
  };
}
