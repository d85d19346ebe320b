#!/usr/bin/env bash
# Restores a backup.sh archive. Takes a safety backup of the target first, asks for confirmation
# (--yes skips it, for automation; without a terminal and without --yes it refuses), then runs the
# validation suite (db:validate) against the restored database.
#
# usage: restore.sh ARCHIVE.dump.gz[.gpg|.age] [--target-db NAME] [--schema NAME] [--yes] [--no-validate]
#   (default)      full restore of a whole-database archive (backup.sh full, no --schema; others
#                  are refused): the target database is dropped, re-created by db-schema's
#                  setupDatabase (owner, grants, extensions) and the archive restored in one transaction
#   --schema NAME  restore the DATA of one schema from a full or data archive into the existing
#                  database (structure stays: same migration version required), in one transaction,
#                  refusing if it would leave a foreign key pointing at a missing row
# env:  DATABASE_ADMIN_URL    superuser URL of the cluster (any database; required)
#       BACKUP_DATABASE_URL   for the safety backup (default: the admin URL as prospectflow_backup
#                             with PROSPECTFLOW_BACKUP_PASSWORD)
#       BACKUP_DIR (./backups; safety backups go to BACKUP_DIR/safety), PG_BIN_DIR,
#       RESTORE_VALIDATE_CMD  (default: pnpm --dir <repo> --silent db:validate), run with
#                             DATABASE_ADMIN_URL, MIGRATION_DATABASE_URL and DATABASE_URL set to the target
# Exit codes: 1 failure, 2 usage or not confirmed, 5 archive integrity, 6 validation failed.
set -euo pipefail
export SCRIPT_NAME=restore
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
source "$here/lib.sh"
repo_root=$(cd "$here/../.." && pwd)

usage() { script_usage "$here/restore.sh"; }
from_caller_dir

archive=''
target=''
schema=''
assume_yes=0
validate=1
while (($#)); do
  case $1 in
    --target-db) target=${2:?--target-db needs a name}; shift ;;
    --schema) schema=${2:?--schema needs a name}; shift ;;
    --yes | -y) assume_yes=1 ;;
    --no-validate) validate=0 ;;
    -h | --help) usage; exit 0 ;;
    --) ;; # pnpm passes its -- through (`pnpm restore -- --help`): it separates nothing here
    -*) usage >&2; EXIT_CODE=2 die "unknown option" "option=$1" ;;
    *) [[ -z $archive ]] || EXIT_CODE=2 die "one archive at a time" "extra=$1"; archive=$1 ;;
  esac
  shift
done
[[ -n $archive ]] || { usage >&2; EXIT_CODE=2 die "no archive given"; }
[[ -f $archive ]] || EXIT_CODE=2 die "archive not found" "archive=$archive"
admin=${DATABASE_ADMIN_URL:-}
[[ -n $admin ]] || EXIT_CODE=2 die "DATABASE_ADMIN_URL is not set (superuser URL)"
# No password in any process's arguments (every local user can read them with ps): the admin
# password goes to PGPASSWORD (libpq's env), psql and pg_restore get URLs without it, and node
# (db-setup.mjs, the validation suite) reads full URLs from the environment.
admin_full=$admin
PGPASSWORD=$(url_password "$admin_full")
export PGPASSWORD
admin=$(url_without_password "$admin_full")
backup_dir=${BACKUP_DIR:-./backups}
mkdir -p "$backup_dir/safety"
backup_dir=$(cd "$backup_dir" && pwd)
export LOG_FILE="$backup_dir/restore.log"
archive=$(cd "$(dirname "$archive")" && pwd)/$(basename "$archive")
started=$SECONDS

# --- 1. integrity: checksum file, gzip stream, archive listing
checksum_file="$archive.sha256"
[[ -f $checksum_file ]] || EXIT_CODE=5 die "checksum file missing" "expected=$checksum_file"
(cd "$(dirname "$archive")" && sha256sum --check --status "$(basename "$checksum_file")") ||
  EXIT_CODE=5 die "checksum mismatch: the archive is damaged or was changed" "archive=$archive"
umask 077 # the decrypted and unpacked dump in $work is the whole database
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Encrypted by backup.sh (BACKUP_ENCRYPT): decrypt into the private work directory first.
gz=$archive
case $archive in
  *.gpg)
    gz="$work/archive.dump.gz"
    gpg --batch --quiet --output "$gz" --decrypt "$archive" || EXIT_CODE=5 die "gpg could not decrypt the archive" "archive=$archive"
    ;;
  *.age)
    [[ -n ${BACKUP_AGE_IDENTITY:-} ]] || EXIT_CODE=2 die "BACKUP_AGE_IDENTITY is needed to decrypt an .age archive"
    gz="$work/archive.dump.gz"
    age --decrypt --identity "$BACKUP_AGE_IDENTITY" --output "$gz" "$archive" ||
      EXIT_CODE=5 die "age could not decrypt the archive" "archive=$archive"
    ;;
esac
gzip -t "$gz" || EXIT_CODE=5 die "gzip stream is damaged" "archive=$archive"
gzip -dc "$gz" >"$work/archive.dump"
"$PG_RESTORE" --list "$work/archive.dump" >"$work/archive.toc" || EXIT_CODE=5 die "archive listing failed" "archive=$archive"
data_entries=$(grep -c ' TABLE DATA ' "$work/archive.toc" || true)
source_db=$(sed -n 's/^;[[:space:]]*dbname: //p' "$work/archive.toc" | head -1)
target=${target:-$source_db}
log info archive_ok "archive=$archive" "source_db=$source_db" "target_db=$target" "table_data_entries=$data_entries"
# A full restore drops the target first: only an archive of the whole database (backup.sh full
# without --schema) may replace it. A one-schema, data-only or structure-only archive holds no
# structure and data of the migration history table (db-schema's SCHEMA_VERSION_TABLE), and would
# leave the target empty or without its history; such archives restore with --schema.
if [[ -z $schema ]]; then
  version_table=$(cd "$here" && node --input-type=module -e \
    'process.stdout.write((await import("@prospectflow/db-schema")).SCHEMA_VERSION_TABLE)')
  for kind in 'TABLE' 'TABLE DATA'; do
    if ! grep -q "^[0-9]*; [0-9]* [0-9]* $kind ${version_table/./ } " "$work/archive.toc"; then
      EXIT_CODE=2 die "not a whole-database archive (one schema, data only or structure only): restore it with --schema NAME, or use a backup.sh full archive; nothing was changed" \
        "archive=$archive" "missing=$kind $version_table"
    fi
  done
fi

target_admin=$(url_with "$admin" "db=$target")
exists=$(psql_value "$admin" "SELECT count(*) FROM pg_database WHERE datname = '${target//\'/\'\'}'")

# --- 2. safety backup of what is there now
if ((exists == 1)); then
  safety_url=${BACKUP_DATABASE_URL:-$(url_with "$admin" user=prospectflow_backup "password=${PROSPECTFLOW_BACKUP_PASSWORD:-prospectflow_backup}")}
  safety_url=$(url_with "$safety_url" "db=$target")
  log info safety_backup_start "target_db=$target" "dir=$backup_dir/safety"
  safety=$(BACKUP_DATABASE_URL=$safety_url LOG_FILE='' bash "$here/backup.sh" full --dir "$backup_dir/safety") ||
    die "safety backup failed: nothing was changed" "target_db=$target"
  log info safety_backup_done "archive=$safety"
else
  log info safety_backup_skipped "reason=target database does not exist yet" "target_db=$target"
fi

# --- 3. confirmation
what="replace database \"$target\" with $(basename "$archive")"
[[ -n $schema ]] && what="replace the data of schema \"$schema\" in database \"$target\" with $(basename "$archive")"
if ((assume_yes == 0)); then
  if [[ ! -t 0 ]]; then
    EXIT_CODE=2 die "refusing to $what without confirmation: run in a terminal or pass --yes"
  fi
  printf 'About to %s.\nType the database name (%s) to continue: ' "$what" "$target" >&2
  read -r answer
  [[ $answer == "$target" ]] || EXIT_CODE=2 die "not confirmed; nothing was changed"
fi
log info confirmed "action=$what"

restore_full() {
  psql_value "$admin" "DROP DATABASE IF EXISTS \"${target//\"/\"\"}\" WITH (FORCE)" >/dev/null
  DATABASE_ADMIN_URL=$admin_full node "$here/db-setup.mjs" "$target" >/dev/null || die "db-schema setupDatabase failed" "target_db=$target"
  log info restore_start "mode=full" "target_db=$target" "tables=$data_entries"
  if ! "$PG_RESTORE" --dbname="$target_admin" --exit-on-error --single-transaction --no-password --verbose \
    "$work/archive.dump" 2> >(progress_filter "$data_entries" restore); then
    die "pg_restore failed; the target was left empty (the safety backup holds the previous state)" "target_db=$target"
  fi
}

restore_schema() {
  ((exists == 1)) || die "schema restore needs an existing database" "target_db=$target"
  local listed live
  listed=$(grep ' TABLE DATA ' "$work/archive.toc" | awk -v s="$schema" '$6 == s { print $7 }' | sort)
  [[ -n $listed ]] || die "the archive holds no data for this schema" "schema=$schema"
  live=$(psql_value "$target_admin" "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = '${schema//\'/\'\'}' AND c.relkind = 'r' ORDER BY 1" | sort)
  if [[ $listed != "$live" ]]; then
    die "the schema's tables differ between the archive and the database (different migration version?)" "schema=$schema"
  fi
  # Data of this schema only, replayed by psql inside one transaction: triggers and foreign key
  # checks are off (session_replication_role=replica) while the rows are replaced, then every
  # foreign key into or out of the schema is checked before COMMIT.
  "$PG_RESTORE" --data-only --schema="$schema" --file="$work/data.sql" "$work/archive.dump"
  local count
  count=$(wc -l <<<"$listed")
  {
    printf 'SET session_replication_role = replica;\n'
    while IFS= read -r table; do printf 'DELETE FROM %s.%s;\n' "\"$schema\"" "\"$table\""; done <<<"$listed"
    printf '\\echo restore: loading %s tables\n' "$count"
    printf '\\i %s\n' "$work/data.sql"
    printf 'SET session_replication_role = origin;\n'
    cat "$here/sql/check-foreign-keys.sql"
  } >"$work/run.sql"
  sed -i "s/:'schema'/'${schema//\'/\'\'}'/" "$work/run.sql"
  log info restore_start "mode=schema" "schema=$schema" "target_db=$target" "tables=$count"
  "$PSQL" --no-psqlrc --quiet --set ON_ERROR_STOP=1 --single-transaction -d "$target_admin" -f "$work/run.sql" >/dev/null ||
    die "schema restore failed and was rolled back; the database is unchanged" "schema=$schema"
}

if [[ -n $schema ]]; then restore_schema; else restore_full; fi
log info restore_done "target_db=$target" "seconds=$((SECONDS - started))"

# --- 4. validation suite
if ((validate == 1)); then
  validate_cmd=${RESTORE_VALIDATE_CMD:-pnpm --dir "$repo_root" --silent db:validate}
  log info validate_start "command=$validate_cmd"
  if ! DATABASE_ADMIN_URL=$(url_with "$admin_full" "db=$target") \
    MIGRATION_DATABASE_URL=$(url_with "$target_admin" user=prospectflow_migrator "password=${PROSPECTFLOW_MIGRATOR_PASSWORD:-prospectflow_migrator}") \
    DATABASE_URL=$(url_with "$target_admin" user=prospectflow_app "password=${PROSPECTFLOW_APP_PASSWORD:-prospectflow_app}") \
    bash -c "$validate_cmd" >&2; then
    EXIT_CODE=6 die "validation failed after restore" "target_db=$target"
  fi
  log info validate_passed "target_db=$target"
fi
printf '%s\n' "$target"
