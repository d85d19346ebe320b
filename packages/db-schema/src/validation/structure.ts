import { APP_SCHEMAS, GLOBAL_TABLES, isTenantTable } from '../catalog.js';
import { queryRows } from '../client.js';
import { migrationStatus, SCHEMA_VERSION_TABLE } from '../migrations.js';
import { ROLES } from '../roles.js';
import { type Check, failIfAny } from './types.js';

/** Tables the seeds and issue 3 require (more may exist). */
export const REQUIRED_TABLES = [
  'iam.organisations',
  'iam.users',
  'iam.organisation_users',
  'crm.companies',
  'crm.people',
  'crm.positions',
  'outreach.mailboxes',
  'outreach.campaigns',
  'outreach.workflow_steps',
  'outreach.prompts',
  'outreach.tasks',
  'outreach.messages',
  'outreach.step_experiments',
  'outreach.step_experiment_variants',
  'outreach.campaign_enrollments',
  'outreach.enrollment_step_variant_assignments',
  'outreach.suppressions',
  'outreach.sending_domains',
  'outreach.mailbox_sync_states',
  'outreach.campaign_mailboxes',
  'tracking.pixels',
  'tracking.message_open_stats',
  'tracking.campaign_daily_stats',
] as const;

/** Column names whose values are an enumeration and must be guarded by a CHECK. */
const ENUM_LIKE = /^((.*_)?(status|role|direction|kind|purpose|action|state|type)|reason)$/;
/** Columns named like an enumeration that hold free text (a sentence for the operator). */
const FREE_TEXT = new Set(['legacy.source_tables.reason']);

/**
 * Indexes deliberately not led by organisation_id: global look-ups used only by the SECURITY
 * DEFINER resolvers of public endpoints that do not know the organisation yet (documented in the
 * migration). Anything else must lead with organisation_id.
 */
export const GLOBAL_LOOKUP_INDEXES = new Set([
  'outreach.messages_message_id_lookup_idx', // app.organisation_for_message_ids (inbound replies)
  'outreach.messages_unsubscribe_token_lookup_idx', // app.organisation_for_unsubscribe_token
  'tracking.pixels_token_lookup_idx', // app.organisation_for_pixel_token
  'outreach.mailboxes_from_address_lookup_idx', // app.organisation_for_mailbox_address (inbound webhook)
  'outreach.tasks_claim_idx', // app.claim_tasks (the queue is claimed across organisations)
  'outreach.tasks_lease_expiry_idx', // app.requeue_expired_tasks
  'outreach.tasks_import_claim_idx', // app.claim_import_tasks (imports claimed across organisations)
  'iam.organisation_invitations_email_lookup_idx', // app.user_invitations (the invitee has no organisation yet)
]);

export const structureChecks: Check[] = [
  {
    name: 'server-version',
    description: 'PostgreSQL 15 or later',
    async run(ctx) {
      const [row] = await queryRows<{ v: number; s: string }>(
        ctx.migratorUrl,
        `SELECT current_setting('server_version_num')::int AS v, current_setting('server_version') AS s`,
      );
      return failIfAny(row!.v < 150000 ? [`server ${row!.s} is older than 15`] : []) ?? row!.s;
    },
  },
  {
    name: 'extensions',
    description: 'pgcrypto and citext are installed',
    async run(ctx) {
      const rows = await queryRows<{ extname: string }>(ctx.migratorUrl, 'SELECT extname FROM pg_extension');
      const have = new Set(rows.map((r) => r.extname));
      return failIfAny(
        ['pgcrypto', 'citext'].filter((e) => !have.has(e)).map((e) => `extension ${e} is missing`),
      );
    },
  },
  {
    name: 'schemas',
    description: `schemas app, ${APP_SCHEMAS.join(', ')} exist; no table lives anywhere else (the suite checks these)`,
    async run(ctx) {
      const rows = await queryRows<{ nspname: string }>(ctx.migratorUrl, 'SELECT nspname FROM pg_namespace');
      const have = new Set(rows.map((r) => r.nspname));
      // A table in a schema this suite does not read would escape every tenant check (RLS, keys,
      // isolation), the Prisma drift test and schema.sql.
      const strays = await queryRows<{ t: string }>(
        ctx.migratorUrl,
        `SELECT c.oid::regclass::text AS t FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
          WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND n.nspname <> ALL($1) AND n.nspname NOT IN ('pg_catalog', 'information_schema')
            AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
            AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
            AND c.oid <> to_regclass($2)
          ORDER BY 1`,
        [APP_SCHEMAS, SCHEMA_VERSION_TABLE],
      );
      return failIfAny([
        ...['app', ...APP_SCHEMAS].filter((s) => !have.has(s)).map((s) => `schema ${s} is missing`),
        ...strays.map((r) => `${r.t} is outside the checked schemas (${APP_SCHEMAS.join(', ')})`),
      ]);
    },
  },
  {
    name: 'tables',
    description: 'every required table exists, owned by the migrator',
    async run(ctx) {
      const catalog = await ctx.catalog();
      const names = new Set(catalog.map((t) => t.name));
      return (
        failIfAny([
          ...REQUIRED_TABLES.filter((t) => !names.has(t)).map((t) => `table ${t} is missing`),
          ...catalog.filter((t) => t.owner !== ROLES.migrator).map((t) => `${t.name} is owned by ${t.owner}`),
        ]) ?? `${catalog.length} tables`
      );
    },
  },
  {
    name: 'migration-history',
    description: 'every migration file is applied, none changed since it ran',
    async run(ctx) {
      const status = await migrationStatus(ctx.migratorUrl, { migrationsDir: ctx.migrationsDir });
      return (
        failIfAny([
          ...status.pending.map((m) => `migration ${m.version} ${m.name} is not applied`),
          ...status.outOfOrder.map(
            (m) => `migration ${m.version} ${m.name} is older than the current version and was never applied`,
          ),
          ...status.applied
            .filter((m) => m.changed)
            .map((m) => `migration ${m.version} ${m.name} changed after it ran`),
          ...status.applied
            .filter((m) => !m.file)
            .map((m) => `applied migration ${m.version} ${m.name} has no file`),
        ]) ?? `${status.applied.length} applied, current ${status.currentVersion}`
      );
    },
  },
  {
    name: 'tenant-primary-keys',
    description: 'every tenant table has PRIMARY KEY (organisation_id, id)',
    async run(ctx) {
      const tenant = (await ctx.catalog()).filter(isTenantTable);
      return failIfAny(
        tenant
          .filter((t) => t.primaryKey?.columns.join(',') !== 'organisation_id,id')
          .map((t) => `${t.name} primary key is (${t.primaryKey?.columns.join(', ') ?? 'none'})`),
      );
    },
  },
  {
    name: 'tenant-uniques-and-indexes',
    description:
      'every UNIQUE and every index of a tenant table leads with organisation_id (documented global look-ups aside)',
    async run(ctx) {
      const problems: string[] = [];
      for (const t of (await ctx.catalog()).filter(isTenantTable)) {
        for (const u of t.uniques)
          if (u.columns[0] !== 'organisation_id') problems.push(`${t.name}: ${u.name} ${u.definition}`);
        for (const i of t.indexes) {
          if (i.columns[0] === 'organisation_id' || GLOBAL_LOOKUP_INDEXES.has(`${t.schema}.${i.name}`))
            continue;
          problems.push(`${t.name}: ${i.definition}`);
        }
      }
      return failIfAny(problems);
    },
  },
  {
    name: 'tenant-foreign-keys',
    description:
      'tenant→tenant FKs are (organisation_id, x) → (organisation_id, id), no SET NULL/DEFAULT on them; no global→tenant FK',
    async run(ctx) {
      const catalog = await ctx.catalog();
      const tenant = new Set(catalog.filter(isTenantTable).map((t) => t.name));
      const problems: string[] = [];
      for (const t of catalog) {
        for (const fk of t.foreignKeys) {
          const target = fk.references.table;
          if (!tenant.has(t.name) && tenant.has(target))
            problems.push(`global ${t.name} references tenant ${target} (${fk.name})`);
          if (!tenant.has(t.name) || !tenant.has(target)) continue;
          if (
            fk.columns[0] !== 'organisation_id' ||
            fk.references.columns.join(',') !== 'organisation_id,id'
          ) {
            problems.push(`${t.name}: ${fk.name} ${fk.definition} is not composite on organisation_id`);
          }
          if (fk.onDelete === 'SET NULL' || fk.onDelete === 'SET DEFAULT') {
            problems.push(
              `${t.name}: ${fk.name} uses ON DELETE ${fk.onDelete} on a key containing organisation_id`,
            );
          }
        }
      }
      return failIfAny(problems);
    },
  },
  {
    name: 'rls-forced',
    description: 'RLS ENABLE + FORCE on every table with organisation_id',
    async run(ctx) {
      const tenant = (await ctx.catalog()).filter(isTenantTable);
      return (
        failIfAny(
          tenant
            .filter((t) => !t.rls.enabled || !t.rls.forced)
            .map((t) => `${t.name}: enabled=${t.rls.enabled} forced=${t.rls.forced}`),
        ) ?? `${tenant.length} tenant tables`
      );
    },
  },
  {
    name: 'rls-policy',
    description: 'exactly one permissive FOR ALL policy, USING and WITH CHECK on organisation_id, no OR',
    async run(ctx) {
      const problems: string[] = [];
      const expected = /^\(?organisation_id = app\.current_organisation_id\(\)\)?$/;
      for (const t of (await ctx.catalog()).filter(isTenantTable)) {
        const all = t.policies.filter((p) => p.command === 'ALL');
        if (t.policies.length !== 1 || all.length !== 1) {
          problems.push(
            `${t.name}: ${t.policies.length} policies (${t.policies.map((p) => `${p.name}:${p.command}`).join(', ')})`,
          );
          continue;
        }
        const p = all[0]!;
        for (const [what, expr] of [
          ['USING', p.using],
          ['WITH CHECK', p.withCheck],
        ] as const) {
          if (!expr || !expected.test(expr.trim()) || /\bOR\b/i.test(expr))
            problems.push(`${t.name}: ${p.name} ${what} is ${expr}`);
        }
        if (!p.permissive) problems.push(`${t.name}: ${p.name} is restrictive`);
      }
      for (const name of GLOBAL_TABLES) {
        const t = (await ctx.catalog()).find((x) => x.name === name);
        if (t && isTenantTable(t)) problems.push(`${name} is listed as global but has organisation_id`);
      }
      return failIfAny(problems);
    },
  },
  {
    name: 'updated-at-triggers',
    description: 'every table with updated_at has a BEFORE UPDATE trigger calling app.set_updated_at()',
    async run(ctx) {
      const rows = await queryRows<{ t: string }>(
        ctx.migratorUrl,
        `SELECT n.nspname || '.' || c.relname AS t
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'updated_at' AND NOT a.attisdropped
          WHERE c.relkind = 'r' AND n.nspname = ANY($1)
            AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal
                              AND g.tgfoid = 'app.set_updated_at()'::regprocedure
                              AND (g.tgtype & 2) = 2 AND (g.tgtype & 16) = 16)`,
        [APP_SCHEMAS],
      );
      return failIfAny(
        rows.map((r) => `${r.t} has updated_at but no BEFORE UPDATE app.set_updated_at() trigger`),
      );
    },
  },
  {
    name: 'enum-checks',
    description: 'every enum-like column (status, role, direction, …) is guarded by a CHECK',
    async run(ctx) {
      const problems: string[] = [];
      for (const t of await ctx.catalog()) {
        for (const c of t.columns.filter(
          (col) =>
            ENUM_LIKE.test(col.name) && col.baseType === 'text' && !FREE_TEXT.has(`${t.name}.${col.name}`),
        )) {
          const guarded = t.checks.some((k) => new RegExp(`\\b${c.name}\\b`).test(k.definition));
          if (!guarded) problems.push(`${t.name}.${c.name} has no CHECK`);
        }
      }
      return failIfAny(problems);
    },
  },
];
