-- The IMAP poller records every failure and skips a message that cannot be applied (issue 16).
--
--   * uid_validity may be NULL: a poll that fails before it opened the INBOX (login refused, server
--     unreachable) still writes its error, in a row with no checkpoint yet (last_uid 0);
--   * last_error_at: when last_error happened; last_polled_at is now the end of the last poll that
--     succeeded (a folder recreated on the server is re-read from shortly before it);
--   * skipped_messages / last_skip: messages that failed for a reason of their own (a data error
--     in their content) are passed over so they cannot block the mailbox; they are counted and the
--     last one described (UID and error), for support to see.
ALTER TABLE outreach.mailbox_sync_states
  ALTER COLUMN uid_validity DROP NOT NULL,
  ADD COLUMN last_error_at timestamptz,
  ADD COLUMN skipped_messages bigint NOT NULL DEFAULT 0 CHECK (skipped_messages >= 0),
  ADD COLUMN last_skip text CHECK (length(last_skip) <= 1000);
