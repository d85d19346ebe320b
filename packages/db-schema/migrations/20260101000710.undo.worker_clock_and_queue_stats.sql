DROP FUNCTION IF EXISTS app.task_queue_stats(timestamptz);
DROP FUNCTION IF EXISTS app.claim_tasks(text, integer, integer, timestamptz);
