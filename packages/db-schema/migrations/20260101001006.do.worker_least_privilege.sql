-- Least privilege for the worker, continued (issue 14.5; 0880 took its account and membership writes).
-- No worker code (apps/worker and the workspace packages it runs) writes erasure requests, changes
-- or deletes retention settings, or resolves a user's memberships, a pixel token or an unsubscribe
-- token: those are the API's. The worker keeps SELECT on both tables and INSERT on privacy_settings
-- (retention creates an organisation's default row).
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON iam.erasure_requests FROM prospectflow_worker;
REVOKE UPDATE, DELETE, TRUNCATE ON iam.privacy_settings FROM prospectflow_worker;
REVOKE EXECUTE ON FUNCTION app.user_memberships(uuid), app.organisation_for_pixel_token(text),
  app.organisation_for_unsubscribe_token(text) FROM prospectflow_worker;
