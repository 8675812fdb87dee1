// mirror_check.mjs — DuckDB oracle for `lakesync sync --mode mirror`: a
// mirror Delta table must equal its PostgreSQL table.  Nothing here shares
// code with lakesync except the two commands whose output is under test
// (`lakesync delta scan` and `lakesync delta changes`).
//
//   node mirror_check.mjs compare LABEL DELTA_DIR SCHEMA.TABLE KEY[,KEY…]|-
//     Prints one PASS/FAIL line per check (LABEL/<check>), exit 1 on a FAIL:
//       columns  the Delta schema's column names == the Postgres columns,
//                in order
//       scan     `lakesync delta scan DIR --output F` == SELECT * FROM t:
//                typed multiset difference both ways and again with every
//                column cast to VARCHAR (canonical text), equal counts
//       replay   an independent replay of the Delta log (JSON commits,
//                the newest classic/multi-part checkpoint read by DuckDB;
//                reconciliation by (path, deletion-vector id)), the live
//                files read by DuckDB's read_parquet with file_row_number,
//                minus the rows of each file's deletion vector decoded here
//                (Z85, DV file format, RoaringTreemap / portable Roaring)
//                == the Postgres table, as for scan.  Also: no path is live
//                twice, every decoded DV has the descriptor's cardinality,
//                every deleted row index < the file's row count
//       count    DuckDB count(*) over read_parquet(live files) − Σ
//                deletionVector.cardinality == SELECT count(*) FROM t
//       cdf      `lakesync delta changes DIR --from 0 --output F`:
//                (a) net multiset: per full row, (#insert + #postimage) −
//                (#delete + #preimage) over every version == the row's count
//                in Postgres (so replaying the feed from version 0 rebuilds
//                the table), (b) with a key: after each version every key is
//                present 0 or 1 times (no duplicated insert of a key that
//                was not deleted, no delete of an absent key), (c) per
//                version #update_preimage == #update_postimage
//   node mirror_check.mjs replay-vs-scan LABEL DELTA_DIR
//     The replay above == `lakesync delta scan` (any Delta table with
//     deletion vectors, e.g. a golden one): a self-test of the replay.
//   node mirror_check.mjs live DELTA_DIR
//     JSON {version, files, rows, dvRows}: the live data files, their rows
//     (DuckDB count) and the Σ DV cardinalities (for benchmarks).
//
// Postgres is read with psql (PG* select the server), COPY … TO STDOUT
// (FORMAT csv) with lakesync's pinned session settings, each column cast
// in DuckDB to its Delta type (as tests/oracle/sync_check.mjs does).
// LAKESYNC_BIN names the lakesync binary (default build/lakesync).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { openDb, sqlString } from './oracle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.LAKESYNC_BIN || path.join(here, '..', '..', 'build', 'lakesync');
const PINNED =
	'-c DateStyle=ISO -c TimeZone=UTC -c IntervalStyle=iso_8601 -c extra_float_digits=3 -c bytea_output=hex';

function qi(name) {
	return '"' + String(name).replaceAll('"', '""') + '"';
}

// ---- Z85 and deletion vectors ---------------------------------------------------

const Z85 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_VAL = new Map([...Z85].map((c, i) => [c, i]));

function z85Decode(s) {
	if (s.length % 5 !== 0) throw new Error(`Z85 text of ${s.length} characters`);
	const out = Buffer.alloc((s.length / 5) * 4);
	for (let i = 0; i < s.length; i += 5) {
		let v = 0;
		for (let j = 0; j < 5; j++) {
			const d = Z85_VAL.get(s[i + j]);
			if (d === undefined) throw new Error(`bad Z85 character ${JSON.stringify(s[i + j])}`);
			v = v * 85 + d;
		}
		if (v > 0xffffffff) throw new Error('Z85 group out of range');
		out.writeUInt32BE(v, (i / 5) * 4);
	}
	return out;
}

function uuidText(b) {
	const h = b.toString('hex');
	return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

// One portable 32-bit Roaring bitmap at buf[pos…]; pushes high + value of
// each member into out; returns the position after it.
function roaring32(buf, pos, high, out) {
	const cookie = buf.readUInt32LE(pos);
	pos += 4;
	let n, runBits = null;
	if ((cookie & 0xffff) === 12347) {
		n = (cookie >>> 16) + 1;
		runBits = buf.subarray(pos, pos + Math.ceil(n / 8));
		pos += Math.ceil(n / 8);
	} else if (cookie === 12346) {
		n = buf.readUInt32LE(pos);
		pos += 4;
	} else {
		throw new Error(`bad roaring cookie ${cookie}`);
	}
	const keys = [], cards = [];
	for (let i = 0; i < n; i++) {
		keys.push(buf.readUInt16LE(pos));
		cards.push(buf.readUInt16LE(pos + 2) + 1);
		pos += 4;
	}
	if (runBits === null || n >= 4) pos += 4 * n;   // offsets: containers are contiguous
	for (let i = 0; i < n; i++) {
		const base = high + keys[i] * 65536;
		const isRun = runBits !== null && (runBits[i >> 3] >> (i & 7)) & 1;
		if (isRun) {
			const nr = buf.readUInt16LE(pos);
			pos += 2;
			let got = 0;
			for (let r = 0; r < nr; r++) {
				const start = buf.readUInt16LE(pos), len = buf.readUInt16LE(pos + 2);
				pos += 4;
				for (let v = start; v <= start + len; v++) out.push(base + v);
				got += len + 1;
			}
			if (got !== cards[i]) throw new Error(`run container of ${got} values, header says ${cards[i]}`);
		} else if (cards[i] > 4096) {
			let got = 0;
			for (let w = 0; w < 1024; w++) {
				const lo = buf.readUInt32LE(pos + w * 8), hi = buf.readUInt32LE(pos + w * 8 + 4);
				for (let b = 0; b < 32; b++) {
					if ((lo >>> b) & 1) { out.push(base + w * 64 + b); got++; }
					if ((hi >>> b) & 1) { out.push(base + w * 64 + 32 + b); got++; }
				}
			}
			pos += 8192;
			if (got !== cards[i]) throw new Error(`bitset container of ${got} values, header says ${cards[i]}`);
		} else {
			for (let j = 0; j < cards[i]; j++) out.push(base + buf.readUInt16LE(pos + 2 * j));
			pos += 2 * cards[i];
		}
	}
	return pos;
}

// The row indexes of a DV's serialized data (magic + RoaringTreemap).
function dvBitmap(data) {
	if (data.readUInt32LE(0) !== 1681511377) throw new Error('bad deletion vector magic');
	const nb = Number(data.readBigUInt64LE(4));
	let pos = 12;
	const out = [];
	for (let i = 0; i < nb; i++) {
		const key = data.readUInt32LE(pos);
		pos = roaring32(data, pos + 4, key * 4294967296, out);
	}
	if (pos !== data.length) throw new Error(`deletion vector data: ${data.length - pos} bytes left over`);
	return out;
}

function crc32(buf) {
	let c = ~0;
	for (const b of buf) {
		c ^= b;
		for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
	}
	return ~c >>> 0;
}

// Deleted row indexes of a deletion vector descriptor (sorted).
export function readDv(tableDir, dv) {
	let data;
	if (dv.storageType === 'i') {
		data = z85Decode(dv.pathOrInlineDv);
		data = data.subarray(0, dv.sizeInBytes);
	} else {
		let file;
		if (dv.storageType === 'u') {
			const s = dv.pathOrInlineDv;
			const prefix = s.slice(0, s.length - 20);
			const name = `deletion_vector_${uuidText(z85Decode(s.slice(-20)))}.bin`;
			file = path.join(tableDir, prefix, name);
		} else if (dv.storageType === 'p') {
			const p = decodeURIComponent(dv.pathOrInlineDv.replace(/^file:(\/\/)?/, ''));
			file = path.isAbsolute(p) ? p : path.join(tableDir, p);
		} else {
			throw new Error(`unknown DV storage type ${dv.storageType}`);
		}
		const whole = fs.readFileSync(file);
		if (whole[0] !== 1) throw new Error(`${file}: DV file version ${whole[0]}`);
		const off = dv.offset ?? 1;
		const size = whole.readUInt32BE(off);
		if (size !== dv.sizeInBytes) throw new Error(`${file}@${off}: size ${size}, descriptor ${dv.sizeInBytes}`);
		data = whole.subarray(off + 4, off + 4 + size);
		const crc = whole.readUInt32BE(off + 4 + size);
		if (crc !== crc32(data)) throw new Error(`${file}@${off}: CRC mismatch`);
	}
	const rows = dvBitmap(data);
	for (let i = 1; i < rows.length; i++)
		if (rows[i] <= rows[i - 1]) throw new Error('deletion vector rows not ascending');
	return rows;
}

// ---- log replay ----------------------------------------------------------------

function parse(kind, v) {
	if (v === null || v === undefined) return null;
	const o = typeof v === 'string' ? JSON.parse(v) : v;
	return o === null ? null : { kind, ...o };
}

function dvKey(a) {
	const dv = a.deletionVector;
	if (!dv) return decodeURIComponent(a.path) + '|';
	return decodeURIComponent(a.path) + '|' + dv.storageType + dv.pathOrInlineDv + (dv.offset != null ? '@' + dv.offset : '');
}

// The live state of a Delta table: {version, files: Map key → add, metaData, protocol}
export async function replayLog(db, dir) {
	const logDir = path.join(dir, '_delta_log');
	const names = fs.readdirSync(logDir).sort();
	const commits = names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20)));
	if (!commits.length) throw new Error('no commits in the log');
	const latest = Math.max(...commits);
	// checkpoints: classic (V.checkpoint.parquet) or multi-part (V.checkpoint.P.N.parquet), complete only
	const cps = new Map();
	for (const n of names) {
		let m = /^(\d{20})\.checkpoint\.parquet$/.exec(n);
		if (m) { cps.set(Number(m[1]), [n]); continue; }
		m = /^(\d{20})\.checkpoint\.(\d{10})\.(\d{10})\.parquet$/.exec(n);
		if (m) {
			const v = Number(m[1]);
			if (!cps.has(v)) cps.set(v, []);
			cps.get(v).push(n);
			cps.get(v).total = Number(m[3]);
		}
		if (/^\d{20}\.checkpoint\.[0-9a-f-]{36}\.(json|parquet)$/.test(n)) throw new Error(`v2 checkpoint ${n} not supported by the oracle`);
	}
	const usable = [...cps.entries()].filter(([v, parts]) => v <= latest && (parts.total === undefined || parts.length === parts.total))
		.map(([v]) => v).sort((a, b) => a - b);
	const cp = usable.length ? usable[usable.length - 1] : -1;
	const files = new Map();
	let metaData = null, protocol = null;
	const apply = (a) => {
		if (a.kind === 'add') files.set(dvKey(a), a);
		else if (a.kind === 'remove') files.delete(dvKey(a));
		else if (a.kind === 'metaData') metaData = a;
		else if (a.kind === 'protocol') protocol = a;
	};
	if (cp >= 0) {
		const list = '[' + cps.get(cp).map((n) => sqlString(path.join(logDir, n))).join(', ') + ']';
		const rows = await db.objects(`SELECT to_json("add") AS "add", to_json("remove") AS "remove",
			to_json("metaData") AS "metaData", to_json(protocol) AS protocol FROM read_parquet(${list}, union_by_name = true)`);
		for (const r of rows)
			for (const k of ['add', 'remove', 'metaData', 'protocol']) {
				const a = parse(k, r[k]);
				if (a) apply(a);
			}
	}
	for (let v = cp + 1; v <= latest; v++) {
		const f = path.join(logDir, `${String(v).padStart(20, '0')}.json`);
		if (!fs.existsSync(f)) throw new Error(`commit ${v} missing from the log`);
		for (const line of fs.readFileSync(f, 'utf8').split('\n')) {
			if (!line.trim()) continue;
			const o = JSON.parse(line);
			for (const k of ['add', 'remove', 'metaData', 'protocol']) if (o[k]) apply({ kind: k, ...o[k] });
		}
	}
	if (!metaData) throw new Error('no metaData in the log');
	return { version: latest, checkpoint: cp, files, metaData, protocol };
}

function duckType(t) {
	if (typeof t === 'object') {
		if (t.type === 'array') return duckType(t.elementType) + '[]';
		throw new Error('unsupported Delta type ' + JSON.stringify(t));
	}
	const m = /^decimal\((\d+),\s*(\d+)\)$/.exec(t);
	if (m) return `DECIMAL(${m[1]},${m[2]})`;
	const d = {
		string: 'VARCHAR', long: 'BIGINT', integer: 'INTEGER', short: 'SMALLINT',
		byte: 'TINYINT', float: 'FLOAT', double: 'DOUBLE', boolean: 'BOOLEAN',
		binary: 'BLOB', date: 'DATE', timestamp: 'TIMESTAMPTZ', timestamp_ntz: 'TIMESTAMP',
	}[t];
	if (!d) throw new Error('unsupported Delta type ' + t);
	return d;
}

// A table NAME of the rows of the replayed state (DVs applied here), in
// the schema's logical names and Delta types.  Returns facts for count.
async function replayRows(db, dir, st, name, tmp) {
	const schema = JSON.parse(st.metaData.schemaString);
	const mode = st.metaData.configuration?.['delta.columnMapping.mode'] ?? 'none';
	if (mode === 'id') throw new Error('column mapping mode id not supported by the oracle');
	const parts = st.metaData.partitionColumns ?? [];
	const phys = (f) => (mode === 'name' && f.metadata?.['delta.columnMapping.physicalName']) || f.name;
	const adds = [...st.files.values()];
	const byPath = new Map();
	const problems = [];
	for (const a of adds) {
		const p = path.join(dir, decodeURIComponent(a.path));
		if (byPath.has(p)) problems.push(`path live twice: ${a.path}`);
		byPath.set(p, a);
	}
	let dvRows = 0, decoded = 0;
	const delCsv = path.join(tmp, `${name}_del.csv`);
	const fd = fs.openSync(delCsv, 'w');
	fs.writeSync(fd, 'fname,pos\n');
	const dvs = [];
	for (const [p, a] of byPath) {
		if (!a.deletionVector) continue;
		dvRows += Number(a.deletionVector.cardinality);
		let rows;
		try {
			rows = readDv(dir, a.deletionVector);
		} catch (e) {
			problems.push(`${a.path}: deletion vector unreadable: ${e.message}`);
			continue;
		}
		decoded += rows.length;
		if (rows.length !== Number(a.deletionVector.cardinality))
			problems.push(`${a.path}: DV decodes to ${rows.length} rows, cardinality ${a.deletionVector.cardinality}`);
		dvs.push([p, rows]);
		let chunk = '';
		for (const r of rows) {
			chunk += `${JSON.stringify(p)},${r}\n`;
			if (chunk.length > 1 << 20) { fs.writeSync(fd, chunk); chunk = ''; }
		}
		fs.writeSync(fd, chunk);
	}
	fs.closeSync(fd);
	await db.run(`CREATE OR REPLACE TABLE ${name}_del AS SELECT * FROM read_csv(${sqlString(delCsv)}, header = true,
		columns = {'fname': 'VARCHAR', 'pos': 'BIGINT'}, quote = '"', escape = '"')`);
	const fields = schema.fields;
	if (!adds.length) {
		await db.run(`CREATE OR REPLACE TABLE ${name} AS SELECT ${fields.map((f) => `NULL::${duckType(f.type)} AS ${qi(f.name)}`).join(', ')} LIMIT 0`);
		return { files: 0, fileRows: 0, dvRows, decoded, problems };
	}
	const list = '[' + [...byPath.keys()].map(sqlString).join(', ') + ']';
	const src = `read_parquet(${list}, union_by_name = true, filename = true, file_row_number = true)`;
	const have = new Set((await db.objects(`DESCRIBE SELECT * FROM ${src}`)).map((r) => r.column_name));
	// partition values per file
	await db.run(`CREATE OR REPLACE TABLE ${name}_pv (fname VARCHAR${parts.map((c, i) => `, pv${i} VARCHAR`).join('')})`);
	if (parts.length) {
		for (const [p, a] of byPath) {
			const vals = [sqlString(p), ...parts.map((c) => {
				const v = a.partitionValues?.[c] ?? a.partitionValues?.[phys(fields.find((f) => f.name === c))];
				return v === null || v === undefined ? 'NULL' : sqlString(v);
			})];
			await db.run(`INSERT INTO ${name}_pv VALUES (${vals.join(', ')})`);
		}
	}
	const sel = fields.map((f) => {
		const pi = parts.indexOf(f.name);
		if (pi >= 0) return `CAST(pv.pv${pi} AS ${duckType(f.type)}) AS ${qi(f.name)}`;
		const c = phys(f);
		return have.has(c) ? `CAST(t.${qi(c)} AS ${duckType(f.type)}) AS ${qi(f.name)}` : `NULL::${duckType(f.type)} AS ${qi(f.name)}`;
	}).join(', ');
	await db.run(`CREATE OR REPLACE TABLE ${name} AS SELECT ${sel} FROM ${src} t
		${parts.length ? `JOIN ${name}_pv pv ON pv.fname = t.filename` : ''}
		ANTI JOIN ${name}_del d ON d.fname = t.filename AND d.pos = t.file_row_number`);
	const fileRows = Number((await db.all(`SELECT count(*) FROM read_parquet(${list})`))[0][0]);
	// every deleted index is a row of its file
	if (dvs.length) {
		const bad = (await db.all(`SELECT count(*) FROM ${name}_del d ANTI JOIN
			(SELECT filename, file_row_number FROM read_parquet([${dvs.map(([p]) => sqlString(p)).join(', ')}],
				filename = true, file_row_number = true)) t
			ON d.fname = t.filename AND d.pos = t.file_row_number`))[0][0];
		if (Number(bad)) problems.push(`${bad} deleted row indexes beyond their file's rows`);
	}
	return { files: byPath.size, fileRows, dvRows, decoded, problems };
}

// ---- Postgres ------------------------------------------------------------------

function psql(sql) {
	return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-c', sql], {
		env: { ...process.env, PGOPTIONS: `${process.env.PGOPTIONS || ''} ${PINNED}` },
		maxBuffer: 1 << 30,
	});
}

function relName(table) {
	const parts = table.split('.');
	return parts.length > 1 ? `${qi(parts[0])}.${qi(parts[1])}` : qi(parts[0]);
}

// Postgres text (VARCHAR) → the Delta type's DuckDB value.
function pgCanon(col, t) {
	const c = qi(col);
	if (typeof t === 'object') return `CAST(CAST(${c} AS JSON) AS ${duckType(t)})`;
	switch (t) {
		case 'boolean':
			return `CASE ${c} WHEN 't' THEN true WHEN 'f' THEN false END`;
		case 'binary':
			return `unhex(substr(${c}, 3))`;
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

async function loadPg(db, table, fields, tmp) {
	const sel = fields
		.map((f) => (typeof f.type === 'object' ? `array_to_json(${qi(f.name)}) AS ${qi(f.name)}` : qi(f.name)))
		.join(', ');
	const csv = path.join(tmp, 'pg.csv');
	fs.writeFileSync(csv, psql(`COPY (SELECT ${sel} FROM ${relName(table)}) TO STDOUT WITH (FORMAT csv, HEADER)`));
	await db.run(`CREATE OR REPLACE TABLE pg_raw AS SELECT * FROM read_csv(${sqlString(csv)}, header=true, all_varchar=true,
		allow_quoted_nulls=false, quote='"', escape='"', delim=',', parallel=false)`);
	await db.run(`CREATE OR REPLACE TABLE pg AS SELECT ${fields.map((f) => `${pgCanon(f.name, f.type)} AS ${qi(f.name)}`).join(', ')} FROM pg_raw`);
}

async function count(db, sql) {
	return Number((await db.all(`SELECT count(*) FROM (${sql})`))[0][0]);
}

// Strict multiset equality of tables a and b over fields (typed, then text).
async function sameRows(db, a, b, fields) {
	const cols = fields.map((f) => qi(f.name)).join(', ');
	const txt = fields.map((f) => `CAST(${qi(f.name)} AS VARCHAR)`).join(', ');
	const r = {
		[a]: await count(db, `SELECT * FROM ${a}`),
		[b]: await count(db, `SELECT * FROM ${b}`),
		onlyA: await count(db, `SELECT ${cols} FROM ${a} EXCEPT ALL SELECT ${cols} FROM ${b}`),
		onlyB: await count(db, `SELECT ${cols} FROM ${b} EXCEPT ALL SELECT ${cols} FROM ${a}`),
		textOnlyA: await count(db, `SELECT ${txt} FROM ${a} EXCEPT ALL SELECT ${txt} FROM ${b}`),
		textOnlyB: await count(db, `SELECT ${txt} FROM ${b} EXCEPT ALL SELECT ${txt} FROM ${a}`),
	};
	r.equal = r[a] === r[b] && !r.onlyA && !r.onlyB && !r.textOnlyA && !r.textOnlyB;
	if (!r.equal) {
		const short = (rows) => JSON.stringify(rows, (k, v) => (typeof v === 'string' && v.length > 60 ? v.slice(0, 60) + '…' : v));
		r.sampleOnlyA = short(await db.all(`SELECT ${cols} FROM ${a} EXCEPT ALL SELECT ${cols} FROM ${b} LIMIT 3`));
		r.sampleOnlyB = short(await db.all(`SELECT ${cols} FROM ${b} EXCEPT ALL SELECT ${cols} FROM ${a} LIMIT 3`));
	}
	return r;
}

function explain(r, a, b) {
	return `${a} ${r[a]} rows, ${b} ${r[b]}; ${r.onlyA} only in ${a}, ${r.onlyB} only in ${b} ` +
		`(as text ${r.textOnlyA}/${r.textOnlyB})\n    ${a}-only: ${r.sampleOnlyA}\n    ${b}-only: ${r.sampleOnlyB}`;
}

function lakesync(args) {
	return execFileSync(BIN, args, { maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
}

function firstLine(e) {
	return String(e.stderr || e.message).trim().split('\n')[0];
}

// ---- commands ------------------------------------------------------------------

async function compare(label, dir, table, key) {
	const db = await openDb();
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-check-'));
	let failed = false;
	const report = (check, ok, detail) => {
		console.log(`${ok ? 'PASS' : 'FAIL'} ${label}/${check}${detail ? (ok ? ' ' : ': ') + detail : ''}`);
		if (!ok) failed = true;
	};
	try {
		const st = await replayLog(db, dir);
		const fields = JSON.parse(st.metaData.schemaString).fields;
		// columns
		const pgCols = String(psql(`SELECT attname FROM pg_attribute WHERE attrelid = '${relName(table).replaceAll("'", "''")}'::regclass
			AND attnum > 0 AND NOT attisdropped ORDER BY attnum`)).split('\n').filter(Boolean);
		const dCols = fields.map((f) => f.name);
		report('columns', JSON.stringify(pgCols) === JSON.stringify(dCols),
			JSON.stringify(pgCols) === JSON.stringify(dCols) ? `(${dCols.join(', ')})` : `delta ${JSON.stringify(dCols)}, postgres ${JSON.stringify(pgCols)}`);
		const common = fields.filter((f) => pgCols.includes(f.name));
		await loadPg(db, table, common, tmp);
		const nPg = Number(String(psql(`SELECT count(*) FROM ${relName(table)}`)).trim());
		await db.run(`CREATE OR REPLACE TABLE pg_c AS SELECT ${common.map((f) =>
			(f.type === 'float' || f.type === 'double' ? `CAST(${qi(f.name)} AS VARCHAR)` : qi(f.name)) + ` AS ${qi(f.name)}`).join(', ')} FROM pg`);
		// scan
		try {
			const out = path.join(tmp, 'scan.parquet');
			lakesync(['delta', 'scan', dir, '--output', out]);
			await db.run(`CREATE OR REPLACE TABLE scan AS SELECT ${common.map((f) => qi(f.name)).join(', ')} FROM read_parquet(${sqlString(out)})`);
			await db.run(`CREATE OR REPLACE TABLE scan_c AS SELECT ${common.map((f) =>
				(f.type === 'float' || f.type === 'double' ? `CAST(CAST(${qi(f.name)} AS ${duckType(f.type)}) AS VARCHAR)` : qi(f.name)) + ` AS ${qi(f.name)}`).join(', ')} FROM scan`);
			const r = await sameRows(db, 'scan_c', 'pg_c', common);
			report('scan', r.equal, r.equal ? `(${nPg} rows, version ${st.version})` : explain(r, 'scan_c', 'pg_c'));
		} catch (e) {
			report('scan', false, `lakesync delta scan: ${firstLine(e)}`);
		}
		// replay + count
		const f = await replayRows(db, dir, st, 'rp', tmp);
		await db.run(`CREATE OR REPLACE TABLE rp_c AS SELECT ${common.map((x) =>
			(x.type === 'float' || x.type === 'double' ? `CAST(${qi(x.name)} AS VARCHAR)` : qi(x.name)) + ` AS ${qi(x.name)}`).join(', ')} FROM rp`);
		const r = await sameRows(db, 'rp_c', 'pg_c', common);
		const ok = r.equal && !f.problems.length;
		report('replay', ok, ok ? `(${f.files} live files, ${f.fileRows} rows in them, ${f.dvRows} deleted by DVs` +
			`${st.checkpoint >= 0 ? `, checkpoint ${st.checkpoint}` : ''})` :
			[...f.problems.slice(0, 5), r.equal ? '' : explain(r, 'rp_c', 'pg_c')].filter(Boolean).join('; '));
		report('count', f.fileRows - f.dvRows === nPg,
			`(DuckDB count(*) ${f.fileRows} − Σ DV cardinality ${f.dvRows} = ${f.fileRows - f.dvRows}; Postgres ${nPg})`);
		// cdf
		try {
			const out = path.join(tmp, 'cdf.parquet');
			lakesync(['delta', 'changes', dir, '--from', '0', '--output', out]);
			const txt = common.map((x) =>
				(x.type === 'float' || x.type === 'double' ? `CAST(CAST(${qi(x.name)} AS ${duckType(x.type)}) AS VARCHAR)` : `CAST(${qi(x.name)} AS VARCHAR)`) + ` AS ${qi(x.name)}`).join(', ');
			const ptxt = common.map((x) => `CAST(${qi(x.name)} AS VARCHAR) AS ${qi(x.name)}`).join(', ');
			await db.run(`CREATE OR REPLACE TABLE cdf AS SELECT ${txt}, _change_type, _commit_version,
				CASE WHEN _change_type IN ('insert', 'update_postimage') THEN 1
				     WHEN _change_type IN ('delete', 'update_preimage') THEN -1 END AS s FROM read_parquet(${sqlString(out)})`);
			const cols = common.map((x) => qi(x.name)).join(', ');
			const nChanges = await count(db, 'SELECT * FROM cdf');
			const badType = await count(db, 'SELECT * FROM cdf WHERE s IS NULL');
			await db.run(`CREATE OR REPLACE TABLE net AS SELECT ${cols}, sum(s) AS n FROM cdf GROUP BY ALL HAVING sum(s) <> 0`);
			await db.run(`CREATE OR REPLACE TABLE pgn AS SELECT ${cols}, count(*) AS n FROM (SELECT ${ptxt} FROM pg_c) GROUP BY ALL`);
			const d1 = await count(db, 'SELECT * FROM net EXCEPT ALL SELECT * FROM pgn');
			const d2 = await count(db, 'SELECT * FROM pgn EXCEPT ALL SELECT * FROM net');
			const kc = key.length ? key.map(qi).join(', ') : cols;
			const lo = 0, hi = key.length ? 1 : null;
			const cum = `WITH pv AS (SELECT ${kc}, _commit_version AS v, sum(s) AS d FROM cdf GROUP BY ALL),
				c AS (SELECT *, sum(d) OVER (PARTITION BY ${kc} ORDER BY v ROWS UNBOUNDED PRECEDING) AS c FROM pv)
				SELECT * FROM c WHERE c < ${lo}${hi === null ? '' : ` OR c > ${hi}`}`;
			const badKeys = await count(db, cum);
			const badPairs = await count(db, `SELECT _commit_version FROM cdf GROUP BY ALL
				HAVING count(*) FILTER (WHERE _change_type = 'update_preimage') <> count(*) FILTER (WHERE _change_type = 'update_postimage')`);
			const versions = await count(db, 'SELECT DISTINCT _commit_version FROM cdf');
			const ok = !d1 && !d2 && !badKeys && !badPairs && !badType;
			let detail = `(${nChanges} change rows over ${versions} versions replay to the table` +
				`${key.length ? '; every key present 0 or 1 times after each version' : ''})`;
			if (!ok) {
				detail = `net replay vs postgres: ${d1} row groups only in the feed, ${d2} only in postgres; ` +
					`${badKeys} (key, version) with a count outside [0, ${hi ?? '∞'}]; ${badPairs} versions with unpaired update images; ` +
					`${badType} unknown change types`;
				if (badKeys) detail += `\n    e.g. ${JSON.stringify(await db.all(`${cum} ORDER BY v LIMIT 3`), (k, v) => (typeof v === 'bigint' ? String(v) : v))}`;
				if (d1 || d2) detail += `\n    feed-only: ${JSON.stringify(await db.all('SELECT * FROM net EXCEPT ALL SELECT * FROM pgn LIMIT 3')).slice(0, 400)}` +
					`\n    postgres-only: ${JSON.stringify(await db.all('SELECT * FROM pgn EXCEPT ALL SELECT * FROM net LIMIT 3')).slice(0, 400)}`;
			}
			report('cdf', ok, detail);
		} catch (e) {
			report('cdf', false, `lakesync delta changes: ${firstLine(e)}`);
		}
	} catch (e) {
		report('oracle', false, e.message.split('\n')[0]);
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
		db.close();
	}
	return !failed;
}

async function replayVsScan(label, dir) {
	const db = await openDb();
	const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mirror-check-'));
	try {
		const st = await replayLog(db, dir);
		const fields = JSON.parse(st.metaData.schemaString).fields;
		const f = await replayRows(db, dir, st, 'rp', tmp);
		const out = path.join(tmp, 'scan.parquet');
		lakesync(['delta', 'scan', dir, '--output', out]);
		await db.run(`CREATE OR REPLACE TABLE scan AS SELECT * FROM read_parquet(${sqlString(out)})`);
		const r = await sameRows(db, 'rp', 'scan', fields);
		const ok = r.equal && !f.problems.length && f.decoded === f.dvRows;
		console.log(`${ok ? 'PASS' : 'FAIL'} ${label}` + (ok ? ` (${f.files} files, ${f.fileRows} rows, ${f.dvRows} deleted by DVs)` :
			`: ${f.problems.join('; ')} ${explain(r, 'rp', 'scan')}`));
		return ok;
	} finally {
		fs.rmSync(tmp, { recursive: true, force: true });
		db.close();
	}
}

async function live(dir) {
	const db = await openDb();
	const st = await replayLog(db, dir);
	const files = [...st.files.values()];
	const list = '[' + files.map((a) => sqlString(path.join(dir, decodeURIComponent(a.path)))).join(', ') + ']';
	const rows = files.length ? Number((await db.all(`SELECT count(*) FROM read_parquet(${list})`))[0][0]) : 0;
	const dvRows = files.reduce((s, a) => s + Number(a.deletionVector?.cardinality ?? 0), 0);
	const bytes = files.reduce((s, a) => s + Number(a.size ?? 0), 0);
	console.log(JSON.stringify({ version: st.version, files: files.length, rows, dvRows, bytes,
		withDv: files.filter((a) => a.deletionVector).length }));
	db.close();
}

const [cmd, ...args] = process.argv.slice(2);
let ok = true;
if (cmd === 'compare') {
	const [label, dir, table, keyArg] = args;
	ok = await compare(label, dir, table, !keyArg || keyArg === '-' ? [] : keyArg.split(','));
} else if (cmd === 'replay-vs-scan') {
	try {
		ok = await replayVsScan(args[0], args[1]);
	} catch (e) {
		console.log(`FAIL ${args[0]}: ${e.message.split('\n')[0]}`);
		ok = false;
	}
} else if (cmd === 'live') {
	await live(args[0]);
} else {
	console.error('usage: node mirror_check.mjs compare LABEL DIR SCHEMA.TABLE KEY|- | replay-vs-scan LABEL DIR | live DIR');
	process.exit(2);
}
process.exit(ok ? 0 : 1);
