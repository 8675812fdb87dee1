// oracle.mjs — DuckDB as an independent oracle for lakesync's tests and
// benchmarks (ES module over @duckdb/node-api, pinned in package.json).
//
// Library:
//   const db = await openDb()              in-memory DuckDB, TimeZone=UTC
//   await db.all(sql)                       rows as JSON-safe arrays
//   await db.run(sql)                       run, ignore the result
//   await compareParquet(a, b, db?)         strict comparison of two files
//   await compareQuery(sqlA, sqlB, db?)     same for two queries
//   await canReadParquet(file, db?)         {ok, reason}: DuckDB decodes all of it
//   sqlString(s)                            a SQL string literal
//
// CLI (prints one JSON object; exit 0 unless the command itself failed):
//   node oracle.mjs compare A.parquet B.parquet
//   node oracle.mjs compare-query "SELECT ..." "SELECT ..."
//   node oracle.mjs can-read F.parquet
//   node oracle.mjs sql "SQL" [...]          runs each; prints the last result's rows
//
// How a comparison stays strict:
//  1. counts of both sides;
//  2. typed multiset difference both ways:
//       SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)
//     DuckDB's EXCEPT ALL works on every type (lists, structs, maps
//     included) and treats NaN as equal to NaN, but also -0.0 as equal to
//     0.0, and it compares positionally, casting to a common type;
//  3. so the column names and types are compared too (DESCRIBE), and
//  4. when the types agree, the multiset difference is taken again over every
//     column cast to VARCHAR: DuckDB prints doubles/floats in shortest
//     round-trip form ("-0.0", "0.1", "nan"), decimals with their full scale,
//     timestamps with all their digits and blobs byte by byte, so the text
//     compare sees every bit EXCEPT ALL could have ignored.
// `equal` is true only when all of that agrees. When it does not, `columns`
// names each column whose own multiset differs (a diagnosis, not a proof).

import { pathToFileURL } from 'node:url';

import { DuckDBInstance } from '@duckdb/node-api';

export function sqlString(s) {
	return "'" + String(s).replaceAll("'", "''") + "'";
}

export function readParquetSql(file) {
	return `read_parquet(${sqlString(file)})`;
}

function quoteIdent(name) {
	return '"' + String(name).replaceAll('"', '""') + '"';
}

export async function openDb(options = {}) {
	const config = {};
	if (options.threads) config.threads = String(options.threads);
	const instance = await DuckDBInstance.create(':memory:', config);
	const conn = await instance.connect();
	const db = {
		instance,
		conn,
		async all(sql) {
			const reader = await conn.runAndReadAll(sql);
			return reader.getRowsJson();
		},
		async objects(sql) {
			const reader = await conn.runAndReadAll(sql);
			return reader.getRowObjectsJson();
		},
		async run(sql) {
			await conn.run(sql);
		},
		close() {
			conn.closeSync();
		},
	};
	await db.run("SET TimeZone='UTC'");
	return db;
}

let shared = null;
async function sharedDb() {
	if (!shared) shared = await openDb();
	return shared;
}

async function scalar(db, sql) {
	const rows = await db.all(sql);
	return rows[0][0];
}

async function countOf(db, sql) {
	return Number(await scalar(db, `SELECT count(*) FROM (${sql})`));
}

// [{name, type}] of a query's result.
export async function describe(sql, db) {
	db = db || (await sharedDb());
	const rows = await db.objects(`DESCRIBE ${sql}`);
	return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

function textSelect(sql, schema) {
	const cols = schema.map((c) => `CAST(${quoteIdent(c.name)} AS VARCHAR)`).join(', ');
	return `SELECT ${cols} FROM (${sql})`;
}

// Strict comparison of two queries' results as multisets of rows.
export async function compareQuery(sqlA, sqlB, db) {
	db = db || (await sharedDb());
	const schemaA = await describe(sqlA, db);
	const schemaB = await describe(sqlB, db);
	const schemaEqual = JSON.stringify(schemaA) === JSON.stringify(schemaB);
	const r = {
		countA: await countOf(db, sqlA),
		countB: await countOf(db, sqlB),
		aMinusB: null,
		bMinusA: null,
		schemaEqual,
		textAMinusB: null,
		textBMinusA: null,
	};
	if (schemaA.length === schemaB.length) {
		r.aMinusB = await countOf(db, `(${sqlA}) EXCEPT ALL (${sqlB})`);
		r.bMinusA = await countOf(db, `(${sqlB}) EXCEPT ALL (${sqlA})`);
	}
	if (schemaEqual && schemaA.length > 0) {
		const ta = textSelect(sqlA, schemaA), tb = textSelect(sqlB, schemaB);
		r.textAMinusB = await countOf(db, `(${ta}) EXCEPT ALL (${tb})`);
		r.textBMinusA = await countOf(db, `(${tb}) EXCEPT ALL (${ta})`);
	}
	r.equal =
		r.countA === r.countB && r.aMinusB === 0 && r.bMinusA === 0 && schemaEqual &&
		(schemaA.length === 0 || (r.textAMinusB === 0 && r.textBMinusA === 0));
	if (!schemaEqual) {
		r.schemaA = schemaA;
		r.schemaB = schemaB;
	}
	if (!r.equal && schemaEqual) r.columns = await differingColumns(db, sqlA, sqlB, schemaA);
	return r;
}

// Names of the columns whose own multisets (typed or as text) differ.
async function differingColumns(db, sqlA, sqlB, schema) {
	const bad = [];
	for (const c of schema) {
		const q = quoteIdent(c.name);
		const a = `SELECT ${q}, CAST(${q} AS VARCHAR) FROM (${sqlA})`;
		const b = `SELECT ${q}, CAST(${q} AS VARCHAR) FROM (${sqlB})`;
		try {
			const n1 = await countOf(db, `(${a}) EXCEPT ALL (${b})`);
			const n2 = await countOf(db, `(${b}) EXCEPT ALL (${a})`);
			if (n1 || n2) bad.push(c.name);
		} catch (e) {
			bad.push(`${c.name} (${e.message.split('\n')[0]})`);
		}
	}
	return bad;
}

export async function compareParquet(fileA, fileB, db) {
	return compareQuery(`SELECT * FROM ${readParquetSql(fileA)}`,
		`SELECT * FROM ${readParquetSql(fileB)}`, db);
}

// Whether DuckDB reads the whole file: every value of every column is
// decoded (hashing the row struct needs all of them).
export async function canReadParquet(file, db) {
	db = db || (await sharedDb());
	try {
		await db.all(`SELECT count(*), bit_xor(hash(t)) FROM ${readParquetSql(file)} t`);
		return { ok: true };
	} catch (e) {
		return { ok: false, reason: e.message.split('\n')[0] };
	}
}

// ---- CLI ------------------------------------------------------------------

async function main(argv) {
	const [cmd, ...args] = argv;
	let out;
	switch (cmd) {
	case 'compare':
		if (args.length !== 2) throw new Error('usage: compare A.parquet B.parquet');
		out = await compareParquet(args[0], args[1]);
		break;
	case 'compare-query':
		if (args.length !== 2) throw new Error('usage: compare-query SQL_A SQL_B');
		out = await compareQuery(args[0], args[1]);
		break;
	case 'can-read':
		if (args.length !== 1) throw new Error('usage: can-read FILE');
		out = await canReadParquet(args[0]);
		break;
	case 'sql': {
		const db = await sharedDb();
		for (const s of args) out = await db.all(s);
		break;
	}
	default:
		throw new Error('usage: node oracle.mjs compare|compare-query|can-read|sql ...');
	}
	process.stdout.write(JSON.stringify(out) + '\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
	main(process.argv.slice(2)).catch((e) => {
		process.stderr.write(`oracle: ${e.message}\n`);
		process.exit(2);
	});
}
