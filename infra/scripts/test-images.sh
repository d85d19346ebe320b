#!/usr/bin/env bash
# Builds the ingest-api, migrate and worker images from the repository root with podman and runs
# them with --network=host against this machine's PostgreSQL and Redis:
#   migrate image: db setup (roles, fresh database) + migrations as a one-shot job
#   ingest-api:    /health and /ready answer 200, an authenticated request (dev token) answers 200,
#                  runs as node, only production dependencies
#   worker:        a noop task inserted in the database reaches "succeeded"
# and prints each image's size.
#
# usage: infra/scripts/test-images.sh      (from anywhere; pnpm test:images in infra)
# env:   IMAGES_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), IMAGES_REDIS_URL
#        (redis://127.0.0.1:6379), CONTAINER_ENV_SCRIPT (../shared/tools/container-env.sh beside the
#        repository), IMAGES_KEEP=1 keeps containers and the database for inspection,
#        IMAGES_BUILD_ARGS (extra podman build arguments)
# Exit codes: 0 all checks passed, 1 a check failed, 77 podman cannot be set up on this machine.
set -euo pipefail
export SCRIPT_NAME=test-images
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR
# shellcheck source=lib.sh
source "$here/lib.sh"
repo=$(cd "$here/../.." && pwd)
cd "$repo"

admin=${IMAGES_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis=${IMAGES_REDIS_URL:-redis://127.0.0.1:6379}
tag="test"
database=pf_images_$(date -u +%Y%m%d%H%M%S)_$$
api_image=prospectflow/ingest-api:$tag
migrate_image=prospectflow/migrate:$tag
worker_image=prospectflow/worker:$tag
api_name=pf-images-api-$$
worker_name=pf-images-worker-$$
keys=$(mktemp -d)
failures=0

cannot_setup() {
  log error podman_unavailable "reason=$1"
  printf '\ntest:images SKIPPED: podman cannot be set up on this machine (%s).\n' "$1" >&2
  exit 77
}

# --- podman and the local base image
container_env=${CONTAINER_ENV_SCRIPT:-$repo/../shared/tools/container-env.sh}
if ! command -v podman >/dev/null || ! podman image exists docker.io/library/node:22-bookworm-slim 2>/dev/null; then
  if [[ -x $container_env || -f $container_env ]]; then
    log info container_env_setup "script=$container_env" "note=debootstrap takes a few minutes the first time"
    bash "$container_env" >&2 || cannot_setup "$container_env failed"
  else
    cannot_setup "podman or the node:22-bookworm-slim base image is missing and $container_env does not exist"
  fi
fi
command -v podman >/dev/null || cannot_setup "podman is not installed"
podman info >/dev/null 2>&1 || cannot_setup "podman info fails (no usable runtime or storage)"

cleanup() {
  local code=$?
  if [[ ${IMAGES_KEEP:-0} == 1 ]]; then
    log info kept "api=$api_name" "worker=$worker_name" "database=$database" "keys=$keys"
    return
  fi
  podman rm -f "$api_name" "$worker_name" >/dev/null 2>&1 || true
  psql_value "$admin" "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$keys"
  exit "$code"
}
trap cleanup EXIT

check() {
  # check NAME COMMAND... → logs pass/fail, counts failures, never exits
  local name=$1
  shift
  if "$@"; then
    log info check_passed "check=$name"
  else
    log error check_failed "check=$name"
    failures=$((failures + 1))
  fi
}

build() {
  local image=$1 dockerfile=$2
  shift 2
  local started=$SECONDS
  log info build_start "image=$image" "dockerfile=$dockerfile" "args=$*"
  # shellcheck disable=SC2086 # IMAGES_BUILD_ARGS is a list of words on purpose
  # docker format: OCI images drop HEALTHCHECK.
  podman build --pull=never --layers --format docker -f "$dockerfile" -t "$image" ${IMAGES_BUILD_ARGS:-} "$@" . >&2 ||
    die "image build failed" "image=$image"
  log info build_done "image=$image" "seconds=$((SECONDS - started))"
}

build "$api_image" apps/ingest-api/Dockerfile --target runner
build "$migrate_image" apps/ingest-api/Dockerfile --target migrate
build "$worker_image" apps/worker/Dockerfile --target runner

# --- migrate image: roles + fresh database, then migrations (one-shot jobs)
db_admin=$(url_with "$admin" "db=$database")
migrator=$(url_with "$db_admin" user=prospectflow_migrator password=prospectflow_migrator)
app_url=$(url_with "$db_admin" user=prospectflow_app password=prospectflow_app)
worker_url=$(url_with "$db_admin" user=prospectflow_worker password=prospectflow_worker)
# NODE_ENV=development: the role-name passwords are dev defaults, refused in production.
podman run --rm --network=host -e NODE_ENV=development -e "DATABASE_ADMIN_URL=$admin" -e "MIGRATION_DATABASE_URL=$migrator" \
  "$migrate_image" node dist/cli.js setup >&2 || die "db setup (migrate image) failed"
podman run --rm --network=host -e NODE_ENV=development -e "MIGRATION_DATABASE_URL=$migrator" "$migrate_image" >&2 ||
  die "migrations (migrate image, default CMD) failed"
applied=$(psql_value "$db_admin" "SELECT count(*) FROM public.schema_version WHERE version::bigint > 0")
check migrations_applied test "$applied" -gt 0

# --- ingest-api
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# Dev tokens: the API verifies with the key the host's token CLI signs with (AUTH_MODE=dev, which
# the app refuses under NODE_ENV=production, so this run says development).
token=$(AUTH_MODE=dev AUTH_DEV_KEY_DIR=$keys NODE_ENV=development pnpm --silent token --email images@prospectflow.local | tail -1)
chmod -R a+rX "$keys"
podman run -d --name "$api_name" --network=host \
  -e NODE_ENV=development -e AUTH_MODE=dev -e AUTH_DEV_KEY_DIR=/keys -v "$keys:/keys:ro" \
  -e "PORT=$port" -e HOST=127.0.0.1 -e "DATABASE_URL=$app_url" -e "REDIS_URL=$redis" \
  -e PUBLIC_BASE_URL=http://127.0.0.1 "$api_image" >/dev/null
base=http://127.0.0.1:$port

wait_http() {
  local url=$1 deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "$url"; do
    if ((SECONDS > deadline)); then return 1; fi
    sleep 1
  done
}
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

if wait_http "$base/health"; then
  check api_health test "$(status_of "$base/health")" = 200
  check api_ready test "$(status_of "$base/ready")" = 200
  check api_authenticated test "$(status_of -H "authorization: Bearer $token" "$base/v1/me")" = 200
  check api_rejects_anonymous test "$(status_of "$base/v1/me")" = 401
else
  log error api_not_up "logs=$(podman logs --tail 30 "$api_name" 2>&1 | tr '\n' '|')"
  failures=$((failures + 1))
fi
check api_runs_as_node test "$(podman inspect --format '{{.Config.User}}' "$api_image")" = node
check api_has_healthcheck grep -q /health <<<"$(podman image inspect --format '{{json .HealthCheck}}' "$api_image")"
check api_prod_deps_only podman run --rm --entrypoint sh "$api_image" -c \
  'test ! -e src && test ! -e node_modules/typescript && test ! -e node_modules/vitest && test ! -e node_modules/.pnpm/typescript@* && test -d node_modules/fastify'
check api_healthcheck_command podman healthcheck run "$api_name"

# --- worker: a noop task must succeed
worker_port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
podman run -d --name "$worker_name" --network=host -e NODE_ENV=development \
  -e "WORKER_DATABASE_URL=$worker_url" -e "WORKER_METRICS_PORT=$worker_port" -e WORKER_METRICS_HOST=127.0.0.1 -e SMTP_URL=smtp://127.0.0.1:2525 \
  -e PUBLIC_BASE_URL=http://127.0.0.1 "$worker_image" >/dev/null
org=$(psql_value "$db_admin" "INSERT INTO iam.organisations (name, slug) VALUES ('Images', 'images-$$') RETURNING id" | head -1)
task=$(psql_value "$db_admin" "INSERT INTO outreach.tasks (organisation_id, type, payload) VALUES ('$org', 'noop', '{}') RETURNING id" | head -1)
log info task_inserted "task=$task" "organisation=$org"
task_status=''
deadline=$((SECONDS + 90))
while ((SECONDS < deadline)); do
  task_status=$(psql_value "$db_admin" "SELECT status FROM outreach.tasks WHERE organisation_id = '$org' AND id = '$task'")
  [[ $task_status == succeeded || $task_status == failed ]] && break
  sleep 1
done
check worker_processed_task test "$task_status" = succeeded
[[ $task_status == succeeded ]] || log error worker_logs "logs=$(podman logs --tail 30 "$worker_name" 2>&1 | tr '\n' '|')"
if wait_http "http://127.0.0.1:$worker_port/health"; then
  check worker_health test "$(status_of "http://127.0.0.1:$worker_port/health")" = 200
else
  log error worker_health_unreachable "port=$worker_port"
  failures=$((failures + 1))
fi
check worker_has_healthcheck grep -q /health <<<"$(podman image inspect --format '{{json .HealthCheck}}' "$worker_image")"
check worker_runs_as_node test "$(podman inspect --format '{{.Config.User}}' "$worker_image")" = node

# --- sizes
printf '\n%-40s %10s\n' IMAGE SIZE
for image in "$api_image" "$migrate_image" "$worker_image"; do
  bytes=$(podman image inspect --format '{{.Size}}' "$image")
  printf '%-40s %7s MB\n' "${image%%:*}" "$((bytes / 1000000))"
  log info image_size "image=${image%%:*}" "bytes=$bytes"
done
base_bytes=$(podman image inspect --format '{{.Size}}' docker.io/library/node:22-bookworm-slim)
printf '%-40s %7s MB\n' "(base node:22-bookworm-slim stand-in)" "$((base_bytes / 1000000))"

if ((failures > 0)); then
  printf '\ntest:images FAILED: %s check(s) failed\n' "$failures" >&2
  exit 1
fi
printf '\ntest:images passed\n' >&2
