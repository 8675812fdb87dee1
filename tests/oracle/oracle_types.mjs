// oracle_types.mjs — a deterministic DuckDB table with a column of every
// logical type lakesync must carry through Parquet, for the conformance
// tests (copy_conformance.mjs, parquet_cli.sh) and anything else that needs
// "all the types".
//
// Values come from hash(i, k) (deterministic), with ~10% NULLs per column,
// edge values at fixed rows (integer extremes, NaN/±Inf/-0.0, BC and far
// future dates, empty strings/lists/maps, null list elements), and a few
// thousand rows so DuckDB writes several row groups.

const H = (k) => `hash(i, ${k})`;
// NULL in ~10% of rows (chosen per column), expr otherwise
const nul = (k, expr) => `CASE WHEN ${H(k)} % 10 = 0 THEN NULL ELSE ${expr} END`;

export const MATRIX_COLUMNS = [
	['id', 'i::BIGINT'],
	['b', nul(1, `${H(101)} % 2 = 0`)],
	['i8', nul(2, `((${H(102)} % 256)::INTEGER - 128)::TINYINT`)],
	['i16', nul(3, `((${H(103)} % 65536)::INTEGER - 32768)::SMALLINT`)],
	['i32', nul(4, `((${H(104)} % 4294967296)::BIGINT - 2147483648)::INTEGER`)],
	['i64', nul(5, `(CASE i % 997 WHEN 1 THEN -9223372036854775808 WHEN 2 THEN 9223372036854775807
		ELSE (${H(105)} >> 1)::BIGINT * (CASE WHEN ${H(205)} % 2 = 0 THEN 1 ELSE -1 END) END)::BIGINT`)],
	['u8', nul(6, `(${H(106)} % 256)::UTINYINT`)],
	['u16', nul(7, `(${H(107)} % 65536)::USMALLINT`)],
	['u32', nul(8, `(${H(108)} % 4294967296)::UINTEGER`)],
	['u64', nul(9, `(CASE i % 997 WHEN 1 THEN 18446744073709551615 ELSE ${H(109)} END)::UBIGINT`)],
	['f32', nul(10, `(CASE i % 499 WHEN 1 THEN 'nan'::FLOAT WHEN 2 THEN 'inf'::FLOAT
		WHEN 3 THEN '-inf'::FLOAT WHEN 4 THEN '-0.0'::FLOAT WHEN 5 THEN 3.4028235e38::FLOAT
		ELSE ((${H(110)} % 2000001)::DOUBLE - 1000000) / 7 END)::FLOAT`)],
	['f64', nul(11, `(CASE i % 499 WHEN 1 THEN 'nan'::DOUBLE WHEN 2 THEN 'inf'::DOUBLE
		WHEN 3 THEN '-inf'::DOUBLE WHEN 4 THEN '-0.0'::DOUBLE WHEN 5 THEN 5e-324::DOUBLE
		WHEN 6 THEN 1.7976931348623157e308::DOUBLE
		ELSE ((${H(111)} % 2000000001)::DOUBLE - 1e9) / 7.3 * pow(10, (${H(211)} % 40)::INTEGER - 20) END)::DOUBLE`)],
	['d4_2', nul(12, `(((${H(112)} % 19999)::BIGINT - 9999) * 0.01)::DECIMAL(4,2)`)],
	['d18_6', nul(13, `(((${H(113)} % 1999999999999999999)::BIGINT - 999999999999999999) * 0.000001)::DECIMAL(18,6)`)],
	['d38_10', nul(14, `CAST(CASE i % 997 WHEN 3 THEN '9999999999999999999999999999.9999999999'
		WHEN 4 THEN '-9999999999999999999999999999.9999999999'
		ELSE concat(CASE WHEN ${H(214)} % 2 = 0 THEN '-' ELSE '' END,
			(${H(114)} % 10000000000000000000)::VARCHAR,
			lpad((${H(314)} % 1000000000)::VARCHAR, 9, '0'), '.',
			lpad((${H(414)} % 10000000000)::VARCHAR, 10, '0')) END AS DECIMAL(38,10))`)],
	['s_short', nul(15, `'s' || (${H(115)} % 1000)::VARCHAR`)],
	['s_long', nul(16, `repeat(chr(97 + (${H(116)} % 26)::INTEGER), 100 + (${H(216)} % 400)::INTEGER) || i::VARCHAR`)],
	['s_uni', nul(17, `CASE i % 5 WHEN 0 THEN '' WHEN 1 THEN 'héllo wörld ✓'
		WHEN 2 THEN '日本語テキスト ' || i::VARCHAR WHEN 3 THEN '𝄞 emoji 😀 ' || i::VARCHAR
		ELSE 'ascii ' || i::VARCHAR END`)],
	['s_esc', nul(18, `CASE i % 6 WHEN 0 THEN 'a,b"c' WHEN 1 THEN 'line1' || chr(10) || 'line2' || chr(13)
		WHEN 2 THEN 'tab' || chr(9) || 'ctl' || chr(1) || chr(31) || chr(127)
		WHEN 3 THEN 'back\\slash ''quote''' WHEN 4 THEN '' ELSE 'plain' END`)],
	['s_dict', nul(19, `['red', 'green', 'blue', 'cyan'][(${H(119)} % 4)::INTEGER + 1]`)],
	['bin', nul(20, `CASE i % 4 WHEN 0 THEN ''::BLOB ELSE ('\\x00\\xFF\\x10' || i::VARCHAR || '\\x00')::BLOB END`)],
	['d', nul(21, `CASE i % 997 WHEN 5 THEN DATE '0044-03-15 (BC)' WHEN 6 THEN DATE '12345-06-07'
		WHEN 7 THEN DATE '0001-01-01' WHEN 8 THEN DATE '9999-12-31' WHEN 9 THEN DATE '1969-12-31'
		ELSE DATE '1970-01-01' + ((${H(121)} % 200000)::INTEGER - 100000) END`)],
	['ts', nul(22, `make_timestamp(((${H(122)} % 20000000000000000)::BIGINT - 10000000000000000))`)],
	['tstz', nul(23, `make_timestamp(((${H(123)} % 20000000000000000)::BIGINT - 10000000000000000))::TIMESTAMPTZ`)],
	['ts_ms', nul(24, `make_timestamp(((${H(124)} % 20000000000000000)::BIGINT - 10000000000000000))::TIMESTAMP_MS`)],
	['ts_ns', nul(25, `make_timestamp_ns(((${H(125)} % 8000000000000000000)::BIGINT - 4000000000000000000))`)],
	['t', nul(26, `TIME '00:00:00' + to_microseconds((${H(126)} % 86400000000)::BIGINT)`)],
	['uuid', nul(27, `(lpad(to_hex(${H(127)}), 16, '0') || lpad(to_hex(${H(227)}), 16, '0'))::UUID`)],
	['j', nul(28, `json_object('k', i, 'v', [1, 2], 's', 'x' || i::VARCHAR)`)],
	['e', nul(29, `(['sad', 'ok', 'happy'][(${H(129)} % 3)::INTEGER + 1])::lakesync_mood`)],
	['l_int', `CASE WHEN ${H(30)} % 10 = 0 THEN NULL WHEN ${H(30)} % 10 = 1 THEN []::INTEGER[]
		ELSE list_transform(range((${H(130)} % 6)::BIGINT),
			x -> CASE WHEN (x + i) % 4 = 0 THEN NULL ELSE (x * i)::INTEGER END) END`],
	['l_str', `CASE WHEN ${H(31)} % 10 = 0 THEN NULL
		ELSE list_transform(range((${H(131)} % 4)::BIGINT),
			x -> CASE WHEN x = 1 THEN NULL WHEN x = 2 THEN '' ELSE 'e' || (x + i)::VARCHAR END) END`],
	['l_nested', `CASE WHEN ${H(32)} % 10 = 0 THEN NULL
		ELSE list_transform(range((${H(132)} % 4)::BIGINT),
			x -> CASE WHEN x = 2 THEN NULL
				ELSE list_transform(range((x + i) % 3), y -> CASE WHEN y = 1 AND i % 2 = 0 THEN NULL ELSE (y + x * i)::BIGINT END) END) END`],
	['st', `CASE WHEN ${H(33)} % 10 = 0 THEN NULL
		ELSE {'a': CASE WHEN i % 7 = 0 THEN NULL ELSE i::INTEGER END, 'b': 'v' || i::VARCHAR,
			'c': [i::DOUBLE / 3, NULL],
			'inner': {'x': i % 2 = 0, 'y': CASE WHEN i % 5 = 0 THEN NULL ELSE DATE '2000-01-01' + i::INTEGER END}} END`],
	['m_str', `CASE WHEN ${H(34)} % 10 = 0 THEN NULL
		ELSE map_from_entries(list_transform(range((${H(134)} % 4)::BIGINT),
			x -> {'k': 'k' || x::VARCHAR, 'v': CASE WHEN x = 1 THEN NULL ELSE (x * i)::BIGINT END})) END`],
	['m_int', `CASE WHEN ${H(35)} % 10 = 0 THEN NULL
		ELSE map_from_entries(list_transform(range((${H(135)} % 3)::BIGINT),
			x -> {'k': (x * 1000 + i)::INTEGER, 'v': [x::VARCHAR, NULL]})) END`],
	['l_struct', `CASE WHEN ${H(36)} % 10 = 0 THEN NULL
		ELSE list_transform(range((${H(136)} % 3)::BIGINT),
			x -> CASE WHEN x = 1 AND i % 3 = 0 THEN NULL ELSE {'p': (x + i)::INTEGER, 'q': 'q' || x::VARCHAR} END) END`],
];

// Types DuckDB writes that are outside Delta's set: each in its own file so
// one of them failing does not hide the others.
export const EXTRA_COLUMNS = [
	['interval', nul(40, `to_days((${H(140)} % 1000)::INTEGER) + to_microseconds(((${H(240)} % 86400000)::BIGINT) * 1000)
		+ to_months((${H(340)} % 30)::INTEGER)`)],
	['timetz', nul(41, `(TIME '00:00:00' + to_microseconds((${H(141)} % 86400000000)::BIGINT))::TIMETZ`)],
	['timestamp_s', nul(42, `make_timestamp(((${H(142)} % 2000000000)::BIGINT - 1000000000) * 1000000)::TIMESTAMP_S`)],
	['hugeint', nul(43, `(${H(143)}::HUGEINT * ${H(243)}::HUGEINT - 170141183460469231731687303715884105727 // 2)`)],
	// no NULL arrays: DuckDB writes a NULL INTEGER[3] as three level entries
	// repeating a list that is null (rep 0,1,1 with def 0), which Dremel
	// does not allow and lakesync's reader refuses
	['array_fixed', `[i::INTEGER, (i * 2)::INTEGER, CASE WHEN i % 3 = 0 THEN NULL ELSE i::INTEGER END]::INTEGER[3]`],
];

// Columns whose `lakesync parquet cat --format jsonl` text is checked
// against DuckDB's values: [DuckDB expression giving the value's text,
// how the expected JSON is made from it] — 'raw': the text itself (numbers,
// booleans), 'str': JSON.stringify(text), 'date': from the day number (JS
// Date, proleptic Gregorian). Formats per src/cli/format.h.
export const CAT_TEXT_COLUMNS = {
	id: [`CAST(id AS VARCHAR)`, 'raw'],
	b: [`CAST(b AS VARCHAR)`, 'raw'],
	i8: [`CAST(i8 AS VARCHAR)`, 'raw'],
	i16: [`CAST(i16 AS VARCHAR)`, 'raw'],
	i32: [`CAST(i32 AS VARCHAR)`, 'raw'],
	i64: [`CAST(i64 AS VARCHAR)`, 'raw'],
	u8: [`CAST(u8 AS VARCHAR)`, 'raw'],
	u16: [`CAST(u16 AS VARCHAR)`, 'raw'],
	u32: [`CAST(u32 AS VARCHAR)`, 'raw'],
	u64: [`CAST(u64 AS VARCHAR)`, 'raw'],
	d4_2: [`CAST(d4_2 AS VARCHAR)`, 'str'],
	d18_6: [`CAST(d18_6 AS VARCHAR)`, 'str'],
	d38_10: [`CAST(d38_10 AS VARCHAR)`, 'str'],
	s_short: [`s_short`, 'str'],
	s_long: [`s_long`, 'str'],
	s_uni: [`s_uni`, 'str'],
	s_esc: [`s_esc`, 'str'],
	s_dict: [`s_dict`, 'str'],
	uuid: [`CAST(uuid AS VARCHAR)`, 'str'],
	bin: [`to_base64(bin)`, 'str'],
	d: [`CAST(d - DATE '1970-01-01' AS VARCHAR)`, 'date'],
	ts: [`strftime(ts, '%Y-%m-%dT%H:%M:%S.%f')`, 'str'],
	tstz: [`strftime(tstz, '%Y-%m-%dT%H:%M:%S.%fZ')`, 'str'],
	ts_ms: [`strftime(ts_ms, '%Y-%m-%dT%H:%M:%S.%g')`, 'str'],
	ts_ns: [`strftime(ts_ns, '%Y-%m-%dT%H:%M:%S.%n')`, 'str'],
	t: [`strftime(DATE '2000-01-01' + t, '%H:%M:%S.%f')`, 'str'],
};

// ISO date text of a day number as src/cli/format.h prints it (astronomical
// years, at least 4 digits, '-' before negative years), computed with JS
// Date so that it does not share code with the C formatter.
export function isoDate(days) {
	const d = new Date(Number(days) * 86400000);
	const y = d.getUTCFullYear();
	const pad = (n, w) => String(n).padStart(w, '0');
	return (y < 0 ? '-' + pad(-y, 4) : pad(y, 4)) + '-' + pad(d.getUTCMonth() + 1, 2) + '-' +
		pad(d.getUTCDate(), 2);
}

// SQL that creates the table `name` with `rows` rows of MATRIX_COLUMNS.
export function matrixTableSql(name, rows, columns = MATRIX_COLUMNS) {
	const sel = columns.map(([n, e]) => `${e} AS "${n}"`).join(',\n  ');
	return [
		`CREATE TYPE IF NOT EXISTS lakesync_mood AS ENUM ('sad', 'ok', 'happy')`,
		`CREATE OR REPLACE TABLE ${name} AS SELECT\n  ${sel}\nFROM range(${rows}) t(i) ORDER BY i`,
	];
}

export const CODECS = ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4_raw', 'brotli'];

// COPY options for one matrix file.
export function copyOptions({ codec = 'zstd', version = 'V1', dictionary = true, rowGroupSize = 2048 } = {}) {
	const o = [`FORMAT parquet`, `COMPRESSION ${codec}`, `PARQUET_VERSION ${version}`,
		`ROW_GROUP_SIZE ${rowGroupSize}`];
	if (!dictionary) o.push('DICTIONARY_SIZE_LIMIT 0');
	return o.join(', ');
}
