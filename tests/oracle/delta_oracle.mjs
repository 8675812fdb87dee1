// delta_oracle.mjs — an independent replay of a Delta table with DuckDB,
// compared with what lakesync's reader returned (a dump written by the
// test_delta_write driver: rows through dl_scan, active files as JSON lines).
//   node delta_oracle.mjs TABLE_DIR DUMP.parquet LABEL
//
// The replay (nothing here shares code with lakesync):
//   log         read_json('_delta_log/*.json') with filename (→ version);
//               read_parquet of the newest classic checkpoint, its action
//               columns turned to JSON with to_json (maps become objects)
//   reconcile   PROTOCOL.md "Action Reconciliation": logical file key =
//               (decoded path, deletion-vector unique id), the last add or
//               remove per key wins; the newest metaData/protocol win
//   rows        read_parquet of the active files (union_by_name, filename),
//               partition values cast to the column types
// Checks (one PASS/FAIL line each, prefixed delta-write/LABEL/):
//   files       our active set == the replay from the checkpoint == the
//               replay of the JSON log alone; metaData and protocol of the
//               checkpoint == those of the JSON log
//   rows        without deletion vectors: our rows == DuckDB's rows (strict:
//               oracle.mjs compareQuery); with them (DuckDB cannot apply
//               DVs): ours ⊆ theirs, theirs from files without a DV ⊆ ours,
//               and |ours| == |theirs| − Σ DV cardinalities (typed and as
//               text)
//   stats       per active file: numRecords == count(*); nullCount ==
//               count(*) − count(col); no value below minValues or above
//               maxValues (NaN counts as above everything), nested struct
//               fields included
//   cdf         per version with cdc files: the delete rows == rows of the
//               previous version missing now, the insert rows == rows new
//               now (multisets, partition columns included)
// Exit 1 if any FAIL.
import fs from 'node:fs';
import path from 'node:path';

import { compareQuery, openDb, sqlString } from './oracle.mjs';

const [tableDir, dumpFile, label] = process.argv.slice(2);
const db = await openDb();
let failed = false;

function report(name, ok, detail) {
	console.log(`${ok ? 'PASS' : 'FAIL'} delta-write/${label}/${name}${detail ? ': ' + detail : ''}`);
	if (!ok) failed = true;
}

function qi(name) {
	return '"' + String(name).replaceAll('"', '""') + '"';
}

// JSON.parse that keeps numbers as {raw: text} (exact decimals, big ints).
function parseRaw(text) {
	let i = 0;
	const ws = () => {
		while (i < text.length && ' \t\r\n'.includes(text[i])) i++;
	};
	const str = () => {
		let j = i + 1;
		while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
		const s = JSON.parse(text.slice(i, j + 1));
		i = j + 1;
		return s;
	};
	const val = () => {
		ws();
		const c = text[i];
		if (c === '{') {
			i++;
			const o = {};
			ws();
			if (text[i] === '}') { i++; return o; }
			for (;;) {
				ws();
				const k = str();
				ws();
				i++; // :
				o[k] = val();
				ws();
				if (text[i++] === ',') continue;
				return o;
			}
		}
		if (c === '[') {
			i++;
			const a = [];
			ws();
			if (text[i] === ']') { i++; return a; }
			for (;;) {
				a.push(val());
				ws();
				if (text[i++] === ',') continue;
				return a;
			}
		}
		if (c === '"') return str();
		for (const [w, v] of [['true', true], ['false', false], ['null', null]])
			if (text.startsWith(w, i)) { i += w.length; return v; }
		const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
		if (!m) throw new Error(`bad JSON at ${i}: ${text.slice(i, i + 20)}`);
		i += m[0].length;
		return { raw: m[0] };
	};
	return val();
}

// ---- the log ------------------------------------------------------------------

const logDir = path.join(tableDir, '_delta_log');
const names = fs.readdirSync(logDir).sort();
const commitVersions = names.filter((n) => /^\d{20}\.json$/.test(n)).map((n) => Number(n.slice(0, 20)));
const checkpoints = names.filter((n) => /^\d{20}\.checkpoint\.parquet$/.test(n)).map((n) => Number(n.slice(0, 20)));
const latest = Math.max(...commitVersions);

function parseAction(kind, text, version) {
	if (text === null || text === undefined) return null;
	const o = typeof text === 'string' ? JSON.parse(text) : text;
	if (o === null) return null;
	return { kind, version, ...o };
}

// JSON log: one row per line, the action in its own JSON column
const jsonRows = await db.objects(`
	SELECT filename, "add", "remove", cdc, "metaData", protocol, txn
	FROM read_json(${sqlString(path.join(logDir, '*.json'))}, format = 'newline_delimited',
		filename = true, columns = {"add": 'JSON', "remove": 'JSON', cdc: 'JSON',
		"metaData": 'JSON', protocol: 'JSON', txn: 'JSON', "commitInfo": 'JSON'})`);
const byVersion = new Map();
for (const r of jsonRows) {
	const v = Number(path.basename(r.filename).slice(0, 20));
	if (!byVersion.has(v)) byVersion.set(v, []);
	for (const k of ['add', 'remove', 'cdc', 'metaData', 'protocol', 'txn']) {
		const a = parseAction(k, r[k], v);
		if (a) byVersion.get(v).push(a);
	}
}

async function checkpointActions(v) {
	const file = path.join(logDir, `${String(v).padStart(20, '0')}.checkpoint.parquet`);
	const rows = await db.objects(`
		SELECT to_json("add") AS "add", to_json("remove") AS "remove",
			to_json("metaData") AS "metaData", to_json(protocol) AS protocol, to_json(txn) AS txn
		FROM read_parquet(${sqlString(file)})`);
	const out = [];
	for (const r of rows)
		for (const k of ['add', 'remove', 'metaData', 'protocol', 'txn']) {
			const a = parseAction(k, r[k], v);
			if (a) out.push(a);
		}
	return out;
}

function dvId(dv) {
	if (!dv) return '';
	return dv.storageType + dv.pathOrInlineDv + (dv.offset !== null && dv.offset !== undefined ? '@' + dv.offset : '');
}

function fileKey(a) {
	return decodeURIComponent(a.path) + '|' + dvId(a.deletionVector);
}

// Replay up to version `upto`, from checkpoint `cp` (or -1: JSON only).
async function replay(upto, cp) {
	const files = new Map();
	let metaData = null, protocol = null;
	const apply = (a) => {
		if (a.kind === 'add') files.set(fileKey(a), a);
		else if (a.kind === 'remove') files.delete(fileKey(a));
		else if (a.kind === 'metaData') metaData = a;
		else if (a.kind === 'protocol') protocol = a;
	};
	if (cp >= 0) for (const a of await checkpointActions(cp)) apply(a);
	for (let v = cp + 1; v <= upto; v++) {
		if (!byVersion.has(v)) throw new Error(`commit ${v} missing`);
		for (const a of byVersion.get(v)) apply(a);
	}
	return { files, metaData, protocol };
}

const cp = checkpoints.filter((v) => v <= latest).pop() ?? -1;
const fromCp = await replay(latest, cp);
const fromJson = await replay(latest, -1);

// ---- files --------------------------------------------------------------------

{
	const ours = fs.readFileSync(dumpFile + '.files.json', 'utf8').split('\n').filter(Boolean)
		.map((l) => JSON.parse(l));
	const ourKeys = ours.map((f) => decodeURIComponent(f.path) + '|' + (f.dv ?? '')).sort();
	const keys = (m) => [...m.files.keys()].sort();
	const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
	let ok = same(ourKeys, keys(fromCp)) && same(keys(fromCp), keys(fromJson));
	let detail = `${ourKeys.length} active files at version ${latest}` +
		(cp >= 0 ? `, checkpoint ${cp}` : ', no checkpoint');
	if (!ok) detail += ` — ours ${JSON.stringify(ourKeys)} checkpoint replay ${JSON.stringify(keys(fromCp))} JSON replay ${JSON.stringify(keys(fromJson))}`;
	if (cp >= 0) {
		const a = await replay(cp, cp), b = await replay(cp, -1);
		const sameCp = same(keys(a), keys(b)) &&
			a.metaData.schemaString === b.metaData.schemaString && a.metaData.id === b.metaData.id &&
			same(a.metaData.partitionColumns, b.metaData.partitionColumns) &&
			same(a.metaData.configuration, b.metaData.configuration) &&
			a.protocol.minReaderVersion === b.protocol.minReaderVersion &&
			a.protocol.minWriterVersion === b.protocol.minWriterVersion &&
			same(a.protocol.writerFeatures ?? null, b.protocol.writerFeatures ?? null) &&
			same(a.protocol.readerFeatures ?? null, b.protocol.readerFeatures ?? null);
		// the checkpoint's stats/sizes/DVs equal the JSON log's
		let sameAdds = true;
		for (const [k, x] of a.files) {
			const y = b.files.get(k);
			if (!y || x.size !== y.size || x.stats !== y.stats ||
				JSON.stringify(x.partitionValues) !== JSON.stringify(y.partitionValues) ||
				(x.deletionVector?.cardinality ?? 0) !== (y.deletionVector?.cardinality ?? 0))
				sameAdds = false;
		}
		if (!sameCp || !sameAdds) {
			ok = false;
			detail += ` — checkpoint ${cp} differs from the JSON log at that version` +
				(sameAdds ? '' : ' (add fields)');
		}
	}
	report('files', ok, detail);
}

// ---- rows ---------------------------------------------------------------------

const meta = fromCp.metaData;
const schema = JSON.parse(meta.schemaString);
const partCols = meta.partitionColumns;
const ourTypes = new Map((await db.objects(`DESCRIBE SELECT * FROM read_parquet(${sqlString(dumpFile)})`))
	.map((r) => [r.column_name, r.column_type]));
const colNames = schema.fields.map((f) => f.name);

let tmpN = 0;
// A temp table of the rows of `files` (a Map of adds), columns in table
// order plus __card (the DV cardinality of the row's file).
async function rowsTable(files, tag) {
	const name = `rows_${tag}_${tmpN++}`;
	const list = [...files.values()];
	const pcols = partCols.map((c, i) => `pv${i} VARCHAR`).join(', ');
	await db.run(`CREATE TEMP TABLE f_${name} (fname VARCHAR, card BIGINT${pcols ? ', ' + pcols : ''})`);
	for (const a of list) {
		const vals = [sqlString(path.join(tableDir, decodeURIComponent(a.path))),
			String(a.deletionVector?.cardinality ?? 0),
			...partCols.map((c) => (a.partitionValues?.[c] ?? null) === null ? 'NULL' : sqlString(a.partitionValues[c]))];
		await db.run(`INSERT INTO f_${name} VALUES (${vals.join(', ')})`);
	}
	const sel = colNames.map((c) => {
		const pi = partCols.indexOf(c);
		return pi >= 0 ? `CAST(f.pv${pi} AS ${ourTypes.get(c)}) AS ${qi(c)}` : `t.${qi(c)}`;
	}).join(', ');
	if (list.length === 0) {
		await db.run(`CREATE TEMP TABLE ${name} AS SELECT *, 0::BIGINT AS __card FROM read_parquet(${sqlString(dumpFile)}) LIMIT 0`);
	} else {
		const paths = list.map((a) => sqlString(path.join(tableDir, decodeURIComponent(a.path)))).join(', ');
		await db.run(`CREATE TEMP TABLE ${name} AS SELECT ${sel}, f.card AS __card
			FROM read_parquet([${paths}], union_by_name = true, filename = true) t
			JOIN f_${name} f ON t.filename = f.fname`);
	}
	return name;
}

const cols = colNames.map(qi).join(', ');
const textCols = colNames.map((c) => `CAST(${qi(c)} AS VARCHAR)`).join(', ');
async function count(sql) {
	return Number((await db.all(`SELECT count(*) FROM (${sql})`))[0][0]);
}

{
	const theirs = await rowsTable(fromCp.files, 'now');
	const ours = `SELECT ${cols} FROM read_parquet(${sqlString(dumpFile)})`;
	const totalCard = [...fromCp.files.values()].reduce((s, a) => s + (a.deletionVector?.cardinality ?? 0), 0);
	if (totalCard === 0) {
		const r = await compareQuery(ours, `SELECT ${cols} FROM ${theirs}`, db);
		report('rows', r.equal, r.equal ? `${r.countA} rows equal` : JSON.stringify(r));
	} else {
		const oursText = `SELECT ${textCols} FROM read_parquet(${sqlString(dumpFile)})`;
		const nOurs = await count(ours);
		const nTheirs = await count(`SELECT * FROM ${theirs}`);
		const r = {
			oursMinusTheirs: await count(`${ours} EXCEPT ALL SELECT ${cols} FROM ${theirs}`),
			noDvMinusOurs: await count(`SELECT ${cols} FROM ${theirs} WHERE __card = 0 EXCEPT ALL ${ours}`),
			textOursMinusTheirs: await count(`${oursText} EXCEPT ALL SELECT ${textCols} FROM ${theirs}`),
			textNoDvMinusOurs: await count(`SELECT ${textCols} FROM ${theirs} WHERE __card = 0 EXCEPT ALL ${oursText}`),
			nOurs, nTheirs, totalCard,
		};
		const ok = r.oursMinusTheirs === 0 && r.noDvMinusOurs === 0 && r.textOursMinusTheirs === 0 &&
			r.textNoDvMinusOurs === 0 && nOurs === nTheirs - totalCard;
		report('rows', ok, ok ? `${nOurs} rows = ${nTheirs} in the active files − ${totalCard} deleted by DVs` : JSON.stringify(r));
	}
}

// ---- stats ---------------------------------------------------------------------

{
	let nfiles = 0, nchecks = 0;
	const bad = [];
	for (const a of fromCp.files.values()) {
		if (!a.stats) continue;
		nfiles++;
		const st = parseRaw(a.stats);
		const file = path.join(tableDir, decodeURIComponent(a.path));
		const leaves = [];
		const walk = (o, prefix, kind) => {
			for (const [k, v] of Object.entries(o ?? {})) {
				const p = [...prefix, k];
				if (v !== null && typeof v === 'object' && !('raw' in v)) walk(v, p, kind);
				else leaves.push({ p, kind, v });
			}
		};
		walk(st.minValues, [], 'min');
		walk(st.maxValues, [], 'max');
		walk(st.nullCount, [], 'nulls');
		const ref = (p) => p.map(qi).join('.');
		const types = leaves.length
			? (await db.all(`SELECT ${leaves.map((l) => `typeof(${ref(l.p)})`).join(', ')} FROM read_parquet(${sqlString(file)}) LIMIT 1`))[0]
			: [];
		const exprs = ['count(*)'];
		leaves.forEach((l, i) => {
			const lit = typeof l.v === 'string' ? sqlString(l.v) : sqlString(l.v.raw);
			if (l.kind === 'min') exprs.push(`count(*) FILTER (WHERE ${ref(l.p)} < CAST(${lit} AS ${types[i]}))`);
			else if (l.kind === 'max') exprs.push(`count(*) FILTER (WHERE ${ref(l.p)} > CAST(${lit} AS ${types[i]}))`);
			else exprs.push(`count(*) - count(${ref(l.p)})`);
		});
		const res = (await db.all(`SELECT ${exprs.join(', ')} FROM read_parquet(${sqlString(file)})`))[0].map(Number);
		if (res[0] !== Number(st.numRecords.raw))
			bad.push(`${a.path}: numRecords ${st.numRecords.raw}, DuckDB counts ${res[0]}`);
		leaves.forEach((l, i) => {
			nchecks++;
			const got = res[i + 1];
			if (l.kind === 'nulls' ? got !== Number(l.v.raw) : got !== 0)
				bad.push(`${a.path}: ${l.kind} ${l.p.join('.')}=${JSON.stringify(l.v)}: ${got}`);
		});
	}
	report('stats', bad.length === 0,
		bad.length ? bad.slice(0, 5).join('; ') : `${nchecks} bounds and null counts of ${nfiles} files hold`);
}

// ---- change data feed ------------------------------------------------------------

{
	const cdcVersions = [...byVersion.keys()].filter((v) => byVersion.get(v).some((a) => a.kind === 'cdc')).sort((a, b) => a - b);
	if (cdcVersions.length) {
		const bad = [];
		let nrows = 0, checked = 0, vacuumed = 0;
		const exists = (a) => fs.existsSync(path.join(tableDir, decodeURIComponent(a.path)));
		for (const v of cdcVersions) {
			const b = (await replay(v - 1, -1)).files, f = (await replay(v, -1)).files;
			const cdcFiles = new Map(byVersion.get(v).filter((a) => a.kind === 'cdc').map((a) => [a.path, a]));
			if (![...b.values(), ...f.values(), ...cdcFiles.values()].every(exists)) {
				vacuumed++;   /* time travel to before a VACUUM: files are gone */
				continue;
			}
			checked++;
			const before = await rowsTable(b, `b${v}`);
			const after = await rowsTable(f, `a${v}`);
			// cdc files: same shape as data files plus _change_type
			const name = `cdc_${v}`;
			const pcols = partCols.map((c, i) => `, pv${i} VARCHAR`).join('');
			await db.run(`CREATE TEMP TABLE f_${name} (fname VARCHAR${pcols})`);
			for (const a of cdcFiles.values()) {
				const vals = [sqlString(path.join(tableDir, decodeURIComponent(a.path))),
					...partCols.map((c) => (a.partitionValues?.[c] ?? null) === null ? 'NULL' : sqlString(a.partitionValues[c]))];
				await db.run(`INSERT INTO f_${name} VALUES (${vals.join(', ')})`);
			}
			const sel = colNames.map((c) => {
				const pi = partCols.indexOf(c);
				return pi >= 0 ? `CAST(f.pv${pi} AS ${ourTypes.get(c)}) AS ${qi(c)}` : `t.${qi(c)}`;
			}).join(', ');
			const paths = [...cdcFiles.values()].map((a) => sqlString(path.join(tableDir, decodeURIComponent(a.path)))).join(', ');
			await db.run(`CREATE TEMP TABLE ${name} AS SELECT ${sel}, t._change_type
				FROM read_parquet([${paths}], union_by_name = true, filename = true) t
				JOIN f_${name} f ON t.filename = f.fname`);
			nrows += await count(`SELECT * FROM ${name}`);
			const gone = `SELECT ${cols} FROM ${before} EXCEPT ALL SELECT ${cols} FROM ${after}`;
			const added = `SELECT ${cols} FROM ${after} EXCEPT ALL SELECT ${cols} FROM ${before}`;
			const del = await compareQuery(`SELECT ${cols} FROM ${name} WHERE _change_type = 'delete'`, gone, db);
			const ins = await compareQuery(`SELECT ${cols} FROM ${name} WHERE _change_type = 'insert'`, added, db);
			if (!del.equal) bad.push(`version ${v} deletes ${JSON.stringify(del)}`);
			if (!ins.equal) bad.push(`version ${v} inserts ${JSON.stringify(ins)}`);
		}
		if (checked === 0)
			console.log(`SKIP delta-write/${label}/cdf: the files of all ${vacuumed} versions with cdc files were vacuumed`);
		else
			report('cdf', bad.length === 0, bad.length ? bad.join('; ') :
				`${checked} versions with cdc files (${nrows} change rows) match the row differences` +
				(vacuumed ? `, ${vacuumed} skipped (vacuumed)` : ''));
	}
}

db.close();
process.exit(failed ? 1 : 0);
