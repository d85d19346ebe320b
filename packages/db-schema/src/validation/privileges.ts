import { APP_SCHEMAS } from '../catalog.js';
import { queryRows } from '../client.js';
import { ROLES } from '../roles.js';
import { type Check, failIfAny } from './types.js';

// The roles' privileges: what the runtime roles may touch, and what the SECURITY DEFINER
// functions run with.

/**
 * Each privilege a role ($1, text[]) holds on a relation, however it came (its own grant, PUBLIC's,
 * on the table or on one of its columns), as `role has PRIVILEGE on schema.table`. Callers add
 * AND conditions on n (pg_namespace), c (pg_class) and p.privilege.
 */
const RELATION_PRIVILEGES = `
SELECT r.role || ' has ' || p.privilege || ' on ' || n.nspname || '.' || c.relname AS g
  FROM pg_class AS c
  JOIN pg_namespace AS n ON n.oid = c.relnamespace
 CROSS JOIN unnest($1::text[]) AS r(role)
 CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']) AS p(privilege)
 CROSS JOIN LATERAL (SELECT CASE WHEN p.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES')
                                 THEN has_any_column_privilege(r.role, c.oid, p.privilege)
                                 ELSE has_table_privilege(r.role, c.oid, p.privilege) END AS held) AS h
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND h.held`;

export const privilegeChecks: Check[] = [
  {
    name: 'runtime-role-attributes',
    description:
      'app/worker: not superuser, NOBYPASSRLS, own nothing, no TRUNCATE/REFERENCES/TRIGGER, no SET of the tenant',
    async run(ctx) {
      const runtime = [ROLES.app, ROLES.worker];
      const problems: string[] = [];
      const roles = await queryRows<{ rolname: string; rolsuper: boolean; rolbypassrls: boolean }>(
        ctx.migratorUrl,
        'SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = ANY($1)',
        [runtime],
      );
      for (const role of runtime) {
        const r = roles.find((x) => x.rolname === role);
        if (!r) problems.push(`role ${role} is missing`);
        else if (r.rolsuper || r.rolbypassrls)
          problems.push(`${role}: superuser=${r.rolsuper} bypassrls=${r.rolbypassrls}`);
      }
      const owned = await queryRows<{ o: string }>(
        ctx.migratorUrl,
        `SELECT pg_get_userbyid(relowner) || ' owns ' || relnamespace::regnamespace || '.' || relname AS o
           FROM pg_class WHERE pg_get_userbyid(relowner) = ANY($1)
         UNION ALL
         SELECT pg_get_userbyid(proowner) || ' owns function ' || proname FROM pg_proc WHERE pg_get_userbyid(proowner) = ANY($1)`,
        [runtime],
      );
      problems.push(...owned.map((r) => r.o));
      // has_*_privilege, not the grant lists: a grant to PUBLIC is the role's too.
      const grants = await queryRows<{ g: string }>(
        ctx.migratorUrl,
        `${RELATION_PRIVILEGES}
            AND p.privilege IN ('TRUNCATE', 'REFERENCES', 'TRIGGER')
            AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_toast'
          ORDER BY 1`,
        [runtime],
      );
      problems.push(...grants.map((r) => r.g));
      const settings = await queryRows<{ s: string }>(
        ctx.migratorUrl,
        `SELECT coalesce(setrole::regrole::text, '*') || '/' || coalesce((SELECT datname FROM pg_database WHERE oid = setdatabase), '*')
                || ': ' || array_to_string(setconfig, ',') AS s
           FROM pg_db_role_setting WHERE array_to_string(setconfig, ',') LIKE '%app.organisation_id%'`,
      );
      problems.push(...settings.map((r) => `ALTER ROLE/DATABASE … SET app.organisation_id exists: ${r.s}`));
      return failIfAny(problems);
    },
  },
  {
    name: 'runtime-roles-tenant-tables-only',
    description:
      'app/worker hold no privilege, on the table or a column, on a table without organisation_id (the global iam tables go through narrow functions)',
    async run(ctx) {
      // has_*_privilege, not the grant lists: a grant to PUBLIC is the role's too. The history
      // table (public) has no organisation_id either; extensions' own objects are not ours.
      const rows = await queryRows<{ g: string }>(
        ctx.migratorUrl,
        `${RELATION_PRIVILEGES}
            AND n.nspname = ANY($2)
            AND NOT EXISTS (SELECT 1 FROM pg_attribute AS a
                             WHERE a.attrelid = c.oid AND a.attname = 'organisation_id' AND NOT a.attisdropped)
            AND NOT EXISTS (SELECT 1 FROM pg_depend AS d
                             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
          ORDER BY 1`,
        [
          [ROLES.app, ROLES.worker],
          ['public', ...APP_SCHEMAS],
        ],
      );
      return failIfAny(rows.map((r) => r.g));
    },
  },
  {
    name: 'functions-not-public',
    description: 'no function of the app schemas is executable by PUBLIC (each is granted to its callers)',
    async run(ctx) {
      const rows = await queryRows<{ f: string }>(
        ctx.migratorUrl,
        `SELECT p.oid::regprocedure::text AS f
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = ANY($1) AND has_function_privilege('public', p.oid, 'EXECUTE')
          ORDER BY 1`,
        [['app', ...APP_SCHEMAS]],
      );
      return failIfAny(rows.map((r) => `${r.f} is executable by PUBLIC`));
    },
  },
  {
    name: 'security-definer-search-path',
    description: 'every SECURITY DEFINER function pins its search_path with pg_temp named last',
    async run(ctx) {
      // Unnamed, pg_temp is searched FIRST for relations and types: a runtime role's temp domain
      // (e.g. pg_temp.uuid with a CHECK calling its own function) would run as the owner (migration 1008).
      const rows = await queryRows<{ f: string }>(
        ctx.migratorUrl,
        `SELECT p.oid::regprocedure::text || ': ' || coalesce(array_to_string(p.proconfig, ','), 'no SET') AS f
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE p.prosecdef AND n.nspname = ANY($1)
            AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) AS c(setting)
                             WHERE c.setting ~ '^search_path=(.*, *)?pg_temp$')
          ORDER BY 1`,
        [['app', ...APP_SCHEMAS]],
      );
      return failIfAny(rows.map((r) => `${r.f} (search_path must end with pg_temp)`));
    },
  },
];
