#!/usr/bin/env bash
# Builds the ingest-api, migrate, worker and legacy-import images from the repository root with
# podman and runs them with --network=host against this machine's PostgreSQL and Redis:
#   migrate image: db setup (roles, fresh database) + migrations as a one-shot job
#   ingest-api:    /health and /ready answer 200, an authenticated request (dev token) answers 200,
#                  runs as node, only production dependencies; then in production mode (the image's
#                  NODE_ENV, Cognito verification): keys fetched from an https JWKS endpoint whose
#                  throw-away CA the container trusts through NODE_EXTRA_CA_CERTS, an ID token
#                  answers 200 on /v1/me and no token 401
#   worker:        a noop task inserted in the database reaches "succeeded"
#   legacy-import: --help; consolidates generated copies of the three legacy SQLite stores
#                  (stores:example) into a new organisation: import succeeded, rows archived,
#                  prompts typed; runs as node; its one native addon is better-sqlite3's
#   every image:   no Prisma, no compiler toolchain, no native addon (legacy-import: only
#                  better-sqlite3's), no test/dev server (smtp-server, s3rver, embedded-postgres)
# and prints each image's size above the node base image, failing above the budget.
#
# usage: infra/scripts/test-images.sh      (from anywhere; pnpm test:images in infra)
# env:   IMAGES_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres), IMAGES_REDIS_URL
#        (redis://127.0.0.1:6379), CONTAINER_ENV_SCRIPT (../shared/tools/container-env.sh beside the
#        repository), IMAGES_KEEP=1 keeps containers and the database for inspection,
#        IMAGES_BUILD_ARGS (extra podman build arguments), IMAGES_PREBUILT=1 runs the checks on
#        prospectflow/{ingest-api,migrate,worker,legacy-import}:test already in podman's store
#        (CI builds them with docker buildx and its layer cache, then loads them),
#        IMAGES_BUDGET_MB (80): most MB an image may add above node:22-bookworm-slim
# Exit codes: 0 all checks passed, 1 a check failed, 77 podman cannot be set up on this machine.
set -euo pipefail
export SCRIPT_NAME=test-images
case ${1:-} in
  -h | --help) sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  # It takes no argument: anything else is a mistake, not an image build to start.
  *) printf 'test-images.sh: unknown argument %s (see --help)\n' "$1" >&2; exit 2 ;;
esac
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
legacy_image=prospectflow/legacy-import:$tag
budget_mb=${IMAGES_BUDGET_MB:-80}
api_name=pf-images-api-$$
prod_name=pf-images-api-prod-$$
worker_name=pf-images-worker-$$
keys=$(mktemp -d)
tls=$(mktemp -d)
jwks_pid=
stores=$(mktemp -d)
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
    log info kept "api=$api_name" "api_production=$prod_name" "worker=$worker_name" "database=$database" "keys=$keys" "tls=$tls"
    return
  fi
  podman rm -f "$api_name" "$prod_name" "$worker_name" >/dev/null 2>&1 || true
  if [[ -n $jwks_pid ]]; then kill "$jwks_pid" 2>/dev/null || true; fi
  psql_value "$admin" "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$keys" "$tls" "$stores"
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
  if [[ ${IMAGES_PREBUILT:-0} == 1 ]]; then
    podman image exists "$image" || die "IMAGES_PREBUILT=1 but $image is not in podman's store" "image=$image"
    log info build_skipped "image=$image" "reason=IMAGES_PREBUILT"
    return
  fi
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
build "$legacy_image" apps/legacy-import/Dockerfile --target runner

# --- migrate image: roles + fresh database, then migrations (one-shot jobs)
db_admin=$(url_with "$admin" "db=$database")
migrator=$(url_with "$db_admin" user=prospectflow_migrator password=prospectflow_migrator)
app_url=$(url_with "$db_admin" user=prospectflow_app password=prospectflow_app)
worker_url=$(url_with "$db_admin" user=prospectflow_worker password=prospectflow_worker)
# NODE_ENV=development: the role-name passwords are dev defaults, refused in production.
# URLs go to the containers by name (-e NAME takes the value from this environment), never as arguments.
DATABASE_ADMIN_URL=$admin MIGRATION_DATABASE_URL=$migrator \
  podman run --rm --network=host -e NODE_ENV=development -e DATABASE_ADMIN_URL -e MIGRATION_DATABASE_URL \
  "$migrate_image" node dist/cli.js setup >&2 || die "db setup (migrate image) failed"
MIGRATION_DATABASE_URL=$migrator podman run --rm --network=host -e NODE_ENV=development -e MIGRATION_DATABASE_URL "$migrate_image" >&2 ||
  die "migrations (migrate image, default CMD) failed"
applied=$(psql_value "$db_admin" "SELECT count(*) FROM public.schema_version WHERE version::bigint > 0")
check migrations_applied test "$applied" -gt 0

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# --- ingest-api
port=$(free_port)
# Dev tokens: the API verifies with the key the host's token CLI signs with (AUTH_MODE=dev, which
# the app refuses under NODE_ENV=production, so this run says development).
token=$(AUTH_MODE=dev AUTH_DEV_KEY_DIR=$keys NODE_ENV=development pnpm --silent token --email images@prospectflow.local | tail -1)
chmod -R a+rX "$keys"
DATABASE_URL=$app_url podman run -d --name "$api_name" --network=host \
  -e NODE_ENV=development -e AUTH_MODE=dev -e AUTH_DEV_KEY_DIR=/keys -v "$keys:/keys:ro" \
  -e "PORT=$port" -e HOST=127.0.0.1 -e DATABASE_URL -e "REDIS_URL=$redis" \
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

# --- ingest-api in production mode: Cognito verification (AUTH_MODE's default) of an ID token signed
# by the dev key, whose JWKS a host server publishes over https with a certificate from a throw-away
# CA; the container trusts that CA only through NODE_EXTRA_CA_CERTS. COGNITO_TOKEN_USE=id: the ID
# token carries the email, so no userInfo endpoint is needed. The database password goes in
# PGPASSWORD, not in DATABASE_URL: the role passwords here are dev defaults, which the production
# rules refuse inside a URL.
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj '/CN=pf-images CA' \
  -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$tls/san.ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 1 \
  -extfile "$tls/san.ext" -out "$tls/server.crt" 2>/dev/null
chmod a+r "$tls/ca.crt"
id_token=$(AUTH_MODE=dev AUTH_DEV_KEY_DIR=$keys NODE_ENV=development pnpm --silent token --type id --email images-prod@prospectflow.local | tail -1)
jwks_port=$(free_port)
node -e '
  const fs = require("fs"), https = require("https"), crypto = require("crypto");
  const [dir, tls, port, token] = process.argv.slice(1);
  const kid = JSON.parse(Buffer.from(token.split(".")[0], "base64url")).kid;
  const jwk = crypto.createPublicKey(fs.readFileSync(dir + "/private.pem")).export({ format: "jwk" });
  const body = JSON.stringify({ keys: [{ ...jwk, kid, alg: "RS256", use: "sig" }] });
  https
    .createServer({ key: fs.readFileSync(tls + "/server.key"), cert: fs.readFileSync(tls + "/server.crt") }, (_q, r) => {
      r.writeHead(200, { "content-type": "application/json" });
      r.end(body);
    })
    .listen(Number(port), "127.0.0.1");
' "$keys" "$tls" "$jwks_port" "$id_token" &
jwks_pid=$!
prod_port=$(free_port)
DATABASE_URL=$(url_without_password "$app_url") PGPASSWORD=prospectflow_app PRIVACY_HMAC_KEYS=1:$(openssl rand -base64 32) \
  podman run -d --name "$prod_name" --network=host -v "$tls/ca.crt:/tls/ca.crt:ro" -e NODE_EXTRA_CA_CERTS=/tls/ca.crt \
  -e "PORT=$prod_port" -e HOST=127.0.0.1 -e DATABASE_URL -e PGPASSWORD -e "REDIS_URL=$redis" -e PRIVACY_HMAC_KEYS \
  -e STORAGE_LOCAL_DIR=/tmp/prospectflow-uploads -e COGNITO_USER_POOL_ID=eu-west-1_DevPool01 -e COGNITO_CLIENT_ID=prospectflowdevclient -e COGNITO_TOKEN_USE=id \
  -e "AUTH_JWKS_URL=https://127.0.0.1:$jwks_port/jwks.json" -e PUBLIC_BASE_URL=https://images.prospectflow.local \
  "$api_image" >/dev/null
prod_base=http://127.0.0.1:$prod_port
if wait_http "$prod_base/health"; then
  check api_production_mode test "$(podman exec "$prod_name" printenv NODE_ENV)" = production
  check api_production_ready test "$(status_of "$prod_base/ready")" = 200
  check api_production_authenticated test "$(status_of -H "authorization: Bearer $id_token" "$prod_base/v1/me")" = 200
  check api_production_rejects_anonymous test "$(status_of "$prod_base/v1/me")" = 401
else
  log error api_production_not_up "logs=$(podman logs --tail 30 "$prod_name" 2>&1 | tr '\n' '|')"
  failures=$((failures + 1))
fi

# --- worker: a noop task must succeed
worker_port=$(free_port)
WORKER_DATABASE_URL=$worker_url podman run -d --name "$worker_name" --network=host -e NODE_ENV=development \
  -e WORKER_DATABASE_URL -e "WORKER_METRICS_PORT=$worker_port" -e WORKER_METRICS_HOST=127.0.0.1 -e SMTP_URL=smtp://127.0.0.1:2525 \
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

# --- legacy-import: the operator CLI consolidates real SQLite files into a new organisation
check legacy_help grep -q 'Usage:' <<<"$(podman run --rm "$legacy_image" --help 2>&1)"
check legacy_runs_as_node test "$(podman inspect --format '{{.Config.User}}' "$legacy_image")" = node
# Generated on the host (tsx + the workspace's better-sqlite3); the container's node user writes
# the report beside them, in the mounted /data.
pnpm --silent --filter @prospectflow/legacy-import stores:example "$stores" >&2
chmod -R a+rwX "$stores"
legacy_org=$(psql_value "$db_admin" "INSERT INTO iam.organisations (name, slug) VALUES ('Legacy', 'legacy-$$') RETURNING id" | head -1)
# NODE_ENV=production (the image's): erased people are keyed with PRIVACY_HMAC_KEYS, required there.
hmac_key=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64"))')
legacy_import() {
  DATABASE_URL=$app_url PRIVACY_HMAC_KEYS=1:$hmac_key podman run --rm --network=host -e DATABASE_URL -e PRIVACY_HMAC_KEYS \
    -v "$stores:/data" "$legacy_image" data --organisation "$legacy_org" >&2
}
check legacy_import_ran legacy_import
legacy_count() { psql_value "$db_admin" "SELECT count(*) FROM $1 WHERE organisation_id = '$legacy_org'${2:-}"; }
check legacy_import_succeeded test "$(legacy_count crm.imports " AND source_kind = 'sqlite' AND status = 'succeeded'")" = 1
# Every row of every table that is data (not a view or SQLite bookkeeping) is archived: the
# report's rows read, against what PostgreSQL holds for the organisation.
legacy_read=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(r.databases.flatMap((d) => d.tables).filter((t) => t.fate !== "rejected").reduce((n, t) => n + t.read, 0));
' "$(compgen -G "$stores/consolidation-*.json" | head -1)" || echo none)
check legacy_rows_archived test "$(legacy_count legacy.archive_rows)" = "$legacy_read"
# The example prompts store holds two prompts the preset types (as consolidate.test.ts expects).
check legacy_prompts_typed test "$(legacy_count outreach.prompts)" = 2

# --- what no runtime image may contain
lean() {
  # lean IMAGE [APP_DIR] [NATIVE]: no Prisma, compiler toolchain, dev/test server or native addon,
  # apart from NATIVE's (a package folder pattern in node_modules/.pnpm, e.g. better-sqlite3@*)
  podman run --rm --entrypoint sh -e "APP_DIR=${2:-}" -e "NATIVE=${3:-}" "$1" -c '
    bad=""
    for tool in gcc cc g++ make python3 node-gyp; do command -v "$tool" >/dev/null && bad="$bad $tool"; done
    cd "${APP_DIR:-$(pwd)}/node_modules/.pnpm" || exit 1
    for dir in prisma@* @prisma+* typescript@* better-sqlite3@* node-gyp@* prebuild-install@* smtp-server@* s3rver@* embedded-postgres@* @embedded-postgres+* @prospectflow+testing@* @prospectflow+dev@*; do
      case "$dir" in $NATIVE) continue ;; esac
      if [ -e "$dir" ]; then bad="$bad $dir"; fi
    done
    [ -n "$(find .. -name "prisma.*" -path "*/db-schema/dist/*")" ] && bad="$bad db-schema/dist/prisma"
    addons=$(find .. -name "*.node" -type f | while read -r addon; do
      case "$addon" in ../.pnpm/$NATIVE/*) ;; *) echo "$addon" ;; esac
    done)
    [ -n "$addons" ] && bad="$bad $addons"
    [ -z "$bad" ] || { echo "not lean:$bad" >&2; exit 1; }'
}
check api_lean lean "$api_image"
check worker_lean lean "$worker_image"
check migrate_lean lean "$migrate_image"
check legacy_lean lean "$legacy_image" /app 'better-sqlite3@*'
check legacy_one_addon test "$(podman run --rm --entrypoint sh "$legacy_image" -c 'find /app/node_modules -name "*.node" -type f' | wc -l)" = 1

# --- sizes: what each image adds above the base image, against the budget
base_bytes=$(podman image inspect --format '{{.Size}}' docker.io/library/node:22-bookworm-slim)
printf '\n%-40s %10s %14s\n' IMAGE SIZE 'ABOVE BASE'
for image in "$api_image" "$migrate_image" "$worker_image" "$legacy_image"; do
  bytes=$(podman image inspect --format '{{.Size}}' "$image")
  above=$(((bytes - base_bytes) / 1000000))
  printf '%-40s %7s MB %11s MB\n' "${image%%:*}" "$((bytes / 1000000))" "$above"
  log info image_size "image=${image%%:*}" "bytes=$bytes" "above_base_mb=$above" "budget_mb=$budget_mb"
  name=${image%%:*}
  check "size_budget_${name##*/}" test "$above" -le "$budget_mb"
done
printf '%-40s %7s MB\n' "(base node:22-bookworm-slim stand-in)" "$((base_bytes / 1000000))"

if ((failures > 0)); then
  printf '\ntest:images FAILED: %s check(s) failed\n' "$failures" >&2
  exit 1
fi
printf '\ntest:images passed\n' >&2
