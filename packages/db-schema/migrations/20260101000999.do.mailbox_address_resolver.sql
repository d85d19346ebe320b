-- The webhook finds the organisation of a mail naming none of our Message-IDs (issue 16.5).
--
-- POST /v1/inbound found the organisation only by the Message-IDs a mail names
-- (app.organisation_for_message_ids). A reply from a client that drops In-Reply-To and
-- References, one answering a Message-ID the provider rewrote, or a new mail from the prospect
-- named none, so the sequence went on, where the IMAP poller (which knows the mailbox it reads)
-- already matches such a mail to the mailbox's latest message to its sender.
-- app.organisation_for_mailbox_address(address) is the organisation whose verified mailbox has the
-- address the mail came to; NULL when none has, or when more than one organisation has verified
-- it (no guess between tenants). Only verified mailboxes count: an organisation cannot make
-- another's address ambiguous by creating a mailbox it could never verify.
CREATE INDEX mailboxes_from_address_lookup_idx ON outreach.mailboxes (from_address);

CREATE FUNCTION app.organisation_for_mailbox_address(p_address public.citext)
  RETURNS uuid
  LANGUAGE plpgsql STABLE SECURITY DEFINER
  SET search_path = pg_catalog
AS $$
DECLARE
  v_organisations uuid[];
BEGIN
  SELECT array_agg(DISTINCT mb.organisation_id) INTO v_organisations
  FROM outreach.mailboxes mb
  WHERE mb.from_address OPERATOR(public.=) p_address AND mb.verification_status = 'verified';
  RETURN CASE WHEN cardinality(v_organisations) = 1 THEN v_organisations[1] END;
END;
$$;
GRANT SELECT (from_address) ON outreach.mailboxes TO prospectflow_system;
ALTER FUNCTION app.organisation_for_mailbox_address(public.citext) OWNER TO prospectflow_system;
REVOKE ALL ON FUNCTION app.organisation_for_mailbox_address(public.citext) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.organisation_for_mailbox_address(public.citext) TO prospectflow_app, prospectflow_worker;
