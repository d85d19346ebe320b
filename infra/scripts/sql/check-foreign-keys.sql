-- Run by restore.sh --schema inside the restore transaction, after the rows were replaced with
-- foreign key triggers off: every foreign key into or out of the schema must still hold, or the
-- whole restore is rolled back. (:'schema' is replaced by restore.sh; DO bodies take no psql variables.)
DO $check$
DECLARE
  fk record;
  join_condition text;
  not_null text;
  orphans bigint;
BEGIN
  FOR fk IN
    SELECT c.conname, c.conrelid::regclass AS child, c.confrelid::regclass AS parent, c.conkey, c.confkey
      FROM pg_constraint c
     WHERE c.contype = 'f'
       AND (c.conrelid IN (SELECT oid FROM pg_class WHERE relnamespace = to_regnamespace(:'schema'))
         OR c.confrelid IN (SELECT oid FROM pg_class WHERE relnamespace = to_regnamespace(:'schema')))
  LOOP
    SELECT string_agg(format('p.%I = c.%I', pa.attname, ca.attname), ' AND '),
           string_agg(format('c.%I IS NOT NULL', ca.attname), ' AND ')
      INTO join_condition, not_null
      FROM unnest(fk.conkey, fk.confkey) AS k(child_att, parent_att)
      JOIN pg_attribute ca ON ca.attrelid = fk.child AND ca.attnum = k.child_att
      JOIN pg_attribute pa ON pa.attrelid = fk.parent AND pa.attnum = k.parent_att;
    EXECUTE format('SELECT count(*) FROM %s c WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                   fk.child, not_null, fk.parent, join_condition)
       INTO orphans;
    IF orphans > 0 THEN
      RAISE EXCEPTION 'restore would break foreign key % of %: % row(s) point at rows missing from %',
        fk.conname, fk.child, orphans, fk.parent;
    END IF;
  END LOOP;
END
$check$;
