import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { CatalogTable } from '../../src/catalog.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('../../', import.meta.url));
export const SCHEMA_PATH = path.join(packageDir, 'prisma/schema.prisma');

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: 'scalar' | 'object' | 'enum' | 'unsupported';
  isList: boolean;
  isRequired: boolean;
  isUnique: boolean;
  isId: boolean;
  hasDefaultValue: boolean;
  type: string;
  nativeType?: [string, string[]] | null;
  relationFromFields?: string[];
  relationToFields?: string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  schema: string | null;
  fields: DmmfField[];
  primaryKey: { fields: string[] } | null;
  uniqueIndexes: { fields: string[] }[];
}
export interface Datamodel {
  models: DmmfModel[];
}

/**
 * Parses a schema.prisma with Prisma's own parser, offline: `prisma generate` runs a tiny local
 * generator (prisma/dmmf-generator.mjs) that receives the DMMF and writes it out.
 */
export async function readDatamodel(schemaText: string): Promise<Datamodel> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pf-dmmf-'));
  try {
    const output = path.join(dir, 'dmmf.json');
    const generator = path.join(packageDir, 'prisma/dmmf-generator.mjs');
    const schema = schemaText.replace(
      /generator client \{[\s\S]*?\n\}/,
      `generator dmmf {\n  provider = ${JSON.stringify(`node ${generator}`)}\n  output   = ${JSON.stringify(output)}\n}`,
    );
    fs.writeFileSync(path.join(dir, 'schema.prisma'), schema);
    await run(
      process.execPath,
      [
        path.join(packageDir, 'node_modules/prisma/build/index.js'),
        'generate',
        '--schema',
        path.join(dir, 'schema.prisma'),
      ],
      {
        cwd: dir,
        env: {
          ...process.env,
          PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
          DATABASE_URL: 'postgresql://prisma-generate@localhost:5432/unused',
          PRISMA_HIDE_UPDATE_MESSAGE: '1',
          CHECKPOINT_DISABLE: '1',
        },
      },
    );
    return JSON.parse(fs.readFileSync(output, 'utf8')) as Datamodel;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** What a PostgreSQL column must look like in Prisma: scalar type and native type attribute. */
function expectedType(column: CatalogTable['columns'][number]): { type: string; native: string | null } {
  const byBase: Record<string, [string, string | null]> = {
    uuid: ['String', 'Uuid'],
    text: ['String', null],
    citext: ['String', 'Citext'],
    varchar: ['String', 'VarChar'],
    int4: ['Int', null],
    int2: ['Int', 'SmallInt'],
    int8: ['BigInt', null],
    bool: ['Boolean', null],
    timestamptz: ['DateTime', 'Timestamptz'],
    timestamp: ['DateTime', 'Timestamp'],
    date: ['DateTime', 'Date'],
    time: ['DateTime', 'Time'],
    jsonb: ['Json', null],
    json: ['Json', 'Json'],
    numeric: ['Decimal', 'Decimal'],
    float8: ['Float', null],
    bytea: ['Bytes', null],
    inet: ['String', 'Inet'],
  };
  const [type, native] = byBase[column.baseType] ?? [`Unsupported(${column.type})`, null];
  return { type, native };
}

const ACTIONS: Record<string, string> = {
  CASCADE: 'Cascade',
  RESTRICT: 'Restrict',
  'SET NULL': 'SetNull',
  'SET DEFAULT': 'SetDefault',
  'NO ACTION': 'NoAction',
};

/**
 * Every difference between the Prisma models and the live catalogue: tables, columns, types,
 * nullability, defaults, primary keys, unique constraints and foreign keys (with actions).
 */
export function diffPrismaAgainstCatalog(datamodel: Datamodel, catalog: CatalogTable[]): string[] {
  const problems: string[] = [];
  const models = new Map(datamodel.models.map((m) => [`${m.schema ?? 'public'}.${m.dbName ?? m.name}`, m]));
  const tables = new Map(catalog.map((t) => [t.name, t]));
  for (const name of tables.keys()) if (!models.has(name)) problems.push(`table ${name} has no Prisma model`);
  for (const [name, model] of models)
    if (!tables.has(name)) problems.push(`model ${model.name} maps to ${name}, which does not exist`);

  for (const [name, model] of models) {
    const table = tables.get(name);
    if (!table) continue;
    const column = (field: DmmfField) => field.dbName ?? field.name;
    const scalars = model.fields.filter((f) => f.kind !== 'object');
    const toColumn = new Map(scalars.map((f) => [f.name, column(f)]));
    const cols = (fields: string[]) => fields.map((f) => toColumn.get(f) ?? `?${f}`).join(',');
    const byColumn = new Map(scalars.map((f) => [column(f), f]));

    for (const c of table.columns) {
      const field = byColumn.get(c.name);
      if (!field) {
        problems.push(`${name}.${c.name} is missing from model ${model.name}`);
        continue;
      }
      const want = expectedType(c);
      const native = field.nativeType?.[0] ?? null;
      if (field.type !== want.type || native !== want.native) {
        problems.push(
          `${name}.${c.name} is ${c.type} but the model says ${field.type}${native ? ` @db.${native}` : ''}`,
        );
      }
      if (field.isList !== c.isArray)
        problems.push(`${name}.${c.name}: list ${field.isList} vs array ${c.isArray}`);
      const nullable = !field.isRequired && !field.isList;
      if (nullable !== c.nullable)
        problems.push(`${name}.${c.name}: nullable ${c.nullable} in SQL, ${nullable} in Prisma`);
      if (field.hasDefaultValue !== (c.default !== null)) {
        problems.push(
          `${name}.${c.name}: default ${c.default ?? 'none'} in SQL, ${field.hasDefaultValue ? 'a default' : 'none'} in Prisma`,
        );
      }
    }
    for (const [col, field] of byColumn) {
      if (!table.columns.some((c) => c.name === col))
        problems.push(`model ${model.name}.${field.name} maps to missing column ${name}.${col}`);
    }

    const pk = model.primaryKey
      ? cols(model.primaryKey.fields)
      : cols(scalars.filter((f) => f.isId).map((f) => f.name));
    const sqlPk = table.primaryKey?.columns.join(',') ?? '';
    if (pk !== sqlPk) problems.push(`${name}: primary key (${sqlPk}) in SQL, (${pk}) in Prisma`);

    const prismaUniques = new Set([
      ...model.uniqueIndexes.map((u) => cols(u.fields)),
      ...scalars.filter((f) => f.isUnique).map((f) => column(f)),
    ]);
    const sqlUniques = new Set(table.uniques.map((u) => u.columns.join(',')));
    for (const u of sqlUniques)
      if (!prismaUniques.has(u)) problems.push(`${name}: UNIQUE (${u}) is missing in Prisma`);
    for (const u of prismaUniques)
      if (!sqlUniques.has(u)) problems.push(`${name}: Prisma declares UNIQUE (${u}) that SQL lacks`);

    const describeFk = (from: string, target: string, to: string, onDelete: string, onUpdate: string) =>
      `(${from}) → ${target}(${to}) ON DELETE ${onDelete} ON UPDATE ${onUpdate}`;
    const prismaFks = new Set(
      model.fields
        .filter((f) => f.kind === 'object' && f.relationFromFields && f.relationFromFields.length > 0)
        .map((f) => {
          const target = datamodel.models.find((m) => m.name === f.type)!;
          const targetColumns = new Map(target.fields.map((tf) => [tf.name, tf.dbName ?? tf.name]));
          const required = f.relationFromFields!.every(
            (from) => scalars.find((s) => s.name === from)?.isRequired,
          );
          return describeFk(
            cols(f.relationFromFields!),
            `${target.schema ?? 'public'}.${target.dbName ?? target.name}`,
            f.relationToFields!.map((t) => targetColumns.get(t) ?? t).join(','),
            f.relationOnDelete ?? (required ? 'Restrict' : 'SetNull'),
            f.relationOnUpdate ?? 'Cascade',
          );
        }),
    );
    const sqlFks = new Set(
      table.foreignKeys.map((fk) =>
        describeFk(
          fk.columns.join(','),
          fk.references.table,
          fk.references.columns.join(','),
          ACTIONS[fk.onDelete]!,
          ACTIONS[fk.onUpdate]!,
        ),
      ),
    );
    for (const fk of sqlFks) if (!prismaFks.has(fk)) problems.push(`${name}: FK ${fk} is missing in Prisma`);
    for (const fk of prismaFks)
      if (!sqlFks.has(fk)) problems.push(`${name}: Prisma relation ${fk} has no matching FK`);
  }
  return problems;
}
