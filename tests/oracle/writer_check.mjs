// writer_check.mjs — DuckDB reads back every file our Parquet writer wrote.
//   node tests/oracle/writer_check.mjs DIR
// DIR holds NAME.parquet, NAME.csv and NAME.sql written by the
// writer_oracle/files Criterion test (tests/unit/test_writer.c): the CSV
// holds the rows that were written as text (nested values as JSON), the SQL
// reads it back (@CSV@ = its path) cast to the types DuckDB should give the
// Parquet columns. The expected rows are materialised once per file.
// For each pair:
//   PASS/FAIL NAME        DuckDB decodes the whole file and its rows equal
//                         the expected rows: counts, EXCEPT ALL both ways,
//                         column names and types, and the same again on
//                         every column cast to text (oracle.mjs compareQuery)
//   PASS/FAIL NAME:stats  for each top-level column of an ordered primitive
//                         type, the column chunk statistics DuckDB sees equal
//                         min/max/null count computed by DuckDB over the rows
//                         of that row group (strings: only when ≤ 64 bytes,
//                         the writer's truncation length; float min/max
//                         only when finite: DuckDB hides ±inf statistics)
//   SKIP NAME:stats       when the file has no such column
// Exits 1 if any FAIL.
import fs from 'node:fs';
import path from 'node:path';

import { canReadParquet, compareQuery, openDb, readParquetSql, sqlString } from './oracle.mjs';

const dir = process.argv[2];
if (!dir) {
	console.error('usage: node writer_check.mjs DIR');
	process.exit(2);
}
const names = fs.readdirSync(dir).filter((f) => f.endsWith('.parquet')).map((f) => f.slice(0, -8)).sort();
if (names.length === 0) {
	console.log('FAIL writer-oracle: no files in ' + dir);
	process.exit(1);
}

const db = await openDb();
let failed = 0;

function skip(name, why) {
	console.log(`SKIP ${name}: ${why}`);
}

function report(ok, name, detail) {
	console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${ok || !detail ? '' : ': ' + detail}`);
	if (!ok) failed++;
}

function q(name) {
	return '"' + name.replaceAll('"', '""') + '"';
}

// Types whose statistics DuckDB exposes in a comparable text form.
const ORDERED = /^(TINYINT|SMALLINT|INTEGER|BIGINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*|DATE|VARCHAR|BOOLEAN)$/;

async function checkStats(name, file) {
	const src = readParquetSql(file);
	const cols = await db.objects(`SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM ${src})`);
	const meta = await db.objects(`SELECT row_group_id, row_group_num_rows, path_in_schema, stats_min_value, stats_max_value, stats_null_count
		FROM parquet_metadata(${sqlString(file)}) ORDER BY row_group_id, column_id`);
	const problems = [];
	let checked = 0;
	// rows of each row group: file_row_number ranges
	const rgRows = [];
	for (const m of meta) rgRows[Number(m.row_group_id)] = Number(m.row_group_num_rows);
	const starts = [0];
	for (let g = 0; g < rgRows.length; g++) starts.push(starts[g] + rgRows[g]);
	for (const c of cols) {
		if (!ORDERED.test(c.column_type)) continue;
		for (let g = 0; g < rgRows.length; g++) {
			const m = meta.find((x) => Number(x.row_group_id) === g && x.path_in_schema === c.column_name);
			if (!m) continue;
			const col = q(c.column_name);
			const isFloat = c.column_type === 'FLOAT' || c.column_type === 'DOUBLE';
			const vals = isFloat ? `CASE WHEN isnan(${col}) THEN NULL ELSE ${col} END` : col;
			const [[mn, mx, nulls, maxlen]] = await db.all(`SELECT CAST(min(${vals}) AS VARCHAR), CAST(max(${vals}) AS VARCHAR),
				count(*) - count(${col}),
				${c.column_type === 'VARCHAR' ? `max(octet_length(encode(${col})))` : '0'}
				FROM read_parquet(${sqlString(file)}, file_row_number = true)
				WHERE file_row_number >= ${starts[g]} AND file_row_number < ${starts[g + 1]}`);
			checked++;
			if (Number(m.stats_null_count) !== Number(nulls))
				problems.push(`${c.column_name} rg ${g}: null count ${m.stats_null_count}, rows say ${nulls}`);
			if (c.column_type === 'VARCHAR' && Number(maxlen) > 64) continue;
			const same = (a, b) => a === b || (isFloat && a !== null && b !== null && Number(a) === Number(b)) ||
				(isFloat && a === null && /inf/i.test(String(b)));
			if (!same(m.stats_min_value, mn))
				problems.push(`${c.column_name} rg ${g}: min ${m.stats_min_value}, rows say ${mn}`);
			if (!same(m.stats_max_value, mx))
				problems.push(`${c.column_name} rg ${g}: max ${m.stats_max_value}, rows say ${mx}`);
		}
	}
	if (checked === 0)
		skip(`${name}:stats`, 'no top-level column of an ordered primitive type');
	else
		report(problems.length === 0, `${name}:stats`, problems.slice(0, 5).join('; '));
}

for (const name of names) {
	const file = path.join(dir, name + '.parquet');
	const sqlFile = path.join(dir, name + '.sql');
	if (!fs.existsSync(sqlFile)) {
		report(false, name, 'no expected rows (.sql)');
		continue;
	}
	const readable = await canReadParquet(file, db);
	if (!readable.ok) {
		report(false, name, 'DuckDB cannot read it: ' + readable.reason);
		continue;
	}
	try {
		const csv = path.resolve(dir, name + '.csv');
		const sql = fs.readFileSync(sqlFile, 'utf8').replaceAll('@CSV@', csv.replaceAll("'", "''"));
		await db.run(`CREATE OR REPLACE TEMP TABLE expected AS ${sql}`);
		const r = await compareQuery(`SELECT * FROM ${readParquetSql(file)}`, 'SELECT * FROM expected', db);
		const detail = JSON.stringify({
			countA: r.countA, countB: r.countB, aMinusB: r.aMinusB, bMinusA: r.bMinusA,
			textAMinusB: r.textAMinusB, textBMinusA: r.textBMinusA, columns: r.columns,
			schemaA: r.schemaA, schemaB: r.schemaB,
		});
		report(r.equal, name, detail);
		await checkStats(name, file);
	} catch (e) {
		report(false, name, e.message.split('\n')[0]);
	}
}
db.close();
process.exit(failed ? 1 : 0);
