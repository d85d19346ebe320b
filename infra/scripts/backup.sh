#!/usr/bin/env bash
# Backs up the ProspectFlow database as prospectflow_backup (read-only, BYPASSRLS: pg_dump runs
# with row security off and sees every organisation; --enable-row-security is never used).
#
# usage: backup.sh [full|schema|data] [--schema NAME]... [--dir DIR] [--retention-days N]
#   full    schema + data of the whole database (default)
#   schema  schema only (structure, grants, policies)
#   data    data only, one archive per schema (all schemas with tables, or each --schema given)
# env:   BACKUP_DATABASE_URL   postgres://prospectflow_backup:…@host:5432/prospectflow (required)
#        BACKUP_DIR (./backups), BACKUP_RETENTION_DAYS (30), BACKUP_MIN_FREE_MB (100: head room
#        on top of the database size), BACKUP_GZIP_LEVEL (6), PG_BIN_DIR (pg_dump/psql location)
# output: the path of each archive on stdout; logfmt logs on stderr and in $BACKUP_DIR/backup.log.
# BACKUP_ENCRYPT=age|gpg encrypts each verified archive to BACKUP_AGE_RECIPIENT / BACKUP_GPG_RECIPIENT
# (NAME.dump.gz.age / .gpg; the plaintext is deleted). Files are created 0600 (umask 077).
# Each archive NAME.dump.gz (pg_dump custom format, gzip) comes with NAME.dump.gz.sha256 and
# NAME.toc (the archive listing), and is checked (gzip -t, pg_restore --list, table count) before
# it is kept. Exit codes: 1 failure, 2 usage, 3 not enough disk space, 4 wrong role.
set -euo pipefail
export SCRIPT_NAME=backup
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
source "$here/lib.sh"

usage() { script_usage "$here/backup.sh"; }
from_caller_dir

mode=full
schemas=()
dir=${BACKUP_DIR:-./backups}
retention_days=${BACKUP_RETENTION_DAYS:-30}
min_free_mb=${BACKUP_MIN_FREE_MB:-100}
gzip_level=${BACKUP_GZIP_LEVEL:-6}
while (($#)); do
  case $1 in
    full | schema | data) mode=$1 ;;
    --schema) schemas+=("${2:?--schema needs a name}"); shift ;;
    --dir) dir=${2:?--dir needs a path}; shift ;;
    --retention-days) retention_days=${2:?--retention-days needs a number}; shift ;;
    -h | --help) usage; exit 0 ;;
    --) ;; # pnpm passes its -- through (`pnpm backup -- --help`): it separates nothing here
    *) usage >&2; EXIT_CODE=2 die "unknown argument" "argument=$1" ;;
  esac
  shift
done
[[ $retention_days =~ ^[1-9][0-9]*$ ]] || EXIT_CODE=2 die "--retention-days must be a whole number >= 1"
[[ -n ${BACKUP_DATABASE_URL:-} ]] || EXIT_CODE=2 die "BACKUP_DATABASE_URL is not set (postgres://prospectflow_backup:…@host:port/database)"
# No password in any process's arguments (every local user can read them with ps): node reads the
# URL from the environment, the password goes to PGPASSWORD (libpq's env) and every command line
# below gets the URL without it.
export BACKUP_DATABASE_URL
PGPASSWORD=$(url_password "$BACKUP_DATABASE_URL")
export PGPASSWORD
url=$(url_without_password "$BACKUP_DATABASE_URL")
# Archives, checksums, listings and the log are the whole database: owner-only (0600/0700).
umask 077

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
export LOG_FILE="$dir/backup.log"
database=$(url_db "$url")
log info start "mode=$mode" "database=$database" "dir=$dir" "url=$(url_redacted "$url")"

# --- who we are: the backup role must bypass RLS, or the dump would miss other tenants' rows
role_info=$(psql_value "$url" "SELECT current_user || ',' || rolbypassrls || ',' || rolsuper FROM pg_roles WHERE rolname = current_user") ||
  die "cannot connect to the database" "url=$(url_redacted "$url")"
IFS=, read -r role bypassrls superuser <<<"$role_info"
if [[ $role != prospectflow_backup || $bypassrls != true ]]; then
  EXIT_CODE=4 die "backups run as prospectflow_backup (BYPASSRLS)" "role=$role" "bypassrls=$bypassrls" "superuser=$superuser"
fi

# --- client and server versions: pg_dump refuses servers newer than itself
server_major=$(psql_value "$url" "SELECT current_setting('server_version_num')::int / 10000")
client_major=$(pg_major_of_tool "$PG_DUMP")
if ((client_major < server_major)); then
  die "pg_dump $client_major cannot dump a PostgreSQL $server_major server; set PG_BIN_DIR to a pg_dump >= $server_major" \
    "pg_dump=$(command -v "$PG_DUMP")"
fi

# --- disk space: the database size (an upper bound of the compressed archive) plus head room
db_bytes=$(psql_value "$url" "SELECT pg_database_size(current_database())")
free_kb=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
need_kb=$((db_bytes / 1024 + min_free_mb * 1024))
if ((free_kb < need_kb)); then
  EXIT_CODE=3 die "not enough free disk space" "dir=$dir" "free_mb=$((free_kb / 1024))" "needed_mb=$((need_kb / 1024))"
fi
log info disk_ok "free_mb=$((free_kb / 1024))" "database_mb=$((db_bytes / 1048576))"

schemas_with_tables() {
  psql_value "$url" "SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
    ORDER BY 1"
}

# Tables whose data an archive must contain (for the listing check and the progress total).
count_tables() {
  local filter=''
  if [[ -n ${1:-} ]]; then filter="AND n.nspname = '$1'"; fi
  psql_value "$url" "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\_%' AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e')
      $filter"
}

# dump_one LABEL EXPECTED_DATA_TABLES [pg_dump args...] → archive path on stdout
dump_one() {
  local label=$1 expected=$2
  shift 2
  local stamp name archive partial started
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  name="${database}_${label}_${stamp}"
  archive="$dir/$name.dump.gz"
  partial="$archive.partial"
  started=$SECONDS
  log info dump_start "archive=$archive" "tables=$expected"
  # Custom format (a listing, per-schema/per-table restore) without its own compression; gzip
  # compresses the stream so the archive is a plain .gz any tool can test.
  if ! "$PG_DUMP" --dbname="$url" --format=custom --compress=0 --no-password --verbose "$@" \
    2> >(progress_filter "$expected" dump) | gzip "-$gzip_level" >"$partial"; then
    rm -f "$partial"
    die "pg_dump failed" "archive=$archive"
  fi

  # --- integrity: gzip stream, archive listing, expected table data, checksum
  gzip -t "$partial" || { rm -f "$partial"; die "gzip integrity check failed" "archive=$archive"; }
  # (pg_restore stops reading after the listing: a process substitution keeps gzip's SIGPIPE out
  # of pipefail; gzip -t above already read the whole stream.)
  if ! "$PG_RESTORE" --list < <(gzip -dc "$partial") >"$dir/$name.toc"; then
    rm -f "$partial" "$dir/$name.toc"
    die "archive listing failed" "archive=$archive"
  fi
  local data_entries
  data_entries=$(grep -c ' TABLE DATA ' "$dir/$name.toc" || true)
  if ((data_entries != expected)); then
    rm -f "$partial" "$dir/$name.toc"
    die "archive lists $data_entries tables with data, expected $expected" "archive=$archive"
  fi
  # --- encryption at rest (optional): the verified plaintext never outlives this step
  case ${BACKUP_ENCRYPT:-} in
    "") ;;
    age)
      [[ -n ${BACKUP_AGE_RECIPIENT:-} ]] || { rm -f "$partial"; EXIT_CODE=2 die "BACKUP_ENCRYPT=age needs BACKUP_AGE_RECIPIENT"; }
      age --encrypt --recipient "$BACKUP_AGE_RECIPIENT" --output "$partial.enc" "$partial" ||
        { rm -f "$partial" "$partial.enc"; die "age encryption failed" "archive=$archive"; }
      archive="$archive.age"
      ;;
    gpg)
      [[ -n ${BACKUP_GPG_RECIPIENT:-} ]] || { rm -f "$partial"; EXIT_CODE=2 die "BACKUP_ENCRYPT=gpg needs BACKUP_GPG_RECIPIENT"; }
      gpg --batch --yes --quiet --trust-model always --recipient "$BACKUP_GPG_RECIPIENT" \
        --output "$partial.enc" --encrypt "$partial" ||
        { rm -f "$partial" "$partial.enc"; die "gpg encryption failed" "archive=$archive"; }
      archive="$archive.gpg"
      ;;
    *) rm -f "$partial"; EXIT_CODE=2 die "BACKUP_ENCRYPT must be age or gpg" "value=${BACKUP_ENCRYPT}" ;;
  esac
  if [[ -n ${BACKUP_ENCRYPT:-} ]]; then
    rm -f "$partial"
    partial="$partial.enc"
  fi
  mv "$partial" "$archive"
  (cd "$dir" && sha256sum "$(basename "$archive")" >"$archive.sha256")
  log info dump_done "archive=$archive" "bytes=$(stat -c %s "$archive")" "table_data_entries=$data_entries" \
    "sha256=$(cut -d' ' -f1 "$archive.sha256")" "seconds=$((SECONDS - started))"
  printf '%s\n' "$archive"
}

case $mode in
  full)
    if ((${#schemas[@]})); then
      for s in "${schemas[@]}"; do dump_one "full-$s" "$(count_tables "$s")" --schema="$s"; done
    else
      dump_one full "$(count_tables)"
    fi
    ;;
  schema)
    args=()
    for s in "${schemas[@]}"; do args+=(--schema="$s"); done
    dump_one schema 0 --schema-only "${args[@]}"
    ;;
  data)
    if ((${#schemas[@]} == 0)); then mapfile -t schemas < <(schemas_with_tables); fi
    for s in "${schemas[@]}"; do dump_one "data-$s" "$(count_tables "$s")" --data-only --schema="$s"; done
    ;;
esac

# --- retention: archives (and their checksum and listing) older than N days are removed
removed=0
while IFS= read -r -d '' old; do
  rm -f "$old" "$old.sha256" "${old%.dump.gz*}.toc"
  removed=$((removed + 1))
  log info retention_removed "archive=$old"
done < <(find "$dir" -maxdepth 1 -type f \( -name '*.dump.gz' -o -name '*.dump.gz.age' -o -name '*.dump.gz.gpg' \) -mtime "+$((retention_days - 1))" -print0)
log info finished "mode=$mode" "retention_days=$retention_days" "removed=$removed"
