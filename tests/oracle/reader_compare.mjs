// reader_compare.mjs — our Parquet reader vs DuckDB's read_parquet, value by
// value, for every file of a directory.
//   node reader_compare.mjs <test_reader binary> <dir>...
// (every .parquet file below each dir, recursively; names are printed
// relative to the dir's parent)
// Our side: the reader/dump Criterion test writes canonical JSON lines
// (format documented in tests/unit/test_reader.c). DuckDB's rows are turned
// into the same canonical form here. Prints PASS/FAIL/SKIP lines; exits 1 if
// any FAIL.
import { DuckDBInstance, DuckDBTypeId as T } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [bin, ...dirs] = process.argv.slice(2);

function walk(d) {
  let out = [];
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out = out.concat(walk(p));
    else if (e.name.endsWith('.parquet')) out.push(p);
  }
  return out;
}

// Files our reader refuses on purpose (DuckDB reads them): name → reason
// regex our error must match.
const EXPECTED_ERRORS = {
  // deliberately wrong page CRCs: we verify CRCs, DuckDB ignores them
  'datapage_v1-corrupt-checksum.parquet': /checksum mismatch/,
  'rle-dict-uncompressed-corrupt-checksum.parquet': /checksum mismatch/,
};

function hexBytes(u8) {
  let s = '';
  for (const b of u8) s += b.toString(16).padStart(2, '0');
  return s;
}

function doubleBits(x) {
  if (Number.isNaN(x)) return 'NaN';
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, x);
  return 'd:' + dv.getBigUint64(0).toString(16).padStart(16, '0');
}

function decimalString(v, scale) {
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  if (scale > 0) {
    digits = digits.padStart(scale + 1, '0');
    digits = digits.slice(0, digits.length - scale) + '.' + digits.slice(digits.length - scale);
  }
  return (neg ? '-' : '') + digits;
}

function floorDiv(a, b) {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

function canon(v, t) {
  if (v === null || v === undefined) return null;
  switch (t.typeId) {
    case T.BOOLEAN: return !!v;
    case T.TINYINT: case T.SMALLINT: case T.INTEGER: case T.BIGINT:
    case T.UTINYINT: case T.USMALLINT: case T.UINTEGER: case T.UBIGINT:
    case T.HUGEINT: case T.UHUGEINT:
      return String(v);
    case T.FLOAT: case T.DOUBLE: return doubleBits(v);
    case T.DECIMAL: return decimalString(v.value, t.scale);
    case T.VARCHAR: return 's:' + String(v);
    case T.ENUM: return 's:' + String(v);
    case T.BLOB: return 'x:' + hexBytes(v.bytes);
    case T.UUID: return 'u:' + v.toString();
    case T.INTERVAL: return `i:${v.months},${v.days},${v.micros}`;
    case T.DATE: return 'D:' + v.days;
    case T.TIMESTAMP: case T.TIMESTAMP_TZ: return 'T:' + v.micros;
    case T.TIMESTAMP_MS: return 'T:' + (v.millis * 1000n);
    case T.TIMESTAMP_S: return 'T:' + (v.seconds * 1000000n);
    case T.TIMESTAMP_NS: return 'T:' + floorDiv(v.nanos, 1000n);
    case T.TIME: return 't:' + v.micros;
    case T.TIME_NS: return 't:' + floorDiv(v.nanos, 1000n);
    case T.LIST: case T.ARRAY: return v.items.map((x) => canon(x, t.valueType));
    case T.MAP: return v.entries.map((e) => [canon(e.key, t.keyType), canon(e.value, t.valueType)]);
    case T.STRUCT: {
      const o = {};
      t.entryNames.forEach((n, i) => { o[n] = canon(v.entries[n], t.entryTypes[i]); });
      return o;
    }
    default:
      // JSON and other aliases of VARCHAR
      if (typeof v === 'string') return 's:' + v;
      return 'unsupported:' + t.typeId + ':' + String(v);
  }
}

function runDump(env) {
  return spawnSync(bin, ['--filter', 'reader/dump'], {
    env: { ...process.env, ...env }, timeout: 600000, encoding: 'utf8',
  });
}

function parseDump(out, r) {
  const text = fs.existsSync(out) ? fs.readFileSync(out, 'utf8') : '';
  if (!text.endsWith('END\n')) {
    if (!r) return null;
    if (r.error) return { crash: `reader did not finish: ${r.error.message}` };
    return { crash: `reader exited ${r.status} signal ${r.signal}: ${(r.stdout + r.stderr).slice(-400)}` };
  }
  if (text.startsWith('ERROR ')) return { error: text.slice(6, text.indexOf('\n')).trim() };
  const lines = text.split('\n').filter((l) => l.length);
  lines.pop();
  return { header: JSON.parse(lines[0]), rows: lines.slice(1) };
}

// All files in one run of the dumper; any file whose dump was cut short
// (a crash takes the run down) is dumped again on its own.
function dumpAll(files, tmp) {
  const list = path.join(tmp, 'list.txt');
  const outs = files.map((_, i) => path.join(tmp, `out${i}.jsonl`));
  fs.writeFileSync(list, files.map(([f], i) => `${f}\t${outs[i]}\n`).join(''));
  runDump({ LAKESYNC_READER_DUMP_LIST: list });
  return files.map(([f], i) => {
    const got = parseDump(outs[i], null);
    if (got) return got;
    try { fs.unlinkSync(outs[i]); } catch {}
    const r = runDump({ LAKESYNC_READER_DUMP_IN: f, LAKESYNC_READER_DUMP_OUT: outs[i] });
    return parseDump(outs[i], r);
  });
}

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run('SET threads=1');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lk-reader-'));
let fails = 0;
const files = [];
for (const d of dirs)
  for (const p of walk(d).sort()) files.push([p, path.relative(path.dirname(d), p)]);
const dumps = dumpAll(files, tmp);
for (const [k, [file, f]] of files.entries()) {
  const us = dumps[k];
  if (us.crash) { console.log(`FAIL ${f}: ${us.crash}`); fails++; continue; }
  const expected = EXPECTED_ERRORS[path.basename(file)];
  if (expected) {
    if (us.error && expected.test(us.error)) console.log(`PASS ${f} (expected error: ${us.error})`);
    else { console.log(`FAIL ${f}: expected an error matching ${expected}, got ${us.error ?? 'rows'}`); fails++; }
    continue;
  }
  let duck;
  try {
    const esc = file.replace(/'/g, "''");
    const reader = await con.runAndReadAll(`SELECT * FROM read_parquet('${esc}', hive_partitioning = false)`);
    const types = reader.columnTypes();
    duck = {
      header: reader.columnNames(),
      rows: reader.getRows().map((row) => JSON.stringify(row.map((v, i) => canon(v, types[i])))),
    };
  } catch (e) {
    const msg = String(e.message).split('\n')[0];
    if (us.error) console.log(`SKIP ${f}: duckdb cannot read it (${msg}); ours: ${us.error}`);
    else console.log(`SKIP ${f}: duckdb cannot read it (${msg}); ours read ${us.rows.length} rows`);
    continue;
  }
  if (us.error) { console.log(`FAIL ${f}: our reader: ${us.error}`); fails++; continue; }
  if (JSON.stringify(us.header) !== JSON.stringify(duck.header)) {
    console.log(`FAIL ${f}: columns ${JSON.stringify(us.header)} vs duckdb ${JSON.stringify(duck.header)}`);
    fails++; continue;
  }
  if (us.rows.length !== duck.rows.length) {
    console.log(`FAIL ${f}: ${us.rows.length} rows vs duckdb ${duck.rows.length}`);
    fails++; continue;
  }
  let bad = -1;
  for (let i = 0; i < us.rows.length; i++) {
    // re-serialise ours so that both sides use JSON.stringify's escaping
    if (JSON.stringify(JSON.parse(us.rows[i])) !== duck.rows[i]) { bad = i; break; }
  }
  if (bad >= 0) {
    console.log(`FAIL ${f}: row ${bad} differs\n  ours:   ${us.rows[bad].slice(0, 600)}\n  duckdb: ${duck.rows[bad].slice(0, 600)}`);
    fails++; continue;
  }
  console.log(`PASS ${f} (${us.rows.length} rows)`);
}
fs.rmSync(tmp, { recursive: true, force: true });
process.exit(fails ? 1 : 0);
