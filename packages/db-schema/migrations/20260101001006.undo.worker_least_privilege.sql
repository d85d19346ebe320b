-- Undo of 1006: the worker's grants of 0100, 0300, 0400 and 0870 again.
GRANT INSERT, UPDATE, DELETE ON iam.erasure_requests TO prospectflow_worker;
GRANT UPDATE, DELETE ON iam.privacy_settings TO prospectflow_worker;
GRANT EXECUTE ON FUNCTION app.user_memberships(uuid), app.organisation_for_pixel_token(text),
  app.organisation_for_unsubscribe_token(text) TO prospectflow_worker;
