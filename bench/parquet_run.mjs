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

const loadBefore = os.loadavg();
const results = [];
for (const threads of [...new Set([1, o.threads])]) {
	process.stderr.write(`threads = ${threads}\n`);
	const prefix = path.join(o.tmp, `ours-t${threads}`);
	const ours = run(o.bin, ['write', '--rows', String(o.rows), '--out', prefix, '--threads', String(threads)]);
	const duckFile = path.join(o.tmp, `duck-t${threads}.parquet`);
	const oursFile = path.join(o.tmp, 'ours-t1.parquet');   // one file, read by both
	const duckjs = path.join(here, 'parquet_duckdb.mjs');
	const duck = run(process.execPath, [duckjs, '--threads', String(threads), '--in', oursFile, '--out', duckFile]);
	duck.reads = [duckFile, oursFile].map((f) =>
		run(process.execPath, [duckjs, '--threads', String(threads), '--read', f]).reads[0]);
	const readDuckFile = run(o.bin, ['read', '--threads', String(threads), duckFile]);
	const readOursFile = run(o.bin, ['read', '--threads', String(threads), oursFile]);
	if (readDuckFile.rows !== o.rows || readOursFile.rows !== o.rows || duck.rows !== o.rows)
		throw new Error(`row counts disagree: ${JSON.stringify({ readDuckFile, readOursFile, duck })}`);
	results.push({ threads, ours, duck, readDuckFile, readOursFile });
}

const lines = [];
lines.push(`rows: ${o.rows.toLocaleString('en-US')} (id long, i32 int, i64 long, f64 double, amount decimal(12,2), ` +
	`big decimal(38,10), code short string, note long string, ts timestamp; 10% nulls)`);
lines.push(`machine: ${os.cpus().length} cores, ${os.cpus()[0].model.trim()}; load average before: ` +
	`${loadBefore.map((x) => x.toFixed(1)).join(' ')}; DuckDB ${results[0].duck.version}`);
lines.push('time = wall clock (CPU seconds, user + system, all threads); ratio = lakesync / DuckDB, ' +
	'wall (CPU); memory = peak RSS during the step minus RSS before it');
lines.push('');
lines.push('| threads | measure | lakesync | DuckDB | ratio | goal |');
lines.push('|---|---|---|---|---|---|');
const tm = (wall, cpu) => `${wall.toFixed(2)} s (${cpu.toFixed(2)})`;
const tr = (a, ac, b, bc) => `${ratio(a, b)} (${ratio(ac, bc)})`;
for (const r of results) {
	const t = r.threads, d = r.duck, rd = r.duck.reads;
	lines.push(`| ${t} | write zstd, time | ${tm(r.ours.write_s, r.ours.write_cpu_s)} | ${tm(d.write_s, d.write_cpu_s)} | ` +
		`${tr(r.ours.write_s, r.ours.write_cpu_s, d.write_s, d.write_cpu_s)} | ≤ 0.67 |`);
	lines.push(`| ${t} | write zstd, memory | ${fmtMB(r.ours.peak_delta_kb)} | ${fmtMB(d.peak_delta_kb)} | ${ratio(r.ours.peak_delta_kb, d.peak_delta_kb)} | |`);
	lines.push(`| ${t} | file size | ${(r.ours.bytes / 1048576).toFixed(0)} MiB | ${(d.bytes / 1048576).toFixed(0)} MiB | ${ratio(r.ours.bytes, d.bytes)} | |`);
	lines.push(`| ${t} | read DuckDB's file, time | ${tm(r.readDuckFile.read_s, r.readDuckFile.read_cpu_s)} | ${tm(rd[0].read_s, rd[0].read_cpu_s)} | ` +
		`${tr(r.readDuckFile.read_s, r.readDuckFile.read_cpu_s, rd[0].read_s, rd[0].read_cpu_s)} | ≤ 1.0 |`);
	lines.push(`| ${t} | read lakesync's file, time | ${tm(r.readOursFile.read_s, r.readOursFile.read_cpu_s)} | ${tm(rd[1].read_s, rd[1].read_cpu_s)} | ` +
		`${tr(r.readOursFile.read_s, r.readOursFile.read_cpu_s, rd[1].read_s, rd[1].read_cpu_s)} | ≤ 1.0 |`);
	lines.push(`| ${t} | read DuckDB's file, memory | ${fmtMB(r.readDuckFile.peak_delta_kb)} | ${fmtMB(rd[0].peak_delta_kb)} | ${ratio(r.readDuckFile.peak_delta_kb, rd[0].peak_delta_kb)} | |`);
}
if (results.length > 1) {
	const [a, b] = results;
	lines.push('');
	lines.push(`speed-up 1 → ${b.threads} threads (wall): lakesync write ${ratio(a.ours.write_s, b.ours.write_s)}×, ` +
		`DuckDB write ${ratio(a.duck.write_s, b.duck.write_s)}×, lakesync read ${ratio(a.readDuckFile.read_s, b.readDuckFile.read_s)}×, ` +
		`DuckDB read ${ratio(a.duck.reads[0].read_s, b.duck.reads[0].read_s)}×`);
}
lines.push(`load average after: ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
console.log(lines.join('\n'));
