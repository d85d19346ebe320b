import { unknownNoticeVariables } from '@prospectflow/outreach-core';
import type { TenantClient } from '@prospectflow/tenant-context';
import { unprocessable } from '../lib/problem.js';

/** The organisation's privacy settings (iam.privacy_settings); no row means the defaults. */
export interface PrivacySettingsRow {
  privacy_notice_url: string | null;
  art14_notice: string | null;
  people_retention_days: number;
  open_events_retention_months: number;
  finished_tasks_retention_days: number;
  import_error_values_retention_days: number;
  audit_retention_days: number;
  retention_enabled: boolean;
}

/** API field → column, one list for reads and writes. */
export const SETTINGS_FIELDS = {
  privacyNoticeUrl: 'privacy_notice_url',
  art14Notice: 'art14_notice',
  peopleRetentionDays: 'people_retention_days',
  openEventsRetentionMonths: 'open_events_retention_months',
  finishedTasksRetentionDays: 'finished_tasks_retention_days',
  importErrorValuesRetentionDays: 'import_error_values_retention_days',
  auditRetentionDays: 'audit_retention_days',
  retentionEnabled: 'retention_enabled',
} as const satisfies Record<string, keyof PrivacySettingsRow>;

export type PrivacySettings = {
  [K in keyof typeof SETTINGS_FIELDS]: PrivacySettingsRow[(typeof SETTINGS_FIELDS)[K]];
};

const SELECT = Object.entries(SETTINGS_FIELDS)
  .map(([field, column]) => `s.${column} AS "${field}"`)
  .join(', ');

/**
 * The organisation's settings. The row is created with the column defaults on first read, so the
 * table's DEFAULTs are the one place the defaults (CNIL reference durations) are written down.
 */
export async function readSettings(client: TenantClient): Promise<PrivacySettings> {
  await client.query(
    'INSERT INTO iam.privacy_settings DEFAULT VALUES ON CONFLICT (organisation_id) DO NOTHING',
  );
  const { rows } = await client.query<PrivacySettings>(`SELECT ${SELECT} FROM iam.privacy_settings s`);
  return rows[0]!;
}

export async function retentionPolicy(client: TenantClient): Promise<PrivacySettingsRow> {
  const settings = await readSettings(client);
  return Object.fromEntries(
    Object.entries(SETTINGS_FIELDS).map(([field, column]) => [
      column,
      settings[field as keyof PrivacySettings],
    ]),
  ) as unknown as PrivacySettingsRow;
}

export async function writeSettings(
  client: TenantClient,
  changes: Partial<PrivacySettings>,
): Promise<PrivacySettings> {
  if (changes.art14Notice) {
    const bad = unknownNoticeVariables(changes.art14Notice);
    if (bad.length) {
      throw unprocessable(
        'unknown_template_variable',
        `The notice uses unknown variables: ${bad.join(', ')}`,
        {
          errors: [{ path: '/art14Notice', code: 'unknown_template_variable', message: bad.join(', ') }],
        },
      );
    }
  }
  const entries = Object.entries(changes).filter(([, value]) => value !== undefined);
  const columns = entries.map(([field]) => SETTINGS_FIELDS[field as keyof PrivacySettings]);
  const values = entries.map(([, value]) => value);
  await readSettings(client);
  if (columns.length > 0) {
    await client.query(
      `UPDATE iam.privacy_settings SET ${columns.map((c, i) => `${c} = $${i + 1}`).join(', ')}`,
      values,
    );
  }
  return await readSettings(client);
}
