-- outreach.tasks_org_enrollment_idx holds only the tasks that belong to an enrollment (issue 16,
-- "Done when": worker-throughput).
--
-- Every status transition of a task is a non-HOT update (status is in the predicates of the claim,
-- lease, dedupe and retention indexes), so each one adds an entry to every index whose predicate
-- the new row version satisfies. The full (organisation_id, enrollment_id) index took one per
-- transition for every task, and tasks without an enrollment (verify_mailbox, apply_retention,
-- run_import, noop) all share the key (organisation, NULL): their entries pile up on the same leaf
-- pages and every insert there ran a bottom-up deletion pass (measured: claim + complete of 4000
-- such tasks 30 % cheaper without them, docs/benchmarks.md).
--
-- Every reader of the index selects by enrollment: `enrollment_id = ANY (…)` (enqueue's cancel,
-- erasure), `enrollment_id IN (SELECT …)` (campaign deletion): strict comparisons, which imply
-- `enrollment_id IS NOT NULL`, so the planner still uses the partial index. Nothing looks tasks up
-- by `enrollment_id IS NULL`.
DROP INDEX outreach.tasks_org_enrollment_idx;
CREATE INDEX tasks_org_enrollment_idx ON outreach.tasks (organisation_id, enrollment_id)
  WHERE enrollment_id IS NOT NULL;
