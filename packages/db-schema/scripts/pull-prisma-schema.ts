/**
 * Writes prisma/schema.prisma from a migrated database's catalogue — our offline stand-in for
 * `prisma db pull` (which needs the native schema engine). Run after changing a migration:
 *   MIGRATION_DATABASE_URL=… pnpm db:pull-prisma
 * The drift test then proves the committed schema mirrors the SQL.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { type CatalogForeignKey, type CatalogTable, readCatalog } from '../src/catalog.js';

const IRREGULAR: Record<string, string> = { people: 'Person', companies: 'Company', audit_log: 'AuditLog' };

const pascal = (s: string) => s.replace(/(^|_)([a-z0-9])/g, (_, __, c: string) => c.toUpperCase());
const camel = (s: string) => {
  const p = pascal(s);
  return p.charAt(0).toLowerCase() + p.slice(1);
};

export function modelName(table: string): string {
  if (IRREGULAR[table]) return IRREGULAR[table];
  const words = table.split('_');
  const last = words.pop()!;
  const singular = last.endsWith('ies')
    ? `${last.slice(0, -3)}y`
    : /(x|sh|ch|ss)es$/.test(last)
      ? last.slice(0, -2)
      : last.endsWith('s')
        ? last.slice(0, -1)
        : last;
  return pascal([...words, singular].join('_'));
}

function scalar(column: CatalogTable['columns'][number]): { type: string; native: string | null } {
  const t = column.type.replace(/\[\]$/, '');
  const list = column.isArray ? '[]' : '';
  const m =
    /^(character varying|numeric|time without time zone|timestamp without time zone|timestamp with time zone)(?:\((\d+(?:,\d+)?)\))?/.exec(
      t,
    );
  const prec = m?.[2];
  switch (column.baseType) {
    case 'uuid':
      return { type: `String${list}`, native: '@db.Uuid' };
    case 'text':
      return { type: `String${list}`, native: null };
    case 'citext':
      return { type: `String${list}`, native: '@db.Citext' };
    case 'varchar':
      return { type: `String${list}`, native: `@db.VarChar${prec ? `(${prec})` : ''}` };
    case 'int4':
      return { type: `Int${list}`, native: null };
    case 'int2':
      return { type: `Int${list}`, native: '@db.SmallInt' };
    case 'int8':
      return { type: `BigInt${list}`, native: null };
    case 'bool':
      return { type: `Boolean${list}`, native: null };
    case 'timestamptz':
      return { type: `DateTime${list}`, native: `@db.Timestamptz(${prec ?? 6})` };
    case 'timestamp':
      return { type: `DateTime${list}`, native: `@db.Timestamp(${prec ?? 6})` };
    case 'date':
      return { type: `DateTime${list}`, native: '@db.Date' };
    case 'time':
      return { type: `DateTime${list}`, native: `@db.Time(${prec ?? 6})` };
    case 'jsonb':
      return { type: `Json${list}`, native: null };
    case 'json':
      return { type: `Json${list}`, native: '@db.Json' };
    case 'numeric':
      return { type: `Decimal${list}`, native: prec ? `@db.Decimal(${prec})` : null };
    case 'float8':
      return { type: `Float${list}`, native: null };
    case 'bytea':
      return { type: `Bytes${list}`, native: null };
    case 'inet':
      return { type: `String${list}`, native: '@db.Inet' };
    default:
      return { type: `Unsupported("${column.type}")`, native: null };
  }
}

function defaultAttribute(value: string | null): string {
  if (value === null) return '';
  if (value === 'now()' || value === 'CURRENT_TIMESTAMP') return ' @default(now())';
  return ` @default(dbgenerated(${JSON.stringify(value)}))`;
}

const ACTION: Record<CatalogForeignKey['onDelete'], string> = {
  CASCADE: 'Cascade',
  RESTRICT: 'Restrict',
  'SET NULL': 'SetNull',
  'SET DEFAULT': 'SetDefault',
  'NO ACTION': 'NoAction',
};

export function renderPrismaSchema(tables: CatalogTable[]): string {
  const byName = new Map(tables.map((t) => [t.name, t]));
  const models = new Map(tables.map((t) => [t.name, modelName(t.table)]));
  const fields = new Map<string, string[]>(tables.map((t) => [t.name, []]));
  const taken = new Map<string, Set<string>>(
    tables.map((t) => [t.name, new Set(t.columns.map((c) => camel(c.name)))]),
  );
  const claim = (table: string, wanted: string, fallback: string) => {
    const used = taken.get(table)!;
    let name = used.has(wanted) ? fallback : wanted;
    for (let i = 2; used.has(name); i++) name = `${fallback}${i}`;
    used.add(name);
    return name;
  };

  for (const table of tables) {
    for (const fk of table.foreignKeys) {
      const target = byName.get(fk.references.table);
      if (!target)
        throw new Error(`${table.name}.${fk.name} references ${fk.references.table}, outside the schemas`);
      const targetModel = models.get(target.name)!;
      const own = fk.columns.filter((c) => c !== 'organisation_id' || fk.columns.length === 1);
      const base = camel(own[own.length - 1]!.replace(/_id$/, ''));
      const fieldName = claim(table.name, base, `${base}${targetModel}`);
      const optional = fk.columns.some((c) => table.columns.find((col) => col.name === c)!.nullable);
      const relation = fk.name;
      fields
        .get(table.name)!
        .push(
          `  ${fieldName} ${targetModel}${optional ? '?' : ''} @relation(${JSON.stringify(relation)}, fields: [${fk.columns
            .map(camel)
            .join(', ')}], references: [${fk.references.columns.map(camel).join(', ')}], onDelete: ${
            ACTION[fk.onDelete]
          }, onUpdate: ${ACTION[fk.onUpdate]}, map: ${JSON.stringify(fk.name)})`,
        );
      const backBase = camel(table.table);
      const back = claim(target.name, backBase, `${backBase}By${pascal(own[own.length - 1]!)}`);
      fields
        .get(target.name)!
        .push(`  ${back} ${models.get(table.name)}[] @relation(${JSON.stringify(relation)})`);
    }
  }

  const out: string[] = [
    '// Mirrors the SQL migrations (the source of truth). Regenerate with `pnpm db:pull-prisma`',
    '// after a migration changes; test/prisma-drift.test.ts fails on any difference.',
    '',
    'generator client {',
    '  provider     = "prisma-client"',
    '  output       = "../generated/prisma"',
    '  moduleFormat = "esm"',
    '  runtime      = "nodejs"',
    '}',
    '',
    'datasource db {',
    '  provider = "postgresql"',
    `  schemas  = [${[...new Set(tables.map((t) => t.schema))].map((s) => JSON.stringify(s)).join(', ')}]`,
    '}',
  ];
  for (const table of tables) {
    out.push('', `model ${models.get(table.name)} {`);
    const pk = table.primaryKey?.columns ?? [];
    for (const column of table.columns) {
      const { type, native } = scalar(column);
      const name = camel(column.name);
      const single = pk.length === 1 && pk[0] === column.name;
      const parts = [
        `  ${name} ${type}${column.nullable && !column.isArray ? '?' : ''}`,
        single
          ? ` @id${table.primaryKey!.name !== `${table.table}_pkey` ? `(map: ${JSON.stringify(table.primaryKey!.name)})` : ''}`
          : '',
        defaultAttribute(column.default),
        name !== column.name ? ` @map(${JSON.stringify(column.name)})` : '',
        native ? ` ${native}` : '',
      ];
      out.push(parts.join(''));
    }
    out.push(...fields.get(table.name)!);
    out.push('');
    if (pk.length > 1)
      out.push(`  @@id([${pk.map(camel).join(', ')}], map: ${JSON.stringify(table.primaryKey!.name)})`);
    for (const unique of table.uniques) {
      out.push(`  @@unique([${unique.columns.map(camel).join(', ')}], map: ${JSON.stringify(unique.name)})`);
    }
    out.push(`  @@map(${JSON.stringify(table.table)})`, `  @@schema(${JSON.stringify(table.schema)})`, '}');
  }
  return `${out.join('\n')}\n`;
}

async function main(): Promise<void> {
  const url = process.env.MIGRATION_DATABASE_URL;
  if (!url)
    throw new Error('MIGRATION_DATABASE_URL is not set (a migrated database to read the catalogue from)');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const schema = renderPrismaSchema(await readCatalog(client));
    const target = fileURLToPath(new URL('../prisma/schema.prisma', import.meta.url));
    fs.mkdirSync(new URL('../prisma/', import.meta.url), { recursive: true });
    fs.writeFileSync(target, schema);
    console.log(`wrote ${target}`);
  } finally {
    await client.end();
  }
}

const USAGE = `Usage: MIGRATION_DATABASE_URL=… pnpm db:pull-prisma
Writes prisma/schema.prisma from the migrated database's catalogue (the drift test then proves it
mirrors the SQL). It takes no argument.
`;

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  // --help must not rewrite prisma/schema.prisma; any other argument is a mistake, not a run.
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  if (args.length > 0) {
    process.stderr.write(`db:pull-prisma: unknown argument ${args[0]}\n${USAGE}`);
    process.exit(2);
  }
  main().catch((error) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
