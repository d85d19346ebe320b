import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { roleUrl } from '@prospectflow/db-schema';
import { createImport, enqueueImport, importStorageKey, inTenantUnit } from '@prospectflow/import-engine';
import { createLocalStorage } from '@prospectflow/object-storage';
import { loadSubjectKeys } from '@prospectflow/outreach-core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../src/clock.js';
import { startOpsServer } from '../src/http.js';
import { ImportMetrics } from '../src/imports/import-metrics.js';
import { createImportWorker } from '../src/imports/import-worker.js';
import { WorkerMetrics } from '../src/metrics.js';
import { createOrg, openTestDb, type TestDb } from './support/db.js';
import { silent, waitUntil } from './support/worker.js';

const CSV = [
  "Nom de l'entreprise;SIREN;Prénom;Nom;Email",
  'Acme;552100554;Ada;Lovelace;ada@acme.fr',
  'Acme;552100554;Alan;Turing;alan@acme.fr',
  'Acme;552100554;Grace;Hopper;not an address',
].join('\n');

/**
 * main.ts registers ImportMetrics and the import runner's queue counters on the registry /metrics
 * serves (the outreach worker's).
 */
describe('import metrics', () => {
  let t: TestDb;
  let directory: string;

  beforeAll(async () => {
    t = await openTestDb('import_metrics');
    directory = mkdtempSync(join(tmpdir(), 'pf-import-metrics-'));
  });
  afterAll(async () => {
    await t?.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('counts the rows an import read, the imports running and how they ended', async () => {
    const organisationId = await createOrg(t.admin, 'import-metrics');
    const tenant = { organisationId };
    const app = new pg.Pool({ connectionString: roleUrl(t.db.adminUrl, 'app'), max: 2 });
    const metrics = new WorkerMetrics();
    const imports = createImportWorker({
      databaseUrl: t.workerUrl,
      listenUrl: t.workerUrl,
      pollOnly: true,
      pollIntervalMs: 50,
      settings: {
        slots: 1,
        perOrganisation: 1,
        leaseSeconds: 30,
        retryBaseMs: 100,
        maxRows: 1000,
        storage: { driver: 'local', directory },
      },
      subjectKeys: loadSubjectKeys({ PRIVACY_HMAC_KEYS: `1:${Buffer.alloc(32, 7).toString('base64')}` }),
      clock: systemClock,
      log: silent,
      metrics: new ImportMetrics(metrics.registry),
      queueMetrics: metrics,
    })!;
    // /metrics as main.ts serves it (the outreach worker's registry, here shared by the imports').
    const ops = await startOpsServer(imports.worker, 0, '127.0.0.1');
    try {
      const scrape = async () => (await fetch(`http://127.0.0.1:${ops.port}/metrics`)).text();
      expect(await scrape()).toMatch(/^prospectflow_worker_import_rows_read_total 0$/m);
      const record = await createImport(app, tenant, { sourceKind: 'csv' });
      const key = importStorageKey(organisationId, record.id, 'csv');
      await createLocalStorage(directory).put(key, CSV);
      await t.admin.query(
        `UPDATE crm.imports SET storage_key = $2, mapping = '{"encoding": "utf8", "bomLength": 0, "delimiter": ";"}'
          WHERE id = $1`,
        [record.id, key],
      );
      await inTenantUnit(app, tenant, (client) => enqueueImport(client, record.id, { maxAttempts: 1 }));
      await imports.worker.start();
      await waitUntil(
        async () =>
          (await t.admin.query('SELECT status FROM crm.imports WHERE id = $1', [record.id])).rows[0]
            .status === 'succeeded',
        'the import',
      );
      // The outcome is counted once the handler returns, just after the import's commit.
      await waitUntil(
        async () => /imports_finished_total\{outcome="succeeded"\} 1/.test(await scrape()),
        'counters',
      );
      const body = await scrape();
      expect(body).toMatch(/^prospectflow_worker_import_rows_read_total 3$/m);
      expect(body).toMatch(/^prospectflow_worker_imports_running 0$/m);
      expect(body).toMatch(/^prospectflow_worker_import_rows_total\{result="inserted"\} 2$/m);
      expect(body).toMatch(/^prospectflow_worker_import_rows_total\{result="failed"\} 1$/m);
      // The import runner's task counters are on the served /metrics too (type="run_import").
      expect(body).toMatch(/^prospectflow_worker_tasks_claimed_total\{type="run_import"\} 1$/m);
      expect(body).toMatch(/^prospectflow_worker_tasks_succeeded_total\{type="run_import"\} 1$/m);
      expect(body).toMatch(/^prospectflow_worker_import_tasks_in_flight 0$/m);
      // A task that can never run fails for good, and is counted so.
      await inTenantUnit(app, tenant, (client) =>
        client.query(
          `INSERT INTO outreach.tasks (type, payload, max_attempts) VALUES ('run_import', '{"importId": "not-a-uuid"}', 1)`,
        ),
      );
      await waitUntil(
        async () => /^prospectflow_worker_tasks_failed_total\{type="run_import"\} 1$/m.test(await scrape()),
        'the failed counter',
      );
      expect(await scrape()).toMatch(/^prospectflow_worker_tasks_claimed_total\{type="run_import"\} 2$/m);
    } finally {
      await ops.close();
      await imports.worker.stop();
      await imports.close();
      await app.end();
    }
  }, 120_000);
});
