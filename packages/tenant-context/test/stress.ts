import { randomPause, seededRandom } from './helpers.js';

/** One tenant-scoped operation the stress driver asks a backend (pg or Prisma) to run inside a unit. */
export interface StressBackend {
  /** Runs `ops` in one unit of work for `organisationId`. */
  unit(organisationId: string, body: (ops: StressOps) => Promise<void>): Promise<void>;
}

export interface StressOps {
  /** Inserts a company without naming its organisation (the DB default fills it); returns its row. */
  insert(name: string): Promise<{ id: string; organisationId: string }>;
  /** The newest companies this unit can see. */
  recent(): Promise<{ id: string; organisationId: string; name: string }[]>;
  /** Looks a company up by id (whatever organisation it belongs to). */
  byId(id: string): Promise<{ id: string; organisationId: string }[]>;
  /** Renames a company by id; returns how many rows changed. */
  rename(id: string, name: string): Promise<number>;
}

export interface StressReport {
  operations: number;
  units: number;
  inserted: Map<string, string>;
  wrongRows: string[];
}

/**
 * 10,000 operations in units of 1–30, spread over the organisations, `concurrency` units in
 * flight, random pauses between queries. Every row read or written is checked against the unit's
 * organisation; anything else is recorded in `wrongRows`.
 */
export async function runStress(
  backend: StressBackend,
  organisations: readonly string[],
  { operations = 10_000, concurrency = 40, seed = 20_261_122 } = {},
): Promise<StressReport> {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const plan: { organisationId: string; size: number }[] = [];
  for (let planned = 0; planned < operations; ) {
    const size = Math.min(1 + Math.floor(random() * 30), operations - planned);
    plan.push({ organisationId: pick(organisations), size });
    planned += size;
  }
  const inserted = new Map<string, string>(); // id → organisation
  const insertedIds: string[] = [];
  const wrongRows: string[] = [];
  let done = 0;
  let next = 0;

  const runUnit = async (index: number) => {
    const { organisationId, size } = plan[index]!;
    await backend.unit(organisationId, async (ops) => {
      for (let step = 0; step < size; step++) {
        await randomPause(random);
        const choice = random();
        if (choice < 0.35 || insertedIds.length === 0) {
          const row = await ops.insert(`${organisationId}:${index}:${step}`);
          if (row.organisationId !== organisationId)
            wrongRows.push(`insert into ${row.organisationId} from ${organisationId}`);
          inserted.set(row.id, organisationId);
          insertedIds.push(row.id);
        } else if (choice < 0.6) {
          for (const row of await ops.recent()) {
            if (row.organisationId !== organisationId || !row.name.startsWith(`${organisationId}:`)) {
              wrongRows.push(`read ${row.name} (${row.organisationId}) from ${organisationId}`);
            }
          }
        } else if (choice < 0.85) {
          const id = pick(insertedIds);
          const rows = await ops.byId(id);
          const owner = inserted.get(id);
          // A committed row of this organisation may be found; anything of another organisation must not.
          for (const row of rows)
            if (row.organisationId !== organisationId)
              wrongRows.push(`byId ${id} of ${owner} from ${organisationId}`);
        } else {
          const id = pick(insertedIds);
          const changed = await ops.rename(id, `${inserted.get(id)}:renamed-by-${organisationId}`);
          if (changed > 0 && inserted.get(id) !== organisationId)
            wrongRows.push(`renamed ${id} of ${inserted.get(id)} from ${organisationId}`);
        }
        done += 1;
      }
    });
  };

  const lanes = Array.from({ length: concurrency }, async () => {
    while (next < plan.length) await runUnit(next++);
  });
  await Promise.all(lanes);
  return { operations: done, units: plan.length, inserted, wrongRows };
}
