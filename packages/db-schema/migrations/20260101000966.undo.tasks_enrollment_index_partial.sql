-- The index as migration 0300 created it (every task, with or without an enrollment).
DROP INDEX outreach.tasks_org_enrollment_idx;
CREATE INDEX tasks_org_enrollment_idx ON outreach.tasks (organisation_id, enrollment_id);
