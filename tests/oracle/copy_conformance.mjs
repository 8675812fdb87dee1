// copy_conformance.mjs — lakesync's Parquet reader and writer against DuckDB.
// Driven by parquet_copy.sh; prints "PASS name" / "FAIL name: why" /
// "SKIP name: why" lines (tests/run-all.sh protocol) and exits 0 iff no FAIL.
//
//  testdata/<f>     every $LAKESYNC_TESTDATA/parquet/data/*.parquet that
//                   DuckDB can read: `lakesync parquet copy` (zstd) and the
//                   copy must hold exactly the rows of the original
//                   (oracle.mjs compareParquet: counts, EXCEPT ALL both ways,
//                   names and types, and the text of every value)
//  matrix/<c>-<v>-<d>   DuckDB writes a table of every logical type with each
//                   codec × page version V1/V2 × dictionary on/off; copied by
//                   lakesync (default options) and compared the same way
//  extra/<type>     types outside Delta's set (interval, timetz, ...), one file
//                   each
//  writer/<opts>    one matrix file copied with lakesync's writer options:
//                   each codec, page v2, no dictionary, --row-group-rows
//  cat/<file>       `lakesync parquet cat --format jsonl` text of simple
//                   columns equals the text built from DuckDB's values
//  bad_data/<f>     `lakesync parquet cat` on each malformed file exits with
//                   a code in 1..127 and a message naming the file
//
// Environment: LAKESYNC_BIN (required), LAKESYNC_TESTDATA (testdata parts
// SKIP when absent), ORACLE_ROWS (matrix rows, default 5000).

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { canReadParquet, compareParquet, openDb, readParquetSql } from './oracle.mjs';
import {
	CAT_TEXT_COLUMNS, CODECS, EXTRA_COLUMNS, copyOptions, isoDate, matrixTableSql,
} from './oracle_types.mjs';

const BIN = process.env.LAKESYNC_BIN;
const TESTDATA = process.env.LAKESYNC_TESTDATA;
const ROWS = Number(process.env.ORACLE_ROWS || 5000);
let failures = 0;

function pass(name) { console.log(`PASS ${name}`); }
function skip(name, why) { console.log(`SKIP ${name}: ${why}`); }
function fail(name, why) {
	failures++;
	console.log(`FAIL ${name}: ${why}`);
}

function firstLine(s) {
	return String(s || '').trim().split('\n').slice(0, 2).join(' / ');
}

// Run lakesync; {status, signal, stdout, stderr}.
function lakesync(args, opts = {}) {
	const r = spawnSync(BIN, args, {
		encoding: opts.encoding || 'utf8', timeout: 60000, maxBuffer: 1 << 30,
	});
	return r;
}

function crashed(r) {
	return r.signal || r.status === null || r.status >= 128;
}

function describeRun(r) {
	if (r.error && r.error.code === 'ETIMEDOUT') return 'timed out after 60 s';
	if (r.error) return `could not run ${BIN}: ${r.error.code || r.error.message}`;
	if (r.signal) return `killed by ${r.signal}: ${firstLine(r.stderr)}`;
	return `exit ${r.status}: ${firstLine(r.stderr)}`;
}

function describeDiff(c) {
	const parts = [`rows ${c.countA} vs ${c.countB}`];
	if (c.aMinusB !== null) parts.push(`orig-copy ${c.aMinusB}, copy-orig ${c.bMinusA}`);
	if (!c.schemaEqual) {
		const a = c.schemaA.map((x) => `${x.name} ${x.type}`);
		const b = c.schemaB.map((x) => `${x.name} ${x.type}`);
		const diff = [];
		for (let i = 0; i < Math.max(a.length, b.length); i++)
			if (a[i] !== b[i]) diff.push(`${a[i] || '-'} → ${b[i] || '-'}`);
		parts.push(`schema differs: ${diff.slice(0, 6).join('; ')}`);
	} else if (c.textAMinusB !== null) {
		parts.push(`as text orig-copy ${c.textAMinusB}, copy-orig ${c.textBMinusA}`);
	}
	if (c.columns && c.columns.length) parts.push(`columns: ${c.columns.join(', ')}`);
	return parts.join('; ');
}

// Copy `src` with lakesync (extra args) to `dst` and compare with DuckDB.
async function copyAndCompare(db, name, src, dst, args = []) {
	fs.rmSync(dst, { force: true });
	const r = lakesync(['parquet', 'copy', src, dst, ...args]);
	if (r.status !== 0) return fail(name, `copy failed, ${describeRun(r)}`);
	if (fs.existsSync(dst + '.tmp')) return fail(name, `copy left ${dst}.tmp behind`);
	let c;
	try {
		c = await compareParquet(src, dst, db);
	} catch (e) {
		return fail(name, `duckdb could not compare: ${firstLine(e.message)}`);
	}
	if (c.equal) return pass(name);
	const k = KNOWN_LOSS[name];
	if (k && onlyTypeLoss(c, k)) return skip(name, `known limitation: ${k.why}`);
	fail(name, describeDiff(c));
}

// Differences that lakesync's types cannot represent, accepted only when
// the rows are otherwise identical and the one column's DuckDB type changes
// exactly so. Reported as SKIP so that they stay visible.
const KNOWN_LOSS = {};

function onlyTypeLoss(c, k) {
	if (c.countA !== c.countB || c.aMinusB !== 0 || c.bMinusA !== 0 || c.schemaEqual) return false;
	if (c.schemaA.length !== c.schemaB.length) return false;
	let changed = 0;
	for (let i = 0; i < c.schemaA.length; i++) {
		const a = c.schemaA[i], b = c.schemaB[i];
		if (a.name !== b.name) return false;
		if (a.type === b.type) continue;
		if (a.type !== k.from || b.type !== k.to) return false;
		changed++;
	}
	return changed === 1;
}

// ---- testdata --------------------------------------------------------------

// Files whose data is corrupt in a way DuckDB does not check (it ignores page
// CRCs): lakesync must refuse them as malformed (exit 3) with this message.
const EXPECT_ERROR = {
	'datapage_v1-corrupt-checksum.parquet': /checksum/,
	'rle-dict-uncompressed-corrupt-checksum.parquet': /checksum/,
};

async function testdataFiles(db, tmp) {
	const dir = TESTDATA && path.join(TESTDATA, 'parquet', 'data');
	if (!dir || !fs.existsSync(dir)) {
		skip('testdata', `no ${dir || '$LAKESYNC_TESTDATA/parquet/data'}`);
		return;
	}
	const files = fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).sort();
	for (const f of files) {
		const src = path.join(dir, f), name = `testdata/${f}`;
		if (EXPECT_ERROR[f]) {
			const r = lakesync(['parquet', 'copy', src, path.join(tmp, 'td.parquet')]);
			if (r.status === 3 && EXPECT_ERROR[f].test(r.stderr) && r.stderr.includes(f)) pass(name);
			else fail(name, `expected exit 3 and an error matching ${EXPECT_ERROR[f]}, got ${describeRun(r)}`);
			continue;
		}
		const can = await canReadParquet(src, db);
		if (!can.ok) {
			skip(name, `duckdb: ${can.reason}`);
			continue;
		}
		await copyAndCompare(db, name, src, path.join(tmp, 'td.parquet'));
	}
}

// bad_data files that are in fact valid Parquet: they are there because they
// once crashed a reader, not because a correct reader must refuse them.
// ARROW-GH-43605: dictionary indices at bit width 0 (every index is 0), which
// parquet-format allows; DuckDB reads it too. It must be read and copied
// exactly like DuckDB reads it.
const VALID_IN_BAD_DATA = new Set(['ARROW-GH-43605.parquet']);

async function badData(db, tmp) {
	const dir = TESTDATA && path.join(TESTDATA, 'parquet', 'bad_data');
	if (!dir || !fs.existsSync(dir)) {
		skip('bad_data', `no ${dir || '$LAKESYNC_TESTDATA/parquet/bad_data'}`);
		return;
	}
	for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.parquet')).sort()) {
		const name = `bad_data/${f}`, file = path.join(dir, f);
		if (VALID_IN_BAD_DATA.has(f)) {
			await copyAndCompare(db, name, file, path.join(tmp, `bad-${f}`));
			continue;
		}
		const r = lakesync(['parquet', 'cat', file], { encoding: 'buffer' });
		const err = String(r.stderr || '');
		if (r.error && r.error.code === 'ETIMEDOUT') fail(name, 'timed out (loop?)');
		else if (crashed(r)) fail(name, `crashed: ${describeRun(r)}`);
		else if (r.status === 0) fail(name, 'read without error');
		else if (!err.includes(f)) fail(name, `error does not name the file: ${firstLine(err)}`);
		else if (!err.startsWith('lakesync: ')) fail(name, `error is not "lakesync: <msg>": ${firstLine(err)}`);
		else pass(name);
	}
}

// ---- generated files -------------------------------------------------------

async function matrix(db, tmp) {
	for (const s of matrixTableSql('matrix', ROWS)) await db.run(s);
	const files = [];
	for (const codec of CODECS)
		for (const version of ['V1', 'V2'])
			for (const dictionary of [true, false]) {
				const tag = `${codec}-${version.toLowerCase()}-${dictionary ? 'dict' : 'nodict'}`;
				const file = path.join(tmp, `matrix-${tag}.parquet`);
				await db.run(`COPY matrix TO '${file}' (${copyOptions({ codec, version, dictionary })})`);
				files.push({ tag, file });
			}
	for (const { tag, file } of files)
		await copyAndCompare(db, `matrix/${tag}`, file, path.join(tmp, `copy-${tag}.parquet`));
	return files;
}

async function extras(db, tmp) {
	for (const [type, expr] of EXTRA_COLUMNS) {
		const name = `extra/${type}`, file = path.join(tmp, `extra-${type}.parquet`);
		try {
			for (const s of matrixTableSql(`x_${type}`, 1000, [['id', 'i::BIGINT'], [type, expr]]))
				await db.run(s);
			await db.run(`COPY x_${type} TO '${file}' (${copyOptions({})})`);
		} catch (e) {
			skip(name, `duckdb cannot write it: ${firstLine(e.message)}`);
			continue;
		}
		await copyAndCompare(db, name, file, path.join(tmp, `copy-extra-${type}.parquet`));
	}
}

async function writerOptions(db, tmp, src) {
	const dst = path.join(tmp, 'writer.parquet');
	// every codec once (v1, dictionary); page v2 and plain encodings with zstd
	const combos = CODECS.map((codec) => [codec, '1', true]).concat(
		[['zstd', '2', true], ['zstd', '1', false], ['zstd', '2', false], ['snappy', '2', false]]);
	for (const [codec, version, dict] of combos) {
		const args = ['--compression', codec, '--page-version', version];
		if (!dict) args.push('--no-dictionary');
		await copyAndCompare(db, `writer/${codec}-v${version}-${dict ? 'dict' : 'nodict'}`,
			src, dst, args);
	}
	await copyAndCompare(db, 'writer/row-group-rows-777', src, dst, ['--row-group-rows', '777']);
	// the copy of a copy is the same again (our reader on our writer's output)
	const again = path.join(tmp, 'writer2.parquet');
	await copyAndCompare(db, 'writer/copy-of-copy', dst, again, ['--page-version', '2']);
}

// Our JSON text of simple columns vs text built from DuckDB's values.
async function catText(db, tag, file) {
	const name = `cat/${tag}`;
	const cols = Object.keys(CAT_TEXT_COLUMNS);
	const r = lakesync(['parquet', 'cat', file, '--format', 'jsonl', '--columns', cols.join(',')]);
	if (r.status !== 0) return fail(name, `cat failed, ${describeRun(r)}`);
	const got = r.stdout.split('\n');
	if (got[got.length - 1] === '') got.pop();
	const sel = cols.map((c) => `${CAT_TEXT_COLUMNS[c][0]} AS "${c}"`).join(', ');
	const rows = await db.all(`SELECT ${sel} FROM ${readParquetSql(file)}`);
	if (rows.length !== got.length) return fail(name, `${got.length} lines, duckdb has ${rows.length} rows`);
	for (let i = 0; i < rows.length; i++) {
		const fields = cols.map((c, k) => {
			const v = rows[i][k], kind = CAT_TEXT_COLUMNS[c][1];
			let t;
			if (v === null) t = 'null';
			else if (kind === 'raw') t = String(v);
			else if (kind === 'date') t = JSON.stringify(isoDate(v));
			else t = JSON.stringify(String(v));
			return `${JSON.stringify(c)}:${t}`;
		});
		const want = `{${fields.join(',')}}`;
		if (got[i] !== want) {
			let k = 0;
			while (k < want.length && got[i][k] === want[k]) k++;
			return fail(name, `row ${i} differs at char ${k}: got ...${got[i].slice(Math.max(0, k - 40), k + 40)}... ` +
				`want ...${want.slice(Math.max(0, k - 40), k + 40)}...`);
		}
	}
	// floats: our shortest text must read back as DuckDB's value, bit for bit
	const rf = lakesync(['parquet', 'cat', file, '--columns', 'f32,f64']);
	if (rf.status !== 0) return fail(name, `cat f32,f64 failed, ${describeRun(rf)}`);
	const lines = rf.stdout.trim().split('\n');
	const fv = await db.all(`SELECT f32::DOUBLE, f64 FROM ${readParquetSql(file)}`);
	const num = (x) => typeof x === 'string' ? ({ NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity })[x] : x;
	for (let i = 0; i < fv.length; i++) {
		const o = JSON.parse(lines[i]);
		const want32 = fv[i][0] === null ? null : num(fv[i][0]);
		const want64 = fv[i][1] === null ? null : num(fv[i][1]);
		const g32 = o.f32 === null ? null : Math.fround(num(o.f32));
		const g64 = o.f64 === null ? null : num(o.f64);
		if (!Object.is(g32, want32) || !Object.is(g64, want64))
			return fail(name, `row ${i} floats: got ${lines[i]}, want f32=${fv[i][0]} f64=${fv[i][1]}`);
	}
	pass(name);
}

// ---- main ------------------------------------------------------------------

async function main() {
	if (!BIN || !fs.existsSync(BIN)) {
		fail('setup', `LAKESYNC_BIN "${BIN}" does not exist (make first)`);
		return;
	}
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lakesync-copy-'));
	const db = await openDb();
	try {
		const files = await matrix(db, tmp);
		await extras(db, tmp);
		await writerOptions(db, tmp, files.find((f) => f.tag === 'snappy-v1-dict').file);
		for (const tag of ['zstd-v1-dict', 'zstd-v1-nodict', 'zstd-v2-dict', 'zstd-v2-nodict'])
			await catText(db, tag, files.find((f) => f.tag === tag).file);
		await testdataFiles(db, tmp);
		await badData(db, tmp);
	} finally {
		db.close();
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

main().then(() => process.exit(failures ? 1 : 0), (e) => {
	console.log(`FAIL harness: ${e.stack || e.message}`);
	process.exit(1);
});
