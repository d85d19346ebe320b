-- Issue 18 review (data lifecycle): ONE definition of "what belongs to this data subject", used by
-- the erasure (Art. 17, app.erase_legacy_subject and the import error rows), the access export
-- (Art. 15) and, for names, the legacy importer's refusal of erased people. Until now each place
-- matched differently: substring LIKE on names ("Jean Martin" erased Jean Martinez and the other
-- Jean Martin), byte-wise on Unicode (NFD "Zoé" missed), ASCII-only addresses.
--
-- A record (a set of text values) belongs to the subject when
--   * one of the email addresses found in its values is one of the subject's (NFC, lower case,
--     non-ASCII included), or one of its values is exactly one of the subject's other identifiers
--     (e.g. a Pharow id); OR
--   * a value contains one of the subject's full names (two words at least) as whole words (NFC,
--     lower case; "Jean Martin" is in "RDV Jean Martin, mardi" but not in "Jean Martinez") AND no
--     address other than the subject's appears in the record (Jean Martin <jmartin@beta.fr> is
--     somebody else).
-- The same word split and address pattern exist in @prospectflow/outreach-core (subject-match.ts).

-- The addresses in a text: NFC, lower case, leading/trailing quotes and dots trimmed.
CREATE FUNCTION app.emails_in(p_text text) RETURNS text[]
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(array_agg(DISTINCT btrim(m[1], '.''`')), '{}')
  FROM regexp_matches(lower(normalize(p_text, NFC)),
         '[^[:space:]"(),:;<>@\[\]\\]+@[^[:space:]"(),:;<>@\[\]\\]+\.[^[:space:]"(),:;<>@\[\]\\]+', 'g') AS m
$$;

-- A text as its words, NFC and lower case, separated and surrounded by one space (' jean martin '):
-- whole-word containment is then strpos(name_words(value), name_words(name)) > 0. Letters of any
-- script, digits, - ' ’ _ and @ belong to words; spaces and other punctuation separate them.
CREATE FUNCTION app.name_words(p_text text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ' ' || btrim(regexp_replace(lower(normalize(p_text, NFC)),
           '[[:space:]!"#$%&()*+,./:;<=>?\[\\\]^`{|}~«»“”„…–—]+', ' ', 'g')) || ' '
$$;

CREATE FUNCTION app.subject_owns(p_values text[], p_emails text[], p_names text[], p_ids text[])
  RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH v AS (SELECT x FROM unnest(p_values) AS x WHERE x IS NOT NULL AND x <> ''),
  found AS (SELECT DISTINCT e FROM v, unnest(app.emails_in(v.x)) AS e),
  mine AS (SELECT lower(normalize(btrim(e), NFC)) AS e FROM unnest(coalesce(p_emails, '{}')) AS e
            WHERE e IS NOT NULL),
  ids AS (SELECT lower(normalize(btrim(i), NFC)) AS i FROM unnest(coalesce(p_ids, '{}')) AS i
           WHERE length(btrim(i)) > 0),
  full_names AS (SELECT w FROM unnest(coalesce(p_names, '{}')) AS n, app.name_words(n) AS w
                  WHERE btrim(w) LIKE '% %')
  SELECT EXISTS (SELECT 1 FROM found JOIN mine USING (e))
      OR EXISTS (SELECT 1 FROM v JOIN ids ON lower(normalize(btrim(v.x), NFC)) = ids.i)
      OR (NOT EXISTS (SELECT 1 FROM found WHERE e NOT IN (SELECT e FROM mine))
          AND EXISTS (SELECT 1 FROM v, full_names WHERE strpos(app.name_words(v.x), full_names.w) > 0))
$$;

-- Called by app.erase_legacy_subject (SECURITY INVOKER) and the API's queries: the roles that may
-- run the erasure.
REVOKE ALL ON FUNCTION app.emails_in(text), app.name_words(text), app.subject_owns(text[], text[], text[], text[])
  FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.emails_in(text), app.name_words(text), app.subject_owns(text[], text[], text[], text[])
  TO prospectflow_app, prospectflow_worker;

-- The erasure's contract with apps/ingest-api/src/privacy/erasure.ts, unchanged in shape: the
-- current organisation's archived rows that belong to the subject (app.subject_owns over the
-- row's top-level values) go; returns how many.
CREATE OR REPLACE FUNCTION app.erase_legacy_subject(p_emails text[], p_names text[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH gone AS (
    DELETE FROM legacy.archive_rows AS a
    WHERE a.organisation_id = app.current_organisation_id()
      AND app.subject_owns(ARRAY(SELECT v.value FROM jsonb_each_text(a.original) AS v), p_emails, p_names, '{}')
    RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;

-- Keyed hashes (HMAC-SHA256, the PRIVACY_HMAC_KEYS of outreach.suppression_hashes) of erased
-- people's normalised full names, written by the erasure: the SQLite consolidation refuses a row
-- naming an erased person that carries no other address, without the name being stored anywhere.
CREATE TABLE legacy.erased_names (
  organisation_id  uuid NOT NULL DEFAULT app.current_organisation_id() REFERENCES iam.organisations (id) ON DELETE CASCADE,
  id               uuid NOT NULL DEFAULT gen_random_uuid(),
  key_version      smallint NOT NULL CHECK (key_version >= 1),
  name_hmac        bytea NOT NULL CHECK (length(name_hmac) = 32),
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (organisation_id, id),
  UNIQUE (organisation_id, key_version, name_hmac)
);
SELECT app.register_tenant_table('legacy.erased_names');
-- The API's erasure writes them, the SQLite importer (prospectflow_app) reads them; the worker
-- neither (least privilege, issue 14.5).
GRANT SELECT, INSERT ON legacy.erased_names TO prospectflow_app;
GRANT SELECT ON legacy.erased_names TO prospectflow_backup;
