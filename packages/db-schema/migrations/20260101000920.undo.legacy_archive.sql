DROP FUNCTION IF EXISTS app.erase_legacy_subject(text[], text[]);
DROP TABLE IF EXISTS legacy.archive_rows;
DROP TABLE IF EXISTS legacy.source_tables;
DROP SCHEMA IF EXISTS legacy;
