import { type CatalogTable, GLOBAL_TABLES, isTenantTable } from '../catalog.js';
import { type Check, failIfAny } from './types.js';

/**
 * Lints the catalogue against what Citus needs to distribute tenant tables by organisation_id and
 * keep the iam global tables as reference tables (no live Citus here: it is a catalogue lint).
 */
export function citusProblems(catalog: CatalogTable[]): string[] {
  const problems: string[] = [];
  const tenant = new Set(catalog.filter(isTenantTable).map((t) => t.name));
  const reference = new Set<string>(GLOBAL_TABLES);
  for (const t of catalog) {
    if (tenant.has(t.name)) {
      const org = t.columns.find((c) => c.name === 'organisation_id')!;
      if (org.type !== 'uuid' || org.nullable)
        problems.push(`${t.name}.organisation_id must be uuid NOT NULL`);
      if (!t.primaryKey?.columns.includes('organisation_id'))
        problems.push(`${t.name}: primary key lacks organisation_id`);
      for (const u of t.uniques)
        if (!u.columns.includes('organisation_id'))
          problems.push(`${t.name}: ${u.name} lacks organisation_id`);
      for (const i of t.indexes.filter((x) => x.unique && !x.primary)) {
        if (!i.columns.includes('organisation_id'))
          problems.push(`${t.name}: unique index ${i.name} lacks organisation_id`);
      }
      for (const fk of t.foreignKeys) {
        const target = fk.references.table;
        if (tenant.has(target)) {
          const at = fk.columns.indexOf('organisation_id');
          if (at < 0 || fk.references.columns[at] !== 'organisation_id') {
            problems.push(`${t.name}: ${fk.name} does not pair organisation_id with organisation_id`);
          }
          if (
            fk.onDelete === 'SET NULL' ||
            fk.onDelete === 'SET DEFAULT' ||
            fk.onUpdate === 'SET NULL' ||
            fk.onUpdate === 'SET DEFAULT'
          ) {
            problems.push(
              `${t.name}: ${fk.name} uses SET NULL/SET DEFAULT on a key containing the distribution column`,
            );
          }
        } else if (!reference.has(target)) {
          problems.push(
            `${t.name}: ${fk.name} references ${target}, neither distributed nor a reference table`,
          );
        }
      }
      for (const p of t.policies) {
        if (/\bselect\b/i.test(`${p.using ?? ''} ${p.withCheck ?? ''}`))
          problems.push(`${t.name}: policy ${p.name} has a subquery`);
      }
    } else if (reference.has(t.name)) {
      for (const fk of t.foreignKeys) {
        if (!reference.has(fk.references.table)) {
          problems.push(
            `reference table ${t.name} has FK ${fk.name} to ${fk.references.table} (reference → distributed is not allowed)`,
          );
        }
      }
    } else {
      problems.push(`${t.name} has no organisation_id and is not a known global (reference) table`);
    }
  }
  return problems;
}

export const citusCheck: Check = {
  name: 'citus-distributable',
  description:
    'tenant tables distributable by organisation_id (keys/FKs include it); iam global tables can be reference tables',
  async run(ctx) {
    return failIfAny(citusProblems(await ctx.catalog()));
  },
};
