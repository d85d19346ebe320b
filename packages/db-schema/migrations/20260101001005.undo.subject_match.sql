-- Undo of 1005: 0920's substring match in app.erase_legacy_subject again.
DROP TABLE IF EXISTS legacy.erased_names;
CREATE OR REPLACE FUNCTION app.erase_legacy_subject(p_emails text[], p_names text[]) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY INVOKER
  SET search_path = pg_catalog, pg_temp
AS $$
  WITH patterns AS (
    SELECT '%' || replace(replace(replace(lower(x), '\', '\\'), '%', '\%'), '_', '\_') || '%' AS p
    FROM unnest(coalesce(p_emails, '{}') || coalesce(p_names, '{}')) AS x
    WHERE length(btrim(x)) >= 3
  ), gone AS (
    DELETE FROM legacy.archive_rows AS a
    WHERE a.organisation_id = app.current_organisation_id()
      AND EXISTS (SELECT 1 FROM jsonb_each_text(a.original) AS v, patterns
                  WHERE lower(v.value) LIKE patterns.p)
    RETURNING 1
  )
  SELECT count(*)::integer FROM gone
$$;
DROP FUNCTION IF EXISTS app.subject_owns(text[], text[], text[], text[]);
DROP FUNCTION IF EXISTS app.name_words(text);
DROP FUNCTION IF EXISTS app.emails_in(text);
