/*
 * format.h — batch values as text: JSON lines and CSV (prefix `fmt_`).
 * Used by `lakesync parquet cat` and reusable by any command that prints
 * rows (`lakesync delta scan`).  Pure functions over lk_column/lk_batch:
 * they append to an lk_buf the caller owns; nothing is allocated besides
 * the buffer's growth.
 *
 * Value forms (JSON; CSV uses the same text, unquoted for scalars):
 *   boolean            true / false
 *   byte..long         JSON numbers, exact (unsigned 64-bit too)
 *   float, double      shortest text that reads back to the same value
 *                      ("0.1", "1e+300", "-0"); NaN / ±infinity as the
 *                      strings "NaN", "Infinity", "-Infinity"
 *   decimal(p,s)       string with exactly s digits after the point: "123.45"
 *   string             JSON string; valid UTF-8 is kept as is, control
 *                      characters, '"' and '\' are escaped, and each byte
 *                      that is not part of valid UTF-8 becomes U+FFFD
 *                      (CSV writes string bytes unchanged)
 *   binary             standard base64 with padding ("AAEC/w==")
 *   binary (uuid)      "123e4567-e89b-12d3-a456-426614174000"
 *   binary (interval)  {"months":M,"days":D,"millis":MS}
 *   date               "YYYY-MM-DD", proleptic Gregorian, astronomical
 *                      years (year 0 = 1 BC, "-0044-03-15"; "10000-01-01")
 *   timestamp          "YYYY-MM-DDTHH:MM:SS.fffZ" (millis), .ffffff
 *                      (micros), .fffffffff (nanos): always the unit's digits
 *   timestamp_ntz      the same without "Z"
 *   time               "HH:MM:SS" + the unit's fraction digits
 *   array              JSON array
 *   struct             JSON object, keys = field names
 *   map                array of {"key":k,"value":v} (keys of any type)
 *   null               null (JSON), empty field (CSV)
 * CSV: RFC 4180 — a header row of column names, fields separated by ',',
 * records ended by CRLF, a field quoted (with '"' doubled) when it holds
 * ',', '"', CR or LF; an empty string is written "" so it differs from
 * null; nested values as their JSON text.
 */
#ifndef LK_FORMAT_H
#define LK_FORMAT_H

#include <stdint.h>

#include "common/batch.h"
#include "common/buf.h"

/* Append the JSON text of row i of column c. */
void fmt_json_value(lk_buf *out, const lk_column *c, int64_t i);
/* Append row `row` of batch b as one JSON object and a "\n". */
void fmt_jsonl_row(lk_buf *out, const lk_batch *b, int64_t row);

/* Append the CSV header record for a schema (LK_T_STRUCT). */
void fmt_csv_header(lk_buf *out, const lk_type *schema);
/* Append row `row` of batch b as one CSV record. */
void fmt_csv_row(lk_buf *out, const lk_batch *b, int64_t row);

/* Scalar helpers (buf ≥ 64 bytes; return buf).  `unit` is lk_time_unit. */
char *fmt_double(double v, char *buf);
char *fmt_float(float v, char *buf);
char *fmt_date(int32_t days, char *buf);
char *fmt_timestamp(int64_t v, int unit, bool utc, char *buf);
char *fmt_time(int64_t v, int unit, char *buf);

#endif
