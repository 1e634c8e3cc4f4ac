#!/usr/bin/env bash
# Runs a command with a throwaway PostgreSQL cluster on loopback:
#
#   scripts/with-postgres.sh go test -race ./...
#
# Installs Debian's postgresql when it is missing (as root), makes a cluster in a
# temporary directory (owned by the postgres OS user when run as root: initdb
# refuses root), starts it on 127.0.0.1 on a free port (54329 or the next free one),
# exports FETCHSMS_TEST_DATABASE_URL for the command, and stops and deletes the
# cluster when the command ends, however it ends. The cluster trades durability for
# speed (fsync off): it holds test data only. FETCHSMS_PG_DURABLE=1 keeps fsync and
# synchronous commit on, as in production (for benchmarks).
#
# FETCHSMS_PG_OPTS adds server options (e.g. "-c shared_preload_libraries=pg_stat_statements"
# to see where a benchmark's statements spend their time).
#
# When FETCHSMS_TEST_DATABASE_URL is already set, the command runs against that
# database instead and nothing is started.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 command [args…]" >&2
  exit 2
fi
if [ -n "${FETCHSMS_TEST_DATABASE_URL:-}" ]; then
  exec "$@"
fi

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}
bin=$(pg_bin)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "with-postgres: PostgreSQL is not installed; run: sudo apt-get install postgresql" >&2
    exit 1
  fi
  echo "with-postgres: installing PostgreSQL from Debian's packages" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
  bin=$(pg_bin)
fi

dir=$(mktemp -d /tmp/fetchsms-pg.XXXXXX)
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres: "$dir"
  as_owner=(runuser -u postgres --)
fi

port=${FETCHSMS_PG_PORT:-54329}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
while port_busy "$port"; do port=$((port + 1)); done

cleanup() {
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
speed="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
if [ "${FETCHSMS_PG_DURABLE:-}" = 1 ]; then speed=""; fi
"${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=400 -c shared_buffers=256MB $speed ${FETCHSMS_PG_OPTS:-}" >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }

export FETCHSMS_TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
set +e
"$@"
status=$?
set -e
exit $status
