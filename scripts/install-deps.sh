#!/usr/bin/env bash
# Install every Debian package (and the npm oracle) lakesync needs.
# Idempotent: does nothing (quickly) when everything is present.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

pkgs=(build-essential pkg-config clang make
      libpq-dev postgresql-15 postgresql-client-15 postgresql-contrib
      libzstd-dev libsnappy-dev liblz4-dev zlib1g-dev libbrotli-dev
      libjansson-dev libroaring-dev libcriterion-dev)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# Node: any node ≥ 18 with npm will do; install Debian's only when absent.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	else
		SUDO=
	fi
	echo "install-deps: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q >/dev/null
	$SUDO apt-get install -y -q "${missing[@]}" >/dev/null
fi

# The DuckDB oracle used by tests and benchmarks (pinned in package-lock).
if [ ! -d "$here/tests/oracle/node_modules/@duckdb/node-api" ]; then
	# `npm install --no-save` follows package-lock.json (the version is also
	# pinned exactly in package.json); `npm ci` of npm 11 refuses a lock file
	# without the other platforms' optional DuckDB bindings.
	echo "install-deps: installing the DuckDB oracle (npm install)" >&2
	(cd "$here/tests/oracle" && npm install --no-save --no-audit --no-fund --loglevel=error >/dev/null)
fi
