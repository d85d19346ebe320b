import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

/**
 * Generated copies of the three legacy stores of seed 004 (the real files are not available):
 * every SQLite storage class in columns of every affinity, NULLs, JSON text (valid and broken),
 * epoch (s and ms) and ISO dates, 64-bit integers, reals that look like integers, ±Infinity,
 * empty text and blobs, text that is not valid UTF-8, duplicate and NULL keys, a composite-key
 * WITHOUT ROWID table, an AUTOINCREMENT table (sqlite_sequence), a view, and rows the typed
 * presets refuse. Used by the tests and the runbook's worked example.
 */
export interface ExampleStores {
  dir: string;
  files: { analysis: string; prompts: string; governance: string };
}

const MAX = 9223372036854775807n;
const MIN = -9223372036854775808n;

export function makeExampleStores(dir: string): ExampleStores {
  const files = {
    analysis: join(dir, 'data', 'analysis_storage', 'analysis_data.db'),
    prompts: join(dir, 'data', 'prompts.db'),
    governance: join(dir, 'data', 'governance', 'governance.db'),
  };
  for (const file of Object.values(files)) mkdirSync(join(file, '..'), { recursive: true });
  analysis(new Database(files.analysis));
  prompts(new Database(files.prompts));
  governance(new Database(files.governance));
  return { dir, files };
}

function analysis(db: Database.Database): void {
  db.defaultSafeIntegers(true);
  db.exec(`
    CREATE TABLE analysis_metadata (analysis_id TEXT PRIMARY KEY, thread_id TEXT, session_id TEXT, source TEXT,
      status TEXT, tags JSON, created_at INTEGER, updated_at TEXT, processing_status TEXT, metadata TEXT);
    CREATE TABLE analysis_data (id INTEGER PRIMARY KEY AUTOINCREMENT, analysis_id TEXT, data_type TEXT, content TEXT,
      raw BLOB, score REAL, size NUMERIC, weight FLOAT, flags, created_at TIMESTAMP);
    CREATE TABLE processing_tasks (task_id TEXT, analysis_id TEXT, processor_type TEXT, status TEXT,
      created_at DATETIME, completed_at DATETIME, attempts INTEGER, result TEXT, error_message TEXT);
    CREATE INDEX processing_tasks_status ON processing_tasks (status);
    CREATE VIEW pending_tasks AS SELECT task_id, analysis_id FROM processing_tasks WHERE status = 'pending';
  `);
  const meta = db.prepare('INSERT INTO analysis_metadata VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  meta.run(
    'a-1',
    'thread-1',
    'sess-1',
    'camunda',
    'complete',
    '["risk","vendor"]',
    1_720_000_000n,
    '2025-07-10T09:00:00Z',
    'done',
    '{"model": "gpt-4", "tokens": 1234}',
  );
  meta.run(
    'a-2',
    'thread-1',
    null,
    'camunda',
    'failed',
    '{broken json',
    1_720_000_000_123n,
    '2025-07-10 09:00:00',
    null,
    null,
  );
  meta.run(
    'a-3',
    'thread-2',
    'sess-2',
    '',
    'pending',
    '[]',
    null,
    'not a date',
    'queued',
    '{"contact": "Jeanne Erase <jeanne.erase@example.fr>"}',
  );
  // The TEXT PRIMARY KEY of SQLite allows NULL (several of them): those rows are keyed by rowid.
  meta.run(null, 'thread-3', null, null, 'orphan', null, null, null, null, null);
  meta.run(null, 'thread-4', null, null, 'orphan', null, null, null, null, null);
  const data = db.prepare(
    'INSERT INTO analysis_data (analysis_id, data_type, content, raw, score, size, weight, flags, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  data.run(
    'a-1',
    'summary',
    '{"text": "Zoë — 日本 🎉", "n": 1}',
    Buffer.from([0, 1, 2, 255]),
    0.1,
    42n,
    1.0,
    MAX,
    '2025-07-10T09:00:00.123+02:00',
  );
  data.run('a-1', 'scores', '[1, 2.5, null]', Buffer.alloc(0), -2.5e-300, '12.50', 3n, MIN, 1_720_000_000);
  data.run(
    'a-2',
    'raw',
    'plain text, not JSON',
    null,
    Number.POSITIVE_INFINITY,
    'abc',
    'not a number',
    1.5,
    null,
  );
  data.run(
    'a-3',
    null,
    '',
    Buffer.from('binary\u0000with nul'),
    Number.NEGATIVE_INFINITY,
    null,
    null,
    Buffer.from('x'),
    '',
  );
  // Text that is not valid UTF-8 (written with a cast, as a buggy legacy writer could).
  db.exec(
    `INSERT INTO analysis_data (analysis_id, data_type, content) VALUES ('a-3', 'latin1', CAST(X'4361666EE9' AS TEXT))`,
  );
  const task = db.prepare('INSERT INTO processing_tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  // task_id is not a key: it repeats (retries), and every row must survive.
  const retried = [
    't-1',
    'a-1',
    'llm',
    'done',
    '2025-07-10 09:00:00',
    '2025-07-10 09:01:00',
    1n,
    '{"ok": true}',
    null,
  ] as const;
  task.run(...retried);
  task.run(...retried);
  task.run('t-2', 'a-2', 'llm', 'failed', 1_720_000_000n, null, 3n, null, 'timeout after 30 s');
  task.run('t-3', 'a-3', 'export', 'pending', null, null, 0n, null, null);
  db.close();
}

function prompts(db: Database.Database): void {
  db.defaultSafeIntegers(true);
  db.exec(`
    CREATE TABLE prompts (id TEXT PRIMARY KEY, name TEXT, template TEXT, category TEXT, version INTEGER,
      is_active BOOLEAN, metadata TEXT, created_at TEXT, updated_at INTEGER);
    CREATE TABLE test_cases (id TEXT PRIMARY KEY, prompt_id TEXT, name TEXT, input TEXT, expected_output TEXT, created_at TEXT);
    CREATE TABLE test_results (id INTEGER PRIMARY KEY, test_case_id TEXT, prompt_id TEXT, output TEXT, score REAL,
      passed BOOLEAN, latency_ms INTEGER, run_at INTEGER, raw_response BLOB);
  `);
  const prompt = db.prepare('INSERT INTO prompts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  prompt.run(
    '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
    'Cold email',
    'Bonjour {{first_name}}',
    'email_body',
    2n,
    1n,
    '{"temperature": 0.2}',
    '2025-07-10T09:00:00Z',
    1_720_000_000_000n,
  );
  prompt.run(
    'p-2',
    'Risk analysis',
    'Analyse: {{input}}',
    'analysis',
    1n,
    0n,
    null,
    '2025-07-10 09:00:00',
    null,
  );
  prompt.run('p-3', 'No template', null, 'email_body', 1n, 1n, null, null, null); // typed: missing_content
  prompt.run('p-4', 'Broken metadata', 'Hi', 'other', 1n, 'yes', '{oops', null, null); // typed: invalid_json
  const tc = db.prepare('INSERT INTO test_cases VALUES (?, ?, ?, ?, ?, ?)');
  tc.run(
    'tc-1',
    '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
    'Ada',
    '{"first_name": "Ada"}',
    'Bonjour Ada',
    '2025-07-11',
  );
  tc.run(
    'tc-2',
    '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
    'Jeanne',
    '{"first_name": "Jeanne", "email": "jeanne.erase@example.fr"}',
    'Bonjour Jeanne',
    null,
  );
  tc.run('tc-3', 'p-missing', 'Orphan', '{}', null, null); // typed: prompt_not_found
  const result = db.prepare('INSERT INTO test_results VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  result.run(
    1n,
    'tc-1',
    '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
    'Bonjour Ada',
    0.98,
    1n,
    812n,
    1_720_000_000_000n,
    Buffer.from('{"id":"resp-1"}'),
  );
  result.run(
    2n,
    'tc-2',
    '0b5d3c1e-8f8a-4d7e-9a51-2f6b7c8d9e01',
    'Bonjour Jeanne',
    0.5,
    0n,
    null,
    1_720_000_000n,
    null,
  );
  result.run(3n, 'tc-3', 'p-missing', null, null, null, null, null, null);
  db.close();
}

function governance(db: Database.Database): void {
  db.defaultSafeIntegers(true);
  db.exec(`
    CREATE TABLE data_policies (policy_id TEXT PRIMARY KEY, name TEXT NOT NULL, rules JSON, owner_email TEXT,
      effective_from TEXT, version INTEGER DEFAULT 1, active INT);
    CREATE TABLE data_lineage (source TEXT, target TEXT, transformation TEXT, recorded_at REAL,
      PRIMARY KEY (source, target)) WITHOUT ROWID;
    CREATE TABLE quality_metrics (metric_id INTEGER PRIMARY KEY, dataset TEXT, metric TEXT, value REAL,
      threshold NUMERIC, measured_at TEXT, details TEXT);
  `);
  const policy = db.prepare('INSERT INTO data_policies VALUES (?, ?, ?, ?, ?, ?, ?)');
  policy.run(
    'pol-1',
    'Retention',
    '{"keep_days": 1095, "scope": ["prospects"]}',
    'dpo@example.fr',
    '2025-01-01',
    3n,
    1n,
  );
  policy.run('pol-2', 'Masking', '[{"field": "email", "rule": "hash"}]', null, '01/02/2025', 1n, 0n);
  policy.run('pol-3', 'Broken', '{"unterminated": ', 'owner@example.fr', null, null, null);
  const lineage = db.prepare('INSERT INTO data_lineage VALUES (?, ?, ?, ?)');
  lineage.run('crm.csv', 'analysis_data', 'parse+dedupe', 2460500.5); // Julian day, as SQLite's julianday() writes
  lineage.run('analysis_data', 'report.pdf', null, 1_720_000_000.25);
  const metric = db.prepare('INSERT INTO quality_metrics VALUES (?, ?, ?, ?, ?, ?, ?)');
  metric.run(1n, 'contacts', 'completeness', 0.97, 0.95, '2025-07-10T09:00:00Z', '{"missing": {"email": 3}}');
  metric.run(2n, 'contacts', 'validity', 1, '0.9', '2025-07-10', null);
  metric.run(MAX, 'companies', 'duplicates', 0, null, null, '');
  db.close();
}
