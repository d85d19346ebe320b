#!/bin/sh
# Writes pgbouncer.ini and the auth file from the environment, then runs pgBouncer in the
# foreground. Used by the pgbouncer service in infra/compose.yaml and by infra/scripts/load.ts,
# so the configuration measured under load is the one deployed. POSIX sh (the image is Alpine).
#
# Env: PGBOUNCER_TARGET_HOST (postgres), PGBOUNCER_TARGET_PORT (5432), PGBOUNCER_LISTEN_ADDR (0.0.0.0),
#      PGBOUNCER_LISTEN_PORT (6432), PGBOUNCER_POOL_MODE (transaction), PGBOUNCER_MAX_CLIENT_CONN (100),
#      PGBOUNCER_DEFAULT_POOL_SIZE (25), PGBOUNCER_RESERVE_POOL_SIZE (5), PGBOUNCER_MAX_DB_CONNECTIONS (50),
#      PGBOUNCER_ADMIN_PASSWORD (user pgbouncer_admin, known only to pgBouncer: SHOW POOLS/STATS),
#      PGBOUNCER_CONFIG_DIR (/tmp/pgbouncer),
#      PROSPECTFLOW_APP_PASSWORD, PROSPECTFLOW_WORKER_PASSWORD (default: the role name).
#      TLS, each written only when set: PGBOUNCER_CLIENT_TLS_SSLMODE / _CERT_FILE / _KEY_FILE / _CA_FILE
#      (apps → pgBouncer) and PGBOUNCER_SERVER_TLS_SSLMODE / _CA_FILE / _CERT_FILE / _KEY_FILE
#      (pgBouncer → PostgreSQL; verify-full in production). docs/operations/tls.md.
#      PGBOUNCER_DRY_RUN=1 prints the ini and exits. NODE_ENV=production refuses unset, example
#      and short passwords (as the apps do).
set -eu

dir=${PGBOUNCER_CONFIG_DIR:-/tmp/pgbouncer}
mkdir -p "$dir"
umask 077

quote() { printf '"%s"' "$(printf '%s' "$1" | sed 's/"/""/g')"; }

# Production (NODE_ENV=production, as compose sets it) refuses what the apps' secret rule refuses
# (@prospectflow/config): an unset password (the role-name default), a published example value
# (change-me…, example, placeholder) or one shorter than 24 characters. Names the variable only.
if [ "${NODE_ENV:-}" = production ]; then
  refused=0
  for name in PGBOUNCER_ADMIN_PASSWORD PROSPECTFLOW_APP_PASSWORD PROSPECTFLOW_WORKER_PASSWORD; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
      echo "pgbouncer: $name must be set when NODE_ENV=production (the dev default is refused)" >&2
      refused=1
    elif printf '%s' "$value" | grep -Eqi 'change-?me|example|placeholder'; then
      echo "pgbouncer: $name is a published example value: set a secret of your own" >&2
      refused=1
    elif [ "${#value}" -lt 24 ]; then
      echo "pgbouncer: $name is too short for production (24 characters at least)" >&2
      refused=1
    fi
  done
  [ "$refused" = 0 ] || exit 1
fi

app_password=${PROSPECTFLOW_APP_PASSWORD:-prospectflow_app}
worker_password=${PROSPECTFLOW_WORKER_PASSWORD:-prospectflow_worker}
admin_password=${PGBOUNCER_ADMIN_PASSWORD:-pgbouncer_admin}
{
  printf '%s %s\n' "$(quote prospectflow_app)" "$(quote "$app_password")"
  printf '%s %s\n' "$(quote prospectflow_worker)" "$(quote "$worker_password")"
  printf '%s %s\n' "$(quote pgbouncer_admin)" "$(quote "$admin_password")"
} > "$dir/userlist.txt"

cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=${PGBOUNCER_TARGET_HOST:-postgres} port=${PGBOUNCER_TARGET_PORT:-5432}

[pgbouncer]
listen_addr = ${PGBOUNCER_LISTEN_ADDR:-0.0.0.0}
listen_port = ${PGBOUNCER_LISTEN_PORT:-6432}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
admin_users = pgbouncer_admin
stats_users = pgbouncer_admin
pool_mode = ${PGBOUNCER_POOL_MODE:-transaction}
max_client_conn = ${PGBOUNCER_MAX_CLIENT_CONN:-100}
default_pool_size = ${PGBOUNCER_DEFAULT_POOL_SIZE:-25}
min_pool_size = 0
reserve_pool_size = ${PGBOUNCER_RESERVE_POOL_SIZE:-5}
reserve_pool_timeout = 3
max_db_connections = ${PGBOUNCER_MAX_DB_CONNECTIONS:-50}
server_reset_query =
server_check_delay = 30
query_wait_timeout = ${PGBOUNCER_QUERY_WAIT_TIMEOUT:-30}
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
stats_period = 60
INI

for setting in client_tls_sslmode client_tls_cert_file client_tls_key_file client_tls_ca_file \
  server_tls_sslmode server_tls_ca_file server_tls_cert_file server_tls_key_file; do
  eval "value=\${PGBOUNCER_$(printf '%s' "$setting" | tr '[:lower:]' '[:upper:]'):-}"
  if [ -n "$value" ]; then printf '%s = %s\n' "$setting" "$value" >> "$dir/pgbouncer.ini"; fi
done

if [ "${PGBOUNCER_DRY_RUN:-0}" = "1" ]; then
  cat "$dir/pgbouncer.ini"
  exit 0
fi
exec pgbouncer "$dir/pgbouncer.ini"
