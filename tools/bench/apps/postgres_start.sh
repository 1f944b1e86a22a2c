#!/bin/sh
# The bench's "postgres" workload (and tests/integration/migrate_postgres.sh): Debian's
# PostgreSQL 15 with its data directory on the volume mounted at /var/lib/postgresql/data.
# The first start on an empty volume makes the cluster there; later starts use it.
# Clients connect over TCP as `postgres` without a password (trust: a test service).
# jit = off: the image has no LLVM. wal_level = minimal: a table loaded in the
# transaction that made it writes no WAL, so a load of hundreds of MB stays quick.
set -eu
data=/var/lib/postgresql/data
bin=/usr/lib/postgresql/15/bin
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

mkdir -p "$data" /var/run/postgresql
chown postgres:postgres "$data" /var/run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  as_postgres "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
  cat >>"$data/postgresql.conf" <<'EOF'
listen_addresses = '*'
shared_buffers = 32MB
huge_pages = off
jit = off
wal_level = minimal
max_wal_senders = 0
max_wal_size = 64MB
min_wal_size = 32MB
EOF
  echo "host all all 0.0.0.0/0 trust" >>"$data/pg_hba.conf"
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data"
