#!/usr/bin/env bash
# Shared helpers for backup.sh and restore.sh (sourced, not run).
# Logs are logfmt lines on stderr (and appended to $LOG_FILE when set); stdout carries results only.

PG_BIN_DIR=${PG_BIN_DIR:-}
pg_tool() { if [[ -n $PG_BIN_DIR ]]; then printf '%s/%s' "$PG_BIN_DIR" "$1"; else printf '%s' "$1"; fi; }
PG_DUMP=$(pg_tool pg_dump)
PG_RESTORE=$(pg_tool pg_restore)
PSQL=$(pg_tool psql)
export PG_DUMP PG_RESTORE PSQL

# The usage of a script: its leading comment block (after the shebang, up to the first line of
# code), without the "# " prefixes.
script_usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p}' "$1"; }

# `pnpm backup` / `pnpm restore` run this in infra/ (pnpm runs a package's script in its folder):
# relative paths the operator typed are theirs, so go back to the folder pnpm was run in.
from_caller_dir() { [[ -z ${PROSPECTFLOW_CALLER_CWD:-} ]] || cd "$PROSPECTFLOW_CALLER_CWD" || exit 2; }

log() {
  local level=$1 event=$2
  shift 2
  local line
  line="ts=$(date -u +%Y-%m-%dT%H:%M:%SZ) level=$level script=${SCRIPT_NAME:-infra} event=$event"
  local kv
  for kv in "$@"; do
    local key=${kv%%=*} value=${kv#*=}
    if [[ $value =~ [[:space:]\"=] || -z $value ]]; then
      value=\"${value//\"/\\\"}\"
    fi
    line+=" $key=$value"
  done
  printf '%s\n' "$line" >&2
  if [[ -n ${LOG_FILE:-} ]]; then printf '%s\n' "$line" >>"$LOG_FILE"; fi
}

die() {
  local message=$1
  shift
  log error failed "message=$message" "$@"
  exit "${EXIT_CODE:-1}"
}

# URL helpers (node's WHATWG URL: correct percent-encoding of user, password and database).
# No password in any process's arguments (every local user can read them with ps): URLs and the
# values to set reach node through the environment, and psql gets the password in PGPASSWORD.
url_with() {
  # url_with URL [db=NAME] [user=NAME] [password=SECRET]
  local IFS=$'\n'
  URL_IN=$1 URL_SET="${*:2}" node -e '
    const u = new URL(process.env.URL_IN);
    for (const kv of (process.env.URL_SET || "").split("\n").filter(Boolean)) {
      const i = kv.indexOf("="); const k = kv.slice(0, i); const v = kv.slice(i + 1);
      if (k === "db") u.pathname = "/" + encodeURIComponent(v);
      else if (k === "user") u.username = encodeURIComponent(v);
      else if (k === "password") u.password = encodeURIComponent(v);
    }
    process.stdout.write(u.toString());
  '
}
url_db() { URL_IN=$1 node -e 'process.stdout.write(decodeURIComponent(new URL(process.env.URL_IN).pathname.slice(1)))'; }
url_redacted() { URL_IN=$1 node -e 'const u = new URL(process.env.URL_IN); if (u.password) u.password = "***"; process.stdout.write(u.toString())'; }
url_password() { URL_IN=$1 node -e 'process.stdout.write(decodeURIComponent(new URL(process.env.URL_IN).password))'; }
url_without_password() { URL_IN=$1 node -e 'const u = new URL(process.env.URL_IN); u.password = ""; process.stdout.write(u.toString())'; }

psql_value() {
  # psql_value URL SQL → first column of the first row (the URL's password, if any, goes to PGPASSWORD)
  local url=$1 password=''
  if [[ $url == *@* ]]; then
    password=$(url_password "$url")
    url=$(url_without_password "$url")
  fi
  PGPASSWORD=${password:-${PGPASSWORD:-}} "$PSQL" --no-psqlrc --quiet --no-align --tuples-only --set ON_ERROR_STOP=1 -d "$url" -c "$2"
}

pg_major_of_tool() { "$1" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/'; }

# Progress: reads pg_dump/pg_restore --verbose lines on stdin, prints "[k/N] schema.table" for
# each table as it is processed and logs everything else (errors included) as-is.
progress_filter() {
  local total=$1 verb=$2 count=0 line table
  while IFS= read -r line; do
    if [[ $line =~ (dumping contents of table|processing data for table)\ \"?([^\"]+)\"? ]]; then
      count=$((count + 1))
      table=${BASH_REMATCH[2]}
      log info progress "step=$verb" "done=$count" "total=$total" "table=$table"
    elif [[ $line =~ (^|: )(error|warning|ERROR|FATAL|WARNING|PANIC): ]]; then
      log warn "${verb}_output" "line=$line"
    elif [[ ${VERBOSE:-0} == 1 ]]; then
      log debug "${verb}_output" "line=$line"
    fi
  done
}
