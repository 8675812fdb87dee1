// bench/load_duckdb.mjs — the DuckDB half of bench/load.sh's third
// pipeline: read the Delta table's Parquet files with read_parquet and
// write them as CSV (which the script then loads with COPY … FROM … CSV).
//
//   node bench/load_duckdb.mjs TABLE_DIR OUT.csv
//
// Prints {"rows": N, "seconds": S} (S: the COPY … TO alone, in this
// process; the script times the whole process too).  The bench table has
// no deletion vectors and one version, so its Parquet files are exactly
// its rows.
import path from 'node:path';

import { openDb, readParquetSql, sqlString } from '../tests/oracle/oracle.mjs';

const [dir, out] = process.argv.slice(2);
if (!dir || !out) {
	console.error('usage: node bench/load_duckdb.mjs TABLE_DIR OUT.csv');
	process.exit(2);
}
const db = await openDb();            // TimeZone = UTC
const files = readParquetSql(path.join(dir, '*.parquet'));
const t0 = performance.now();
await db.run(`COPY (SELECT * FROM ${files}) TO ${sqlString(out)} (FORMAT csv, HEADER false)`);
const seconds = (performance.now() - t0) / 1000;
const rows = Number((await db.all(`SELECT count(*) FROM ${files}`))[0][0]);
console.log(JSON.stringify({ rows, seconds }));
db.close();
