// parquet_run.mjs — runs bench/parquet.sh's steps one process at a time and
// prints the table of ratios. Not a test: timings never pass or fail.
//
//   node bench/parquet_run.mjs --bin build/bench/parquet --rows N --tmp DIR
//        [--threads T]   (T = "all cores", default os.availableParallelism())
//
// Steps, for threads = 1 and threads = T:
//   ours write   build/bench/parquet write: generate the table in memory
//                (untimed), write it with lakesync (zstd), time + memory;
//                with T threads: T writers, T files (the writer is one
//                stream per file)
//   duck write   bench/parquet_duckdb.mjs: load our file into a DuckDB temp
//                table (untimed), COPY … TO (FORMAT parquet, COMPRESSION
//                zstd), time + memory
//   reads        both engines read DuckDB's file and ours into a sink
// Ratios are ours / DuckDB: time < 1 means lakesync is faster.
// Goals (issue): writer ≥ 1.5× DuckDB per core (write time ratio ≤ 0.67);
// reader at least as fast (read time ratio ≤ 1.0).

import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function args(argv) {
	const o = { threads: os.availableParallelism ? os.availableParallelism() : os.cpus().length };
	for (let i = 0; i < argv.length; i += 2) {
		const k = argv[i].replace(/^--/, ''), v = argv[i + 1];
		o[k] = k === 'bin' || k === 'tmp' ? v : Number(v);
	}
	return o;
}

function run(cmd, argv) {
	process.stderr.write(`  ${path.basename(cmd)} ${argv.map((a) => path.basename(a)).join(' ')}\n`);
	const out = execFileSync(cmd, argv, { encoding: 'utf8', maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'inherit'] });
	return JSON.parse(out.trim().split('\n').pop());
}

const o = args(process.argv.slice(2));
const fmtS = (s) => s.toFixed(2) + ' s';
const fmtMB = (kb) => kb < 0 ? 'n/a' : (kb / 1024).toFixed(0) + ' MiB';
const ratio = (a, b) => (b > 0 && a >= 0 ? (a / b).toFixed(2) : 'n/a');

const results = [];
for (const threads of [...new Set([1, o.threads])]) {
	process.stderr.write(`threads = ${threads}\n`);
	const prefix = path.join(o.tmp, `ours-t${threads}`);
	const ours = run(o.bin, ['write', '--rows', String(o.rows), '--out', prefix, '--threads', String(threads)]);
	const duckFile = path.join(o.tmp, `duck-t${threads}.parquet`);
	const oursFile = path.join(o.tmp, 'ours-t1.parquet');   // one file, read by both
	const duck = run(process.execPath, [path.join(here, 'parquet_duckdb.mjs'), '--threads', String(threads),
		'--in', oursFile, '--out', duckFile, '--read', duckFile, '--read', oursFile]);
	const readDuckFile = run(o.bin, ['read', '--threads', String(threads), duckFile]);
	const readOursFile = run(o.bin, ['read', '--threads', String(threads), oursFile]);
	if (readDuckFile.rows !== o.rows || readOursFile.rows !== o.rows || duck.rows !== o.rows)
		throw new Error(`row counts disagree: ${JSON.stringify({ readDuckFile, readOursFile, duck })}`);
	results.push({ threads, ours, duck, readDuckFile, readOursFile });
}

const lines = [];
lines.push(`rows: ${o.rows.toLocaleString('en-US')} (id long, i32 int, i64 long, f64 double, amount decimal(12,2), ` +
	`big decimal(38,10), code short string, note long string, ts timestamp; 10% nulls)`);
lines.push(`machine: ${os.cpus().length} cores, ${os.cpus()[0].model.trim()}; DuckDB ${results[0].duck.version}`);
lines.push('');
lines.push('| threads | measure | lakesync | DuckDB | ratio (ours/DuckDB) | goal |');
lines.push('|---|---|---|---|---|---|');
for (const r of results) {
	const t = r.threads;
	lines.push(`| ${t} | write zstd, time | ${fmtS(r.ours.write_s)} | ${fmtS(r.duck.write_s)} | ${ratio(r.ours.write_s, r.duck.write_s)} | ≤ 0.67 |`);
	lines.push(`| ${t} | write zstd, peak memory over the data | ${fmtMB(r.ours.peak_delta_kb)} | ${fmtMB(r.duck.peak_delta_kb)} | ${ratio(r.ours.peak_delta_kb, r.duck.peak_delta_kb)} | |`);
	lines.push(`| ${t} | file size | ${(r.ours.bytes / 1048576).toFixed(0)} MiB | ${(r.duck.bytes / 1048576).toFixed(0)} MiB | ${ratio(r.ours.bytes, r.duck.bytes)} | |`);
	lines.push(`| ${t} | read DuckDB's file, time | ${fmtS(r.readDuckFile.read_s)} | ${fmtS(r.duck.reads[0].read_s)} | ${ratio(r.readDuckFile.read_s, r.duck.reads[0].read_s)} | ≤ 1.0 |`);
	lines.push(`| ${t} | read lakesync's file, time | ${fmtS(r.readOursFile.read_s)} | ${fmtS(r.duck.reads[1].read_s)} | ${ratio(r.readOursFile.read_s, r.duck.reads[1].read_s)} | ≤ 1.0 |`);
	lines.push(`| ${t} | read DuckDB's file, peak memory | ${fmtMB(r.readDuckFile.peak_delta_kb)} | ${fmtMB(r.duck.reads[0].peak_delta_kb)} | ${ratio(r.readDuckFile.peak_delta_kb, r.duck.reads[0].peak_delta_kb)} | |`);
}
if (results.length > 1) {
	const [a, b] = results;
	lines.push('');
	lines.push(`scaling 1 → ${b.threads} threads (time ratio): lakesync write ${ratio(a.ours.write_s, b.ours.write_s)}×, ` +
		`DuckDB write ${ratio(a.duck.write_s, b.duck.write_s)}×, lakesync read ${ratio(a.readDuckFile.read_s, b.readDuckFile.read_s)}×, ` +
		`DuckDB read ${ratio(a.duck.reads[0].read_s, b.duck.reads[0].read_s)}×`);
}
console.log(lines.join('\n'));
