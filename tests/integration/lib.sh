# lib.sh — shared helpers for integration tests: a throwaway PostgreSQL 15
# cluster in a temporary directory.  Source it from a test script:
#
#   . "$(dirname "$0")/lib.sh"
#   pg_start || { echo "SKIP mytest (no postgres)"; exit 0; }   # trap set
#   psql -c 'select 1'
#
# pg_start exports PGHOST (the socket directory), PGPORT, PGUSER, PGDATABASE
# so every libpq client (psql, pg_recvlogical, lakesync) reaches the cluster,
# and registers pg_stop on EXIT so the cluster is stopped even on failure.
# Settings: wal_level=logical, 10 slots/senders, fsync off, listens on a
# unix socket plus 127.0.0.1 at a free port.  Run as root, the server runs as
# the `postgres` user (PostgreSQL refuses root) in a directory it owns.
#
# Environment:
#   PG_BIN            server binaries (default: pg_config of version 15, or
#                     /usr/lib/postgresql/15/bin)
#   LK_PG_KEEP=1      leave the cluster directory behind for inspection
#   LK_PG_CONF        extra postgresql.conf lines appended before start

lk_pg_bin() {
	if [ -n "${PG_BIN:-}" ]; then
		echo "$PG_BIN"
		return
	fi
	local d
	for d in /usr/lib/postgresql/15/bin /usr/local/pgsql/bin; do
		if [ -x "$d/initdb" ]; then
			echo "$d"
			return
		fi
	done
	if command -v pg_config >/dev/null 2>&1; then
		d=$(pg_config --bindir)
		[ -x "$d/initdb" ] && { echo "$d"; return; }
	fi
	return 1
}

# A free TCP port on 127.0.0.1 (bash /dev/tcp probe; no other tools needed).
lk_free_port() {
	local p tries=0
	while [ $tries -lt 200 ]; do
		p=$(( 20000 + (RANDOM % 30000) ))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
		tries=$((tries + 1))
	done
	return 1
}

# Run a server binary as the cluster owner.
lk_pg_as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_start [extra postgresql.conf lines…]
# Returns non-zero (and prints why on stderr) when no PostgreSQL is usable;
# the caller prints its SKIP line.
pg_start() {
	local bin
	bin=$(lk_pg_bin) || { echo "lib.sh: no PostgreSQL server binaries found" >&2; return 1; }
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		echo "lib.sh: running as root and there is no postgres user" >&2
		return 1
	fi
	LK_PG_BIN=$bin
	LK_PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-pg.XXXXXX") || return 1
	chmod 755 "$LK_PG_DIR"
	mkdir -p "$LK_PG_DIR/data" "$LK_PG_DIR/sock"
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$LK_PG_DIR"
		LK_PG_USER=postgres
	else
		LK_PG_USER=$(id -un)
	fi
	trap pg_stop EXIT
	if ! lk_pg_as_owner "$bin/initdb" -D "$LK_PG_DIR/data" -U "$LK_PG_USER" \
			-A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$LK_PG_DIR/initdb.log" 2>&1 &&
	   ! lk_pg_as_owner "$bin/initdb" -D "$LK_PG_DIR/data" -U "$LK_PG_USER" \
			-A trust -E UTF8 --locale=C --no-sync >"$LK_PG_DIR/initdb.log" 2>&1; then
		echo "lib.sh: initdb failed:" >&2
		cat "$LK_PG_DIR/initdb.log" >&2
		return 1
	fi
	local port
	port=$(lk_free_port) || { echo "lib.sh: no free port" >&2; return 1; }
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$LK_PG_DIR/sock'"
		echo "wal_level = logical"
		echo "max_replication_slots = 16"
		echo "max_wal_senders = 16"
		echo "max_prepared_transactions = 10"
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "shared_buffers = 32MB"
		echo "max_connections = 40"
		echo "log_min_messages = warning"
		echo "logging_collector = off"
		local line
		for line in "$@"; do echo "$line"; done
		[ -n "${LK_PG_CONF:-}" ] && echo "$LK_PG_CONF"
	} | lk_pg_as_owner tee -a "$LK_PG_DIR/data/postgresql.conf" >/dev/null
	# replication connections over the socket and 127.0.0.1 (trust: throwaway)
	{
		echo "local replication all trust"
		echo "host replication all 127.0.0.1/32 trust"
	} | lk_pg_as_owner tee -a "$LK_PG_DIR/data/pg_hba.conf" >/dev/null
	if ! lk_pg_as_owner "$bin/pg_ctl" -D "$LK_PG_DIR/data" -l "$LK_PG_DIR/server.log" \
			-w -t 60 start >/dev/null 2>&1; then
		echo "lib.sh: the server did not start:" >&2
		cat "$LK_PG_DIR/server.log" >&2
		return 1
	fi
	export PGHOST="$LK_PG_DIR/sock" PGPORT="$port" PGUSER="$LK_PG_USER"
	export PGDATABASE=postgres
	unset PGPASSWORD PGSERVICE PGHOSTADDR
	LK_PG_STARTED=1
	return 0
}

# Stop the cluster and remove its directory (unless LK_PG_KEEP=1).
# Safe to call twice and when pg_start failed half way.
pg_stop() {
	if [ -n "${LK_PG_DIR:-}" ] && [ -d "$LK_PG_DIR" ]; then
		if [ -n "${LK_PG_STARTED:-}" ] || [ -f "$LK_PG_DIR/data/postmaster.pid" ]; then
			lk_pg_as_owner "$LK_PG_BIN/pg_ctl" -D "$LK_PG_DIR/data" -m immediate \
				-w -t 30 stop >/dev/null 2>&1 || true
		fi
		if [ "${LK_PG_KEEP:-0}" = 1 ]; then
			echo "lib.sh: cluster kept in $LK_PG_DIR" >&2
		else
			rm -rf "$LK_PG_DIR"
		fi
	fi
	LK_PG_DIR=
	LK_PG_STARTED=
}

# The session settings lakesync pins (DESIGN §3), as PGOPTIONS.
LK_PG_PINNED="-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex"

# psql with the settings lakesync pins, quiet, stop on error.
lk_psql() {
	PGOPTIONS="${PGOPTIONS:-} $LK_PG_PINNED" psql -X -q -v ON_ERROR_STOP=1 "$@"
}
