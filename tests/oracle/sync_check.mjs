// sync_check.mjs — DuckDB oracle for the `lakesync sync` tests: reads a
// Delta history table by replaying its _delta_log (nothing shared with
// lakesync's reader) and compares it with the PostgreSQL table.
//
//   node sync_check.mjs compare LABEL DELTA_DIR SCHEMA.TABLE KEY[,KEY…]|- [replay|inserts]
//       replay:  the history replayed in (_commit_lsn, _change_seq) order —
//                after the last truncate, the latest event per key wins;
//                insert / update_postimage keep the row, delete and
//                update_preimage (the old key) remove it — must equal the
//                Postgres table as a multiset (every column, typed).
//       inserts: the multiset of the history's insert rows after the last
//                truncate must equal the Postgres table (tables without a
//                key that only get inserts and truncates).
//       Prints "PASS LABEL" or "FAIL LABEL: detail" (with sample rows).
//   node sync_check.mjs sql NAME=DELTA_DIR[,NAME=DIR…] "SQL"
//       views NAME over the history tables; prints the rows as JSON.
//
// Postgres is read with psql (PG* variables select the server) through
// COPY … TO STDOUT (FORMAT csv) with lakesync's pinned session settings;
// 1-D array columns as array_to_json.  Each column is compared by its Delta
// type: Postgres text cast in DuckDB to the type (±infinity dates and
// timestamps mapped to the documented 0001-01-01 / 9999-12-31 bounds,
// bytea hex, JSON arrays cast to lists), floats as DuckDB's shortest text,
// strings byte for byte.  NULL is NULL on both sides (CSV: unquoted empty
// = NULL, quoted "" = empty string).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { openDb, sqlString } from './oracle.mjs';

const PINNED =
	'-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex';

function qi(name) {
	return '"' + String(name).replaceAll('"', '""') + '"';
}

// Active files and schema of a Delta table, from its JSON commits.
export function deltaState(dir) {
	const logDir = path.join(dir, '_delta_log');
	const names = fs.readdirSync(logDir).filter((n) => /^\d{20}\.json$/.test(n)).sort();
	const files = new Map();
	let schema = null;
	names.forEach((n, i) => {
		if (Number(n.slice(0, 20)) !== i) throw new Error(`gap in the Delta log at ${n}`);
		for (const line of fs.readFileSync(path.join(logDir, n), 'utf8').split('\n')) {
			if (!line.trim()) continue;
			const a = JSON.parse(line);
			if (a.add) files.set(decodeURIComponent(a.add.path), true);
			if (a.remove) files.delete(decodeURIComponent(a.remove.path));
			if (a.metaData) schema = JSON.parse(a.metaData.schemaString);
		}
	});
	return {
		files: [...files.keys()].sort().map((p) => (p.startsWith('/') ? p : path.join(dir, p))),
		schema,
		version: names.length - 1,
	};
}

function duckType(t) {
	if (typeof t === 'object') {
		if (t.type === 'array') return duckType(t.elementType) + '[]';
		throw new Error('unsupported Delta type ' + JSON.stringify(t));
	}
	const m = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
	if (m) return `DECIMAL(${m[1]},${m[2]})`;
	return {
		string: 'VARCHAR', long: 'BIGINT', integer: 'INTEGER', short: 'SMALLINT',
		byte: 'TINYINT', float: 'FLOAT', double: 'DOUBLE', boolean: 'BOOLEAN',
		binary: 'BLOB', date: 'DATE', timestamp: 'TIMESTAMPTZ', timestamp_ntz: 'TIMESTAMP',
	}[t];
}

// A view NAME with the rows of the Delta table at dir.
export async function deltaView(db, name, dir) {
	const st = deltaState(dir);
	if (st.files.length) {
		const list = '[' + st.files.map(sqlString).join(', ') + ']';
		await db.run(`CREATE OR REPLACE VIEW ${qi(name)} AS SELECT * FROM read_parquet(${list})`);
	} else {
		const cols = st.schema.fields.map((f) => `${qi(f.name)} ${duckType(f.type)}`).join(', ');
		await db.run(`CREATE OR REPLACE TABLE ${qi(name)} (${cols})`);
	}
	return st;
}

const HISTORY = ['_change_type', '_commit_lsn', '_change_seq', '_commit_timestamp', '_xid'];

// Postgres text (VARCHAR) → the Delta type's DuckDB value.
function pgCanon(col, t) {
	const c = qi(col);
	if (typeof t === 'object') return `CAST(CAST(${c} AS JSON) AS ${duckType(t)})`;
	switch (t) {
		case 'boolean':
			return `CASE ${c} WHEN 't' THEN true WHEN 'f' THEN false END`;
		case 'binary':
			return `unhex(substr(${c}, 3))`;
		case 'float':
		case 'double':
			return `CAST(CAST(${c} AS ${duckType(t)}) AS VARCHAR)`;
		case 'date':
			return `CASE ${c} WHEN 'infinity' THEN DATE '9999-12-31' WHEN '-infinity' THEN DATE '0001-01-01' ELSE CAST(${c} AS DATE) END`;
		case 'timestamp_ntz':
			return `CASE ${c} WHEN 'infinity' THEN TIMESTAMP '9999-12-31 23:59:59.999999' WHEN '-infinity' THEN TIMESTAMP '0001-01-01 00:00:00' ELSE CAST(${c} AS TIMESTAMP) END`;
		case 'timestamp':
			return `CASE ${c} WHEN 'infinity' THEN TIMESTAMPTZ '9999-12-31 23:59:59.999999+00' WHEN '-infinity' THEN TIMESTAMPTZ '0001-01-01 00:00:00+00' ELSE CAST(${c} AS TIMESTAMPTZ) END`;
		case 'string':
			return c;
		default:
			return `CAST(${c} AS ${duckType(t)})`;
	}
}

function deltaCanon(col, t) {
	const c = qi(col);
	if (t === 'float' || t === 'double') return `CAST(${c} AS VARCHAR)`;
	return c;
}

function exportPg(table, cols, file) {
	const sel = cols
		.map((f) => (typeof f.type === 'object' ? `array_to_json(${qi(f.name)}) AS ${qi(f.name)}` : qi(f.name)))
		.join(', ');
	const parts = table.split('.');
	const rel = parts.length > 1 ? `${qi(parts[0])}.${qi(parts[1])}` : qi(parts[0]);
	const out = execFileSync(
		'psql',
		['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `COPY (SELECT ${sel} FROM ${rel}) TO STDOUT WITH (FORMAT csv, HEADER)`],
		{ env: { ...process.env, PGOPTIONS: `${process.env.PGOPTIONS || ''} ${PINNED}` }, maxBuffer: 1 << 30 },
	);
	fs.writeFileSync(file, out);
}

async function scalar(db, sql) {
	return (await db.all(sql))[0][0];
}

export async function compareTable(db, label, dir, table, key, mode) {
	const st = await deltaView(db, 'h', dir);
	const cols = st.schema.fields.filter((f) => !HISTORY.includes(f.name));
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sync-check-'));
	try {
		const csv = path.join(tmp, 'pg.csv');
		exportPg(table, cols, csv);
		await db.run(
			`CREATE OR REPLACE TABLE pg_raw AS SELECT * FROM read_csv(${sqlString(csv)}, header=true, all_varchar=true, ` +
				`allow_quoted_nulls=false, quote='"', escape='"', delim=',', parallel=false)`,
		);
		const pgSel = cols.map((f) => `${pgCanon(f.name, f.type)} AS ${qi(f.name)}`).join(', ');
		const dSel = cols.map((f) => `${deltaCanon(f.name, f.type)} AS ${qi(f.name)}`).join(', ');
		await db.run(`CREATE OR REPLACE TABLE pg AS SELECT ${pgSel} FROM pg_raw`);
		let cur;
		if (mode === 'inserts') {
			cur = `
				WITH lt AS (SELECT max((_commit_lsn, _change_seq)) AS t FROM h WHERE _change_type = 'truncate')
				SELECT ${dSel} FROM h, lt WHERE _change_type = 'insert' AND (lt.t IS NULL OR (_commit_lsn, _change_seq) > lt.t)`;
		} else {
			const k = key.map(qi).join(', ');
			cur = `
				WITH ev AS (SELECT *, row_number() OVER (ORDER BY _commit_lsn, _change_seq) AS _ord FROM h),
				lt AS (SELECT coalesce(max(_ord), 0) AS o FROM ev WHERE _change_type = 'truncate'),
				k AS (SELECT ev.*, row_number() OVER (PARTITION BY ${k} ORDER BY _ord DESC) AS _rn
				      FROM ev, lt WHERE ev._ord > lt.o AND _change_type <> 'truncate')
				SELECT ${dSel} FROM k WHERE _rn = 1 AND _change_type IN ('insert', 'update_postimage')`;
		}
		await db.run(`CREATE OR REPLACE TABLE cur AS ${cur}`);
		const nPg = Number(await scalar(db, 'SELECT count(*) FROM pg'));
		const nCur = Number(await scalar(db, 'SELECT count(*) FROM cur'));
		const aMinusB = Number(await scalar(db, 'SELECT count(*) FROM (SELECT * FROM cur EXCEPT ALL SELECT * FROM pg)'));
		const bMinusA = Number(await scalar(db, 'SELECT count(*) FROM (SELECT * FROM pg EXCEPT ALL SELECT * FROM cur)'));
		const ok = nPg === nCur && aMinusB === 0 && bMinusA === 0;
		if (ok) {
			console.log(`PASS ${label} (${nPg} rows, ${st.files.length} files, Delta version ${st.version})`);
			return true;
		}
		const diffCols = [];
		for (const f of cols) {
			const n = Number(
				await scalar(db, `SELECT count(*) FROM (SELECT ${qi(f.name)} FROM cur EXCEPT ALL SELECT ${qi(f.name)} FROM pg)`),
			);
			if (n) diffCols.push(f.name);
		}
		const sample = async (a, b) =>
			JSON.stringify(await db.all(`SELECT * FROM (SELECT * FROM ${a} EXCEPT ALL SELECT * FROM ${b}) LIMIT 3`));
		console.log(
			`FAIL ${label}: delta ${nCur} rows, postgres ${nPg}; ${aMinusB} only in delta, ${bMinusA} only in postgres; ` +
				`columns differing: ${diffCols.join(', ') || '-'}\n    delta-only: ${await sample('cur', 'pg')}\n` +
				`    postgres-only: ${await sample('pg', 'cur')}`,
		);
		return false;
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
	}
}

function bigintSafe(rows) {
	return JSON.stringify(rows, (k, v) => (typeof v === 'bigint' ? v.toString() : v));
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'compare') {
	const [label, dir, table, keyArg, mode] = args;
	const db = await openDb();
	let ok = false;
	try {
		ok = await compareTable(db, label, dir, table, keyArg === '-' ? [] : keyArg.split(','), mode || 'replay');
	} catch (e) {
		console.log(`FAIL ${label}: ${e.message.split('\n')[0]}`);
	}
	process.exit(ok ? 0 : 1);
} else if (cmd === 'sql') {
	const [views, sql] = args;
	const db = await openDb();
	for (const v of views.split(',')) {
		const i = v.indexOf('=');
		await deltaView(db, v.slice(0, i), v.slice(i + 1));
	}
	console.log(bigintSafe(await db.all(sql)));
} else if (cmd) {
	console.error(`unknown command ${cmd}`);
	process.exit(2);
}
