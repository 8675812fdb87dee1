#!/usr/bin/env bash
# bench/delta.sh — time to load the snapshot of a Delta table with 100,000
# files and a checkpoint: lakesync's dl_snapshot_open against DuckDB reading
# the same checkpoint Parquet, as a ratio. Not a test: numbers only.
#   bench/delta.sh [--files N] [--commits C] [--repeat R] [--keep]
#
# The table (build/bench/delta, see bench/delta.c): version 0 creates it,
# C commits (default 100) add N files (default 100,000) with full stats
# JSON, then our checkpoint writer writes the checkpoint of the last
# version. lakesync: dl_snapshot_open of the latest version, best and median
# of R runs (default 5): _last_checkpoint, listing, reading every action of
# the checkpoint, reconciliation, sorting, schema parsing.
# DuckDB (same file, best and median of R runs, threads 1 and all cores):
#
#   CREATE OR REPLACE TEMP TABLE adds AS
#     SELECT "add".path, "add".partitionValues, "add".size,
#            "add".modificationTime, "add".dataChange, "add".stats,
#            "add".tags, "add".deletionVector
#     FROM read_parquet('<checkpoint>') WHERE "add" IS NOT NULL
#
# (every add column materialised; DuckDB does no reconciliation), then
# SELECT count(*) FROM adds (untimed) checks it holds N rows.
# Ratio = lakesync / DuckDB (below 1: lakesync is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
files=100000 commits=100 repeat=5 keep=0
while [ $# -gt 0 ]; do
	case $1 in
	--files) files=$2; shift 2 ;;
	--commits) commits=$2; shift 2 ;;
	--repeat) repeat=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	-h|--help) sed -n '2,25p' "$0"; exit 0 ;;
	*) echo "bench/delta.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
make -s -j2 build/bench/delta >&2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lakesync-bench-delta.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$tmp"' EXIT
echo "bench/delta: $files files in $commits commits, table in $tmp/table" >&2
ours=$(build/bench/delta --dir "$tmp/table" --files "$files" --commits "$commits" --repeat "$repeat")
cd tests/oracle
OURS="$ours" REPEAT="$repeat" node --input-type=module - <<'JS'
import { DuckDBInstance } from '@duckdb/node-api';
import os from 'node:os';
const ours = JSON.parse(process.env.OURS);
const repeat = Number(process.env.REPEAT);
const cp = ours.checkpoint.replaceAll("'", "''");
const q = `CREATE OR REPLACE TEMP TABLE adds AS
  SELECT "add".path, "add".partitionValues, "add".size, "add".modificationTime,
         "add".dataChange, "add".stats, "add".tags, "add".deletionVector
  FROM read_parquet('${cp}') WHERE "add" IS NOT NULL`;
const inst = await DuckDBInstance.create(':memory:');
const conn = await inst.connect();
const res = {};
for (const threads of [1, os.cpus().length]) {
  await conn.run(`SET threads = ${threads}`);
  const wall = [], cpu = [];
  for (let i = 0; i < repeat; i++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    await conn.run(q);
    const t1 = performance.now(), c1 = process.cpuUsage(c0);
    wall.push(t1 - t0);
    cpu.push((c1.user + c1.system) / 1000);
  }
  const n = Number((await conn.runAndReadAll('SELECT count(*) FROM adds')).getRows()[0][0]);
  if (n !== ours.files) throw new Error(`DuckDB found ${n} adds, expected ${ours.files}`);
  wall.sort((a, b) => a - b); cpu.sort((a, b) => a - b);
  res[threads] = { best: wall[0], median: wall[Math.floor(repeat / 2)], cpu: cpu[0] };
}
const f = (x) => x.toFixed(1).padStart(8);
const load = os.loadavg()[0].toFixed(2);
console.log(`snapshot load, ${ours.files} files, checkpoint of ${(ours.checkpoint_bytes / 1048576).toFixed(1)} MiB ` +
  `(lakesync wrote it in ${ours.checkpoint_write_ms.toFixed(0)} ms, replaying ${ours.commits} JSON commits included), best of ${repeat}; load average ${load}`);
console.log(`                          wall best  median   cpu best (ms)   ratio lakesync/DuckDB (best wall)`);
console.log(`lakesync dl_snapshot_open ${f(ours.load_best_ms)} ${f(ours.load_median_ms)} ${f(ours.load_cpu_best_ms)}`);
for (const [t, r] of Object.entries(res))
  console.log(`DuckDB read_parquet, ${String(t).padStart(2)}t ${f(r.best)} ${f(r.median)} ${f(r.cpu)}        ${(ours.load_best_ms / r.best).toFixed(2)}`);
conn.closeSync();
JS
