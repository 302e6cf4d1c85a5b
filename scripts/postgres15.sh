#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL 15 server from Debian's package and print its URL.
# Used by CI and `make test-postgres15` to keep the "any PostgreSQL >= 14 via DATABASE_URL" path true.
set -euo pipefail
PORT="${PG15_PORT:-55415}"
DIR="${PG15_DIR:-/tmp/jizuo-pg15}"
BIN=/usr/lib/postgresql/15/bin
if [ ! -x "$BIN/postgres" ]; then
  { apt-get update -qq && apt-get install -y -qq postgresql-15 postgresql-contrib; } >&2
fi
if ! id jizuo_pg >/dev/null 2>&1; then useradd --system --no-create-home jizuo_pg >&2; fi
if [ ! -f "$DIR/PG_VERSION" ]; then
  mkdir -p "$DIR" && chown jizuo_pg "$DIR"
  runuser -u jizuo_pg -- "$BIN/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
fi
if ! runuser -u jizuo_pg -- "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
  runuser -u jizuo_pg -- "$BIN/pg_ctl" -D "$DIR" -w -l "$DIR/log" \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
