#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on 127.0.0.1 (a free port, or $KEYWARD_PG_PORT) and creates the
# role and database the tests use. Prints the database URL on the last line.
set -euo pipefail
cd /   # su postgres cannot enter a root-only working directory
port="${KEYWARD_PG_PORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
bin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
data="$(mktemp -d /tmp/keyward-pg.XXXXXX)"
chown postgres "$data"
su postgres -s /bin/sh -c "$bin/initdb -D $data -A scram-sha-256 -U postgres --pwfile=<(echo postgres) >/dev/null" 2>/dev/null \
  || { echo postgres > "$data.pw"; chown postgres "$data.pw"; su postgres -s /bin/sh -c "$bin/initdb -D $data -A scram-sha-256 -U postgres --pwfile=$data.pw >/dev/null"; }
su postgres -s /bin/sh -c "$bin/pg_ctl -D $data -l $data/server.log -w start -o \"-p $port -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=1500 -c fsync=off -c synchronous_commit=off\"" >/dev/null
export PGPASSWORD=postgres
psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE ROLE keyward LOGIN CREATEDB PASSWORD 'keyward'" >/dev/null
psql -q -h 127.0.0.1 -p "$port" -U postgres -c "CREATE DATABASE keyward_test OWNER keyward" >/dev/null
echo "postgres://keyward:keyward@127.0.0.1:$port/keyward_test"
