import pg from 'pg';

export type Outcome = { ok: true; rows: number } | { ok: false; code: string; message: string };

/** Opens a fresh connection, runs `fn` inside a transaction and always rolls it back. */
export async function inRolledBackTransaction<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'prospectflow-validate' });
  await client.connect();
  try {
    await client.query('BEGIN');
    try {
      return await fn(client);
    } finally {
      await client.query('ROLLBACK').catch(() => {});
    }
  } finally {
    await client.end();
  }
}

/** Runs one statement in a savepoint and reports success or the SQLSTATE; state is unchanged after. */
export async function attempt(client: pg.ClientBase, sql: string, params: unknown[] = []): Promise<Outcome> {
  await client.query('SAVEPOINT pf_check');
  try {
    const result = await client.query(sql, params);
    await client.query('ROLLBACK TO SAVEPOINT pf_check');
    return { ok: true, rows: result.rowCount ?? 0 };
  } catch (error) {
    await client.query('ROLLBACK TO SAVEPOINT pf_check');
    const e = error as { code?: string; message?: string };
    return { ok: false, code: e.code ?? '?', message: e.message ?? String(error) };
  }
}

export function describeOutcome(outcome: Outcome): string {
  return outcome.ok ? `succeeded (${outcome.rows} rows)` : `failed with ${outcome.code}: ${outcome.message}`;
}

export async function setTenant(client: pg.ClientBase, organisationId: string): Promise<void> {
  await client.query(`SELECT set_config('app.organisation_id', $1, true)`, [organisationId]);
}
