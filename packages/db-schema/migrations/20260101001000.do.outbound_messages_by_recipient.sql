-- Our messages to an address, by index (issue 16.5: inbound mail that names none of our ids).
--
-- A reply whose client dropped In-Reply-To and References, or any other mail naming none of our
-- Message-IDs (newsletters, colleagues, new threads: most of what reaches a real inbox), is matched
-- to the mailbox's latest message to its sender. That question read every outbound message of the
-- organisation: citext's = is not leakproof, so under row-level security the address was never an
-- index condition, and no index held the address anyway (EXPLAIN ANALYZE as the worker role, one
-- mailbox with 50,000 sent messages: 50,000 rows removed by filter, 62 ms, for each such mail).
--
-- The index keys the address as citext compares it — lower() of the text, in the database's
-- default collation — compared bytewise (COLLATE "C"): an index on the citext column itself would
-- compare with the collation on every step of every insert (+≈ 20 µs per outbound message measured,
-- against ≈ 3 µs for this one). Partial on outbound messages, the only ones asked for.
-- Building it blocks writes to messages (sends) for as long as it takes: on a large table build it
-- first with CREATE INDEX CONCURRENTLY and this definition, and this migration finds it (runbook
-- run-migrations.md, "Indexes on large tables").
CREATE INDEX IF NOT EXISTS messages_org_outbound_recipient_idx
  ON outreach.messages (organisation_id, (lower(to_address::text) COLLATE "C"))
  WHERE direction = 'outbound';

-- The ids of the current organisation's outbound messages to any of the addresses, from this
-- mailbox (NULL: from any). SECURITY DEFINER, owned by prospectflow_system (BYPASSRLS) and scoped by
-- its own condition as 0998's lookups are: fails closed (PF001) without an organisation. Callers
-- wrap it in a scalar subquery cast to an array, `m.id = ANY ((SELECT
-- app.outbound_message_ids_to(…))::uuid[])`: it runs once per statement and the ids are an index
-- condition on the primary key.
CREATE FUNCTION app.outbound_message_ids_to(p_addresses text[], p_mailbox uuid)
  RETURNS uuid[]
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
DECLARE
  v_organisation uuid := app.current_organisation_id();
BEGIN
  RETURN ARRAY(
    SELECT m.id FROM outreach.messages m
    WHERE m.organisation_id = v_organisation AND m.direction = 'outbound'
      AND (lower(m.to_address::text) COLLATE "C") = ANY (
        ARRAY(SELECT lower(a) FROM unnest(p_addresses) a WHERE a IS NOT NULL))
      AND (p_mailbox IS NULL OR m.mailbox_id = p_mailbox));
END;
$$;
GRANT SELECT (id, mailbox_id, to_address) ON outreach.messages TO prospectflow_system;
ALTER FUNCTION app.outbound_message_ids_to(text[], uuid) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.outbound_message_ids_to(text[], uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.outbound_message_ids_to(text[], uuid) TO prospectflow_app, prospectflow_worker;
