// parquet_duckdb.mjs — DuckDB's side of bench/parquet.sh, in its own process
// so that its memory is measured alone.
//
//   node bench/parquet_duckdb.mjs --threads T --in A.parquet --out B.parquet
//   node bench/parquet_duckdb.mjs --threads T --read FILE
// (bench/parquet.sh runs each read in a fresh process: in a process that has
// just freed a table, DuckDB's allocator reuses that memory and its read
// would seem to need none.)
//
// 1. (untimed) CREATE TEMP TABLE t AS SELECT * FROM read_parquet(A): the
//    same rows lakesync wrote, in DuckDB's memory.
// 2. (timed) COPY t TO B (FORMAT parquet, COMPRESSION zstd), with
//    SET threads = T. Memory: peak RSS during the COPY (VmHWM, reset through
//    /proc/self/clear_refs just before) minus the RSS before it.
// 3. for each --read FILE (timed):
//      EXPLAIN ANALYZE SELECT * FROM read_parquet(FILE)
//    which runs the scan with every column projected and discards the rows
//    inside DuckDB (no transfer to JS). DuckDB may keep dictionary-encoded
//    strings as dictionary vectors instead of materialising each value, a
//    real advantage of its reader that this sink does not take away.
// Prints one JSON object.

import fs from 'node:fs';

import { openDb, readParquetSql, sqlString } from '../tests/oracle/oracle.mjs';

function args(argv) {
	const o = { threads: 1, read: [] };
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i], v = argv[i + 1];
		if (a === '--threads') o.threads = Number(v), i++;
		else if (a === '--in') o.in = v, i++;
		else if (a === '--out') o.out = v, i++;
		else if (a === '--read') o.read.push(v), i++;
		else throw new Error(`unknown argument ${a}`);
	}
	if (!o.in !== !o.out || (!o.in && !o.read.length))
		throw new Error('usage: --threads T [--in A --out B] [--read F]...');
	return o;
}

function statusKb(key) {
	const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'));
	return m ? Number(m[1]) : -1;
}

// user + system CPU seconds of a process.cpuUsage() difference (all threads)
function cpuSeconds(u) {
	return (u.user + u.system) / 1e6;
}

function resetPeak() {
	try {
		fs.writeFileSync('/proc/self/clear_refs', '5');
		return true;
	} catch {
		return false;
	}
}

const o = args(process.argv.slice(2));
const db = await openDb({ threads: o.threads });
const version = (await db.all('SELECT version()'))[0][0];
await db.run(`SET threads = ${o.threads}`);
const out = { version, threads: o.threads };

if (o.in) {
	const t0 = performance.now();
	await db.run(`CREATE TEMP TABLE t AS SELECT * FROM ${readParquetSql(o.in)}`);
	out.load_s = Number(((performance.now() - t0) / 1000).toFixed(3));
	out.rows = Number((await db.all('SELECT count(*) FROM t'))[0][0]);
	const peakOk = resetPeak();
	const rss0 = statusKb('VmRSS');
	const w0 = performance.now(), wc0 = process.cpuUsage();
	await db.run(`COPY t TO ${sqlString(o.out)} (FORMAT parquet, COMPRESSION zstd)`);
	out.write_s = Number(((performance.now() - w0) / 1000).toFixed(3));
	out.write_cpu_s = Number(cpuSeconds(process.cpuUsage(wc0)).toFixed(3));
	const hwm = statusKb('VmHWM');
	out.bytes = fs.statSync(o.out).size;
	out.rss_before_kb = rss0;
	out.peak_kb = peakOk ? hwm : -1;
	out.peak_delta_kb = peakOk ? hwm - rss0 : -1;
	await db.run('DROP TABLE t');
}

out.reads = [];
for (const f of o.read) {
	const ok = resetPeak();
	const r0 = statusKb('VmRSS');
	const s0 = performance.now(), sc0 = process.cpuUsage();
	await db.all(`EXPLAIN ANALYZE SELECT * FROM ${readParquetSql(f)}`);
	const readS = (performance.now() - s0) / 1000;
	out.reads.push({ file: f, read_s: Number(readS.toFixed(3)),
		read_cpu_s: Number(cpuSeconds(process.cpuUsage(sc0)).toFixed(3)),
		peak_delta_kb: ok ? statusKb('VmHWM') - r0 : -1 });
}
db.close();
console.log(JSON.stringify(out));
