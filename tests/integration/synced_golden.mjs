// synced_golden.mjs — compare PostgreSQL tables loaded by `lakesync
// synced-table` with the golden expected/*.parquet rows, through DuckDB
// (tests/oracle/oracle.mjs compareQuery: counts, typed EXCEPT ALL both ways,
// column names and types, then EXCEPT ALL again over every column cast to
// VARCHAR).
//
//   node synced_golden.mjs MANIFEST.json
//
// MANIFEST: [{name, expected: DIR, export: FILE, columns: [pg column names],
//             rows: N}]
// EXPORT: one JSON object per row {"c0": …, "c1": …} by column position,
// written by PostgreSQL (row_to_json): scalar columns as their text output
// (`col::text`, session TimeZone=UTC), arrays as to_jsonb(col), jsonb as is.
//
// Each PostgreSQL value is turned into the expected column's DuckDB type
// by DuckDB itself (CAST of the text; JSON → LIST/STRUCT/MAP casts; bytea
// "\x…" through unhex), so both sides are compared as the same typed
// values and then as DuckDB's canonical text.
//
// Prints "PASS name" / "FAIL name: why" per case; exit 0 unless the script
// itself failed.

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const { openDb, describe, compareQuery, sqlString } = await import(
	path.join(here, '../oracle/oracle.mjs'));

function quoteIdent(s) {
	return '"' + String(s).replaceAll('"', '""') + '"';
}

function isNested(type) {
	return /[\[(]/.test(type) && !/^DECIMAL\(/.test(type);
}

// DuckDB expression turning the exported value of column i into `type`.
function convert(i, type) {
	const j = `json->'$.c${i}'`, t = `json->>'$.c${i}'`;
	if (type === 'BLOB[]')
		return `list_transform(CAST(${j} AS VARCHAR[]), x -> unhex(substr(x, 3)))`;
	if (isNested(type)) return `CAST(${j} AS ${type})`;
	if (type === 'BLOB') return `unhex(substr(${t}, 3))`;
	if (type === 'TIMESTAMP WITH TIME ZONE') return `CAST(${t} AS TIMESTAMPTZ)`;
	if (/^TIMESTAMP/.test(type)) return `CAST(CAST(${t} AS TIMESTAMPTZ) AS ${type})`;
	return `CAST(${t} AS ${type})`;
}

async function checkCase(db, c) {
	const expSql = `SELECT * FROM read_parquet(${sqlString(path.join(c.expected, '*.parquet'))})`;
	const exp = await describe(expSql, db);
	if (exp.length !== c.columns.length)
		return `target has ${c.columns.length} columns, expected ${exp.length}`;
	for (let i = 0; i < exp.length; i++)
		if (exp[i].name !== c.columns[i])
			return `column ${i + 1} is "${c.columns[i]}", expected "${exp[i].name}"`;
	const from = c.rows > 0
		? `read_ndjson_objects(${sqlString(c.export)})`
		: `(SELECT NULL::JSON AS json WHERE false)`;
	const sel = exp.map((col, i) => `${convert(i, col.type)} AS ${quoteIdent(col.name)}`);
	// each side materialised once: the comparison scans them six times
	await db.run(`CREATE OR REPLACE TEMP TABLE pg_side AS SELECT ${sel.join(', ')} FROM ${from}`);
	await db.run(`CREATE OR REPLACE TEMP TABLE exp_side AS ${expSql}`);
	const r = await compareQuery('SELECT * FROM pg_side', 'SELECT * FROM exp_side', db);
	if (r.equal) return null;
	return `postgres ${r.countA} rows, expected ${r.countB}; pg-exp ${r.aMinusB}, exp-pg ` +
		`${r.bMinusA}; text pg-exp ${r.textAMinusB}, exp-pg ${r.textBMinusA}` +
		(r.columns ? `; columns ${r.columns.join(', ')}` : '') +
		(r.schemaEqual ? '' : `; types ${JSON.stringify(r.schemaA)} vs ${JSON.stringify(r.schemaB)}`);
}

const manifest = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const db = await openDb();
for (const c of manifest) {
	let why;
	try {
		why = await checkCase(db, c);
	} catch (e) {
		why = `duckdb: ${e.message.split('\n')[0]}`;
	}
	console.log(why ? `FAIL ${c.name}: ${why}` : `PASS ${c.name} (${c.rows} rows)`);
}
db.close();
