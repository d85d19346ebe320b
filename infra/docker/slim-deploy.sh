#!/bin/sh
# Used by the Dockerfiles on each `pnpm deploy --prod` output before it is copied into a runtime
# image: drops what nothing loads at run time, then fails the build if a package that must never
# ship in a runtime image is there (Prisma, a compiler toolchain's addons, the test/dev servers).
#   usage: slim-deploy.sh [--native <package>]... <deploy dir>...
# - --native <package>: that package (and its *.node addon) is allowed. Only the legacy importer's
#   image passes it (better-sqlite3, compiled in a stage of its own); the app images never do.
# - Type declarations and source maps under node_modules: read by editors and tsc, never by node
#   (the images do not run with --enable-source-maps). The app's own dist keeps its maps.
# - db-schema's dist/prisma.*: the generated Prisma client of `@prospectflow/db-schema/prisma`;
#   no service imports that subpath (its peer @prisma/client is not installed either).
set -eu
case "${1:-}" in
  "" | -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; [ -n "${1:-}" ]; exit ;;
esac
native=''
while [ "${1:-}" = --native ]; do
  [ -n "${2:-}" ] || { echo "slim-deploy: --native needs a package name" >&2; exit 2; }
  native="$native $2"
  shift 2
done
# Packages that must not be in a runtime image, as pnpm names their folders in node_modules/.pnpm.
forbidden='prisma@* @prisma+* typescript@* better-sqlite3@* node-gyp@* prebuild-install@* smtp-server@* s3rver@* embedded-postgres@* @embedded-postgres+* @prospectflow+testing@* @prospectflow+dev@* playwright-core@* vitest@* tsx@* esbuild@* @esbuild+*'
# allowed <folder in node_modules/.pnpm>: is it a version of a --native package?
allowed() {
  for name in $native; do
    case "$1" in "$name"@*) return 0 ;; esac
  done
  return 1
}
for dir in "$@"; do
  find "$dir/node_modules" \( -name '*.d.ts' -o -name '*.d.cts' -o -name '*.d.mts' -o -name '*.map' \) -type f -delete
  find "$dir/node_modules/.pnpm" -path '*/node_modules/@prospectflow/db-schema/dist/prisma.*' -type f -delete
  found=$(cd "$dir/node_modules/.pnpm" && for pattern in $forbidden; do for match in $pattern; do
    if [ -e "$match" ] && ! allowed "$match"; then echo "$match"; fi
  done; done)
  if [ -n "$found" ]; then
    echo "slim-deploy: $dir ships packages no runtime image may contain:" $found >&2
    exit 1
  fi
  addons=$(find "$dir/node_modules" -name '*.node' -type f | while read -r addon; do
    package=${addon#"$dir/node_modules/.pnpm/"}
    allowed "${package%%/*}" || echo "$addon"
  done)
  if [ -n "$addons" ]; then
    echo "slim-deploy: $dir ships native addons (a compiler toolchain would be needed): $addons" >&2
    exit 1
  fi
  echo "slim-deploy: $dir $(du -sm "$dir" | cut -f1) MB"
done
