import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  currentTenant,
  isDbNoOrganisationError,
  markRequestScope,
  runAsSystem,
  runWithTenant,
  SystemScopeError,
  withSystemClient,
  withTenantClient,
} from '../src/index.js';
import { createTenantFixture, type TenantFixture } from './helpers.js';

let fixture: TenantFixture;
let workerPool: pg.Pool;

function captureLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino(stream), lines };
}

beforeAll(async () => {
  fixture = await createTenantFixture('system', 2);
  workerPool = new pg.Pool({ connectionString: fixture.workerUrl, max: 3, connectionTimeoutMillis: 5000 });
});

afterAll(async () => {
  await workerPool?.end();
  await fixture?.drop();
});

describe('runAsSystem', () => {
  it('claims due tasks of every organisation through the SECURITY DEFINER function, logging the reason', async () => {
    for (const organisationId of fixture.organisations) {
      await runWithTenant({ organisationId }, () =>
        withTenantClient(workerPool, (c) =>
          c.query("INSERT INTO outreach.tasks (type) VALUES ('noop'), ('noop')"),
        ),
      );
    }
    const { logger, lines } = captureLogger();
    const claimed = await runAsSystem(
      'claim due tasks',
      async () => {
        // The system transaction has no organisation: tenant tables stay closed.
        const direct = await withSystemClient(workerPool, (c) =>
          c.query('SELECT 1 FROM crm.companies'),
        ).catch((e: unknown) => e);
        expect(isDbNoOrganisationError(direct)).toBe(true);
        return await withSystemClient(workerPool, async (client) => {
          const { rows } = await client.query<{ organisation_id: string; id: string }>(
            'SELECT organisation_id, id FROM app.claim_tasks($1, $2, $3, NULL)',
            ['worker-test', 10, 30],
          );
          return rows;
        });
      },
      { logger },
    );
    expect(new Set(claimed.map((t) => t.organisation_id))).toEqual(new Set(fixture.organisations));
    expect(claimed).toHaveLength(4);
    expect(lines).toContainEqual(
      expect.objectContaining({ reason: 'claim due tasks', msg: 'entering system scope' }),
    );

    // Each claimed task then runs under its own organisation, entered from the system scope.
    const seen = await runAsSystem(
      'run claimed tasks',
      async () =>
        Promise.all(
          claimed.map((task) =>
            runWithTenant({ organisationId: task.organisation_id }, () =>
              withTenantClient(workerPool, async (client) => {
                const { rows } = await client.query<{ organisation_id: string }>(
                  "UPDATE outreach.tasks SET status = 'succeeded', locked_by = NULL, locked_until = NULL WHERE id = $1 RETURNING organisation_id",
                  [task.id],
                );
                return rows.map((r) => r.organisation_id === currentTenant().organisationId);
              }),
            ),
          ),
        ),
      { logger },
    );
    expect(seen.flat()).toEqual([true, true, true, true]);
  });

  it('is refused inside a tenant context', async () => {
    const attempt = runWithTenant({ organisationId: fixture.organisations[0]! }, () =>
      runAsSystem('sneaky', async () => 1),
    );
    await expect(attempt).rejects.toBeInstanceOf(SystemScopeError);
    await expect(attempt).rejects.toMatchObject({ code: 'system_scope_refused' });
  });

  it('is refused inside an HTTP request scope, even before any tenant is chosen', async () => {
    const attempt = markRequestScope(() => runAsSystem('from a handler', async () => 1));
    await expect(attempt).rejects.toThrow(/HTTP request scope/);
    // The marker follows async continuations started by the request.
    const later = markRequestScope(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return runAsSystem('later in the handler', async () => 1);
    });
    await expect(later).rejects.toBeInstanceOf(SystemScopeError);
  });

  it('needs a reason, and its client helper needs the scope', async () => {
    await expect(runAsSystem('  ', async () => 1)).rejects.toThrow(/needs a reason/);
    await expect(withSystemClient(workerPool, (c) => c.query('SELECT 1'))).rejects.toBeInstanceOf(
      SystemScopeError,
    );
  });
});
