-- Least privilege for the worker (issue 14.5). It reads organisations, users and memberships (queue,
-- retention, sending) but never creates or changes accounts, organisations or memberships: those
-- writes belong to the API alone, so a compromised worker cannot grant itself a seat.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
  ON iam.organisations, iam.users, iam.organisation_users FROM prospectflow_worker;

-- Superseded by app.claim_tasks(text, integer, integer, timestamptz) (migration 0710: the worker's
-- clock; 0950: trace context). A second entry point to the cross-organisation claim is one too many.
DROP FUNCTION app.claim_tasks(text, integer, integer);
