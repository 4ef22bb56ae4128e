#!/usr/bin/env bash
# A local hot standby of the main cluster (port 5432) for the read-replica tests (issue 15):
# cluster "15 standby" on port ${HBM_STANDBY_PORT:-5434}, made with `pg_basebackup -R` and kept in
# sync by streaming replication. Safe to repeat: an existing, streaming standby is left alone.
# On the primary it only adds a replication role and (if missing) a pg_hba line.
set -euo pipefail
PORT="${HBM_STANDBY_PORT:-5434}"
ROLE=hbm_repl
PASS=hbm_repl
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }
as_pg() { as_root su postgres -c "$*"; }
psql_main() { as_pg "psql -p 5432 -v ON_ERROR_STOP=1 -qAt -c \"$1\""; }

psql_main "SELECT 1 FROM pg_roles WHERE rolname='$ROLE'" | grep -q 1 \
  || psql_main "CREATE ROLE $ROLE WITH REPLICATION LOGIN PASSWORD '$PASS'"
[ "$(psql_main 'SHOW wal_level')" != minimal ] || { echo "standby: wal_level=minimal on 5432; set it to replica" >&2; exit 1; }
HBA=$(psql_main 'SHOW hba_file')
if ! as_root grep -qE "^host[[:space:]]+replication[[:space:]]+(all|$ROLE)[[:space:]]+127\.0\.0\.1/32" "$HBA"; then
  echo "host replication $ROLE 127.0.0.1/32 scram-sha-256" | as_root tee -a "$HBA" >/dev/null
  psql_main "SELECT pg_reload_conf()" >/dev/null
fi

streaming() { as_pg "psql -p $PORT -qAt -c 'SELECT status FROM pg_stat_wal_receiver'" 2>/dev/null | grep -q streaming; }
if pg_lsclusters -h | awk '{print $1" "$2}' | grep -qx "15 standby"; then
  as_root pg_ctlcluster 15 standby start 2>/dev/null || true
  for _ in $(seq 1 20); do streaming && break; sleep 1; done
  if streaming; then echo "standby: streaming on port $PORT"; exit 0; fi
  echo "standby: not streaming; re-creating it" >&2
  as_root pg_dropcluster 15 standby --stop
fi
as_root pg_createcluster 15 standby --port "$PORT" >/dev/null
DATA=$(pg_lsclusters -h | awk '$2=="standby"{print $6}')
as_root rm -rf "$DATA"
as_pg "PGPASSWORD=$PASS pg_basebackup -h 127.0.0.1 -p 5432 -U $ROLE -D $DATA -R -X stream -c fast"
as_root pg_ctlcluster 15 standby start
for _ in $(seq 1 30); do streaming && break; sleep 1; done
streaming || { echo "standby: did not start streaming on port $PORT" >&2; exit 1; }
echo "standby: streaming on port $PORT"
