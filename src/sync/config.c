/*
 * config.c — the configuration file of `lakesync run` / `lakesync status`
 * (see config.h for the format; docs/config.md for operators).
 *
 * Two passes: the lexer turns lines into sections, each with its entries
 * (key, value, line); the builder checks them against the known keys of
 * the section's kind and fills the sy_config_file.  Everything the result
 * points to lives in its arena; the lexer's scratch vectors are malloc'd
 * and freed before returning.
 *
 *   line     := ws* ( section | entry | comment | "" )
 *   section  := "[" name "]"           name: lakesync | pipeline.P |
 *                                      pipeline.P.table.TABLE | synced.S
 *   entry    := key ws* "=" ws* value  key: [a-z0-9_]+
 *   value    := '"' basic '"' | "'" literal "'" | "[" item ("," item)* "]"
 *               | bare
 *   comment  := ("#" | ";") …          at line start or after white space,
 *                                      outside quotes
 */
#include "sync/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "pg/conn.h"
#include "sync/capture.h"
#include "sync/table.h"

#define CONFIG_MAX_BYTES (1u << 20)

/* ---- lexer ------------------------------------------------------------------ */

typedef enum { SEC_LAKESYNC, SEC_PIPELINE, SEC_TABLE, SEC_SYNCED } sec_kind;

typedef struct entry {
	const char *key;
	bool is_list;               /* written as [a, b] */
	bool quoted;                /* a single quoted string */
	const char *value;          /* scalar: the value; list: unused */
	const char **items;         /* list items (and a bare comma list's) */
	int nitems;
	int line;
	bool used;
} entry;

typedef struct section {
	sec_kind kind;
	const char *name;           /* pipeline / synced name */
	const char *table;          /* SEC_TABLE: the table's SQL spelling */
	int line;
	entry *entries;
	int n, cap;
} section;

typedef struct parser {
	lk_arena *a;
	const char *path;
	lk_error *err;
	section *secs;
	int nsecs, cap;
} parser;

static bool
fail_at(parser *p, int line, lk_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool
fail_at(parser *p, int line, lk_error_code code, const char *fmt, ...)
{
	char msg[sizeof(p->err->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lk_error_set(p->err, code, "%s", msg);
	if (line > 0)
		return lk_error_where(p->err, "file \"%s\", line %d", p->path, line);
	return lk_error_where(p->err, "file \"%s\"", p->path);
}

static bool
is_key_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

static bool
is_name_char(int c)
{
	return is_key_char(c) || (c >= 'A' && c <= 'Z') || c == '-';
}

/* Parse a "basic" (escapes) or 'literal' string starting at s[*i] (the
 * quote).  On success *i is past the closing quote and *out is the value
 * in the arena. */
static bool
parse_quoted(parser *p, int line, const char *s, size_t len, size_t *i, char **out)
{
	char q = s[*i];
	lk_buf b = LK_BUF_INIT;
	size_t j = *i + 1;
	for (; j < len && s[j] != q; j++) {
		if (q == '"' && s[j] == '\\') {
			if (j + 1 >= len)
				break;
			char c = s[++j];
			switch (c) {
			case '"': lk_buf_append_byte(&b, '"'); break;
			case '\\': lk_buf_append_byte(&b, '\\'); break;
			case 'n': lk_buf_append_byte(&b, '\n'); break;
			case 't': lk_buf_append_byte(&b, '\t'); break;
			default:
				lk_buf_free(&b);
				return fail_at(p, line, LK_ERR_INVALID,
							   "invalid escape \"\\%c\" in a quoted value", c);
			}
			continue;
		}
		lk_buf_append_byte(&b, (uint8_t) s[j]);
	}
	if (j >= len) {
		lk_buf_free(&b);
		return fail_at(p, line, LK_ERR_INVALID, "unterminated quoted value");
	}
	*out = lk_arena_strndup(p->a, b.data ? (const char *) b.data : "", b.len);
	lk_buf_free(&b);
	*i = j + 1;
	return true;
}

static const char *
trimmed(parser *p, const char *s, size_t n)
{
	while (n && isspace((unsigned char) *s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char) s[n - 1]))
		n--;
	return lk_arena_strndup(p->a, s, n);
}

/* Split bare text on commas outside double quotes (SQL identifiers may be
 * quoted and hold commas); items trimmed; an empty item is an error. */
static bool
split_bare(parser *p, int line, const char *s, entry *e)
{
	size_t n = strlen(s);
	int cap = 4;
	e->items = lk_arena_alloc(p->a, sizeof(char *) * (size_t) cap);
	e->nitems = 0;
	size_t start = 0;
	bool inq = false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] == '"')
			inq = !inq;
		if (i == n || (s[i] == ',' && !inq)) {
			const char *item = trimmed(p, s + start, i - start);
			if (!*item)
				return fail_at(p, line, LK_ERR_INVALID, "empty item in the list of \"%s\"",
							   e->key);
			if (e->nitems == cap) {
				const char **bigger = lk_arena_alloc(p->a, sizeof(char *) * (size_t) cap * 2);
				memcpy(bigger, e->items, sizeof(char *) * (size_t) cap);
				e->items = bigger;
				cap *= 2;
			}
			e->items[e->nitems++] = item;
			start = i + 1;
		}
	}
	return true;
}

/* Value text (comment already removed, trimmed, non-empty) into e. */
static bool
parse_value(parser *p, int line, const char *v, entry *e)
{
	size_t len = strlen(v);
	if (v[0] == '[') {
		if (v[len - 1] != ']')
			return fail_at(p, line, LK_ERR_INVALID, "a list must end with \"]\" on the "
						   "same line");
		e->is_list = true;
		int cap = 4;
		e->items = lk_arena_alloc(p->a, sizeof(char *) * (size_t) cap);
		size_t i = 1, end = len - 1;
		for (;;) {
			while (i < end && isspace((unsigned char) v[i]))
				i++;
			if (i >= end) {
				if (e->nitems == 0)
					break;          /* [] */
				return fail_at(p, line, LK_ERR_INVALID, "empty item in the list of \"%s\"",
							   e->key);
			}
			char *item;
			if (v[i] == '"' || v[i] == '\'') {
				if (!parse_quoted(p, line, v, end, &i, &item))
					return false;
				while (i < end && isspace((unsigned char) v[i]))
					i++;
				if (i < end && v[i] != ',')
					return fail_at(p, line, LK_ERR_INVALID, "expected \",\" or \"]\" after "
								   "a quoted list item");
			} else {
				size_t s = i;
				while (i < end && v[i] != ',')
					i++;
				item = (char *) trimmed(p, v + s, i - s);
				if (!*item)
					return fail_at(p, line, LK_ERR_INVALID, "empty item in the list of "
								   "\"%s\"", e->key);
			}
			if (e->nitems == cap) {
				const char **bigger = lk_arena_alloc(p->a, sizeof(char *) * (size_t) cap * 2);
				memcpy(bigger, e->items, sizeof(char *) * (size_t) cap);
				e->items = bigger;
				cap *= 2;
			}
			e->items[e->nitems++] = item;
			if (i >= end)
				break;
			i++;                    /* the comma */
		}
		return true;
	}
	if (v[0] == '"' || v[0] == '\'') {
		/* a quoted string only when its closing quote ends the value:
		 * "Public"."Orders" or "A", "B" are bare text (SQL names) */
		size_t i = 0;
		char *s = NULL;
		lk_error saved = *p->err;
		bool ok = parse_quoted(p, line, v, len, &i, &s);
		if (ok && i == len) {
			e->quoted = true;
			e->value = s;
			return true;
		}
		if (!ok)
			return false;           /* unterminated, or a bad escape */
		if (v[0] == '\'')
			return fail_at(p, line, LK_ERR_INVALID, "unexpected text after a quoted value");
		size_t quotes = 0;
		for (size_t k = 0; k < len; k++)
			quotes += v[k] == '"';
		if (quotes % 2)
			return fail_at(p, line, LK_ERR_INVALID, "unterminated quoted value");
		*p->err = saved;
	}
	e->value = v;
	return true;
}

static section *
add_section(parser *p, sec_kind kind, const char *name, const char *table, int line)
{
	if (p->nsecs == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->secs = lk_xrealloc(p->secs, sizeof(section) * (size_t) p->cap);
	}
	section *s = &p->secs[p->nsecs++];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->name = name;
	s->table = table;
	s->line = line;
	return s;
}

static const char *
sec_title(parser *p, const section *s)
{
	switch (s->kind) {
	case SEC_LAKESYNC: return "[lakesync]";
	case SEC_PIPELINE: return lk_arena_sprintf(p->a, "[pipeline.%s]", s->name);
	case SEC_TABLE:
		return lk_arena_sprintf(p->a, "[pipeline.%s.table.%s]", s->name, s->table);
	case SEC_SYNCED: return lk_arena_sprintf(p->a, "[synced.%s]", s->name);
	}
	return "[?]";
}

/* "[...]" line (trimmed, comment removed). */
static bool
parse_header(parser *p, int line, const char *l)
{
	size_t n = strlen(l);
	if (n < 2 || l[n - 1] != ']')
		return fail_at(p, line, LK_ERR_INVALID, "a section header must end with \"]\"");
	const char *h = trimmed(p, l + 1, n - 2);
	const char *rest;
	sec_kind kind;
	if (!strcmp(h, "lakesync")) {
		kind = SEC_LAKESYNC;
		rest = NULL;
	} else if (!strncmp(h, "pipeline.", 9)) {
		kind = SEC_PIPELINE;
		rest = h + 9;
	} else if (!strncmp(h, "synced.", 7)) {
		kind = SEC_SYNCED;
		rest = h + 7;
	} else {
		return fail_at(p, line, LK_ERR_INVALID, "unknown section [%s] (expected "
					   "[lakesync], [pipeline.NAME], [pipeline.NAME.table.SCHEMA.TABLE] "
					   "or [synced.NAME])", h);
	}
	const char *name = NULL, *table = NULL;
	if (rest) {
		size_t k = 0;
		while (rest[k] && is_name_char((unsigned char) rest[k]))
			k++;
		if (k == 0)
			return fail_at(p, line, LK_ERR_INVALID, "section [%s] needs a name "
						   "(letters, digits, '_' and '-')", h);
		name = lk_arena_strndup(p->a, rest, k);
		if (rest[k] == '\0') {
			/* [pipeline.NAME] or [synced.NAME] */
		} else if (kind == SEC_PIPELINE && !strncmp(rest + k, ".table.", 7)) {
			kind = SEC_TABLE;
			table = trimmed(p, rest + k + 7, strlen(rest + k + 7));
			if (!*table)
				return fail_at(p, line, LK_ERR_INVALID, "section [%s] names no table", h);
		} else {
			return fail_at(p, line, LK_ERR_INVALID, "unexpected \"%s\" in section [%s] "
						   "(names are letters, digits, '_' and '-')", rest + k, h);
		}
	}
	for (int i = 0; i < p->nsecs; i++) {
		section *o = &p->secs[i];
		if (o->kind == kind && (!name || !strcmp(o->name, name)) &&
			(!table || !strcmp(o->table, table)))
			return fail_at(p, line, LK_ERR_INVALID, "section [%s] is repeated (first at "
						   "line %d)", h, o->line);
	}
	add_section(p, kind, name, table, line);
	return true;
}

static bool
parse_entry(parser *p, int line, const char *l)
{
	if (p->nsecs == 0)
		return fail_at(p, line, LK_ERR_INVALID, "a setting before any section (start with "
					   "[pipeline.NAME] or [synced.NAME])");
	section *s = &p->secs[p->nsecs - 1];
	size_t k = 0;
	while (is_key_char((unsigned char) l[k]))
		k++;
	size_t eq = k;
	while (l[eq] == ' ' || l[eq] == '\t')
		eq++;
	if (k == 0 || l[eq] != '=')
		return fail_at(p, line, LK_ERR_INVALID, "expected \"key = value\" or a "
					   "[section] (keys are lower case letters, digits and '_')");
	const char *key = lk_arena_strndup(p->a, l, k);
	const char *v = trimmed(p, l + eq + 1, strlen(l + eq + 1));
	if (!*v)
		return fail_at(p, line, LK_ERR_INVALID, "\"%s\" has no value", key);
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->entries[i].key, key))
			return fail_at(p, line, LK_ERR_INVALID, "\"%s\" is set twice in %s (first at "
						   "line %d)", key, sec_title(p, s), s->entries[i].line);
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 8;
		s->entries = lk_xrealloc(s->entries, sizeof(entry) * (size_t) s->cap);
	}
	entry *e = &s->entries[s->n];
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->line = line;
	if (!parse_value(p, line, v, e))
		return false;
	s->n++;
	return true;
}

/* Remove a comment: '#' or ';' at the start or after white space, outside
 * quotes.  Returns the line without it (arena copy). */
static char *
strip_comment(parser *p, const char *l, size_t n)
{
	char q = 0;
	for (size_t i = 0; i < n; i++) {
		char c = l[i];
		if (q) {
			if (q == '"' && c == '\\' && i + 1 < n)
				i++;
			else if (c == q)
				q = 0;
			continue;
		}
		if (c == '"' || c == '\'') {
			q = c;
			continue;
		}
		if ((c == '#' || c == ';') && (i == 0 || l[i - 1] == ' ' || l[i - 1] == '\t'))
			return lk_arena_strndup(p->a, l, i);
	}
	return lk_arena_strndup(p->a, l, n);
}

static bool
lex(parser *p, const char *text, size_t len)
{
	int line = 0;
	size_t pos = 0;
	while (pos < len) {
		line++;
		size_t e = pos;
		while (e < len && text[e] != '\n')
			e++;
		size_t n = e - pos;
		if (n && text[pos + n - 1] == '\r')
			n--;
		if (memchr(text + pos, '\0', n))
			return fail_at(p, line, LK_ERR_INVALID, "the file holds a NUL byte");
		char *l = strip_comment(p, text + pos, n);
		const char *t = trimmed(p, l, strlen(l));
		pos = e + 1;
		if (!*t)
			continue;
		if (t[0] == '[') {
			if (!parse_header(p, line, t))
				return false;
		} else if (!parse_entry(p, line, t)) {
			return false;
		}
	}
	return true;
}

/* ---- builder ---------------------------------------------------------------- */

/* The entry `key` of s, or its `key_env` form resolved from the
 * environment; NULL when neither is set.  Marks it used. */
static entry *
get(parser *p, section *s, const char *key, bool *failed)
{
	entry *plain = NULL, *env = NULL;
	size_t kl = strlen(key);
	for (int i = 0; i < s->n; i++) {
		entry *e = &s->entries[i];
		if (!strcmp(e->key, key))
			plain = e;
		else if (!strncmp(e->key, key, kl) && !strcmp(e->key + kl, "_env"))
			env = e;
	}
	if (plain && env) {
		*failed = true;
		fail_at(p, env->line, LK_ERR_INVALID, "both \"%s\" (line %d) and \"%s_env\" are set "
				"in %s", key, plain->line, key, sec_title(p, s));
		return NULL;
	}
	if (plain) {
		plain->used = true;
		return plain;
	}
	if (!env)
		return NULL;
	env->used = true;
	if (env->is_list || !env->value || strchr(env->value, ',')) {
		*failed = true;
		fail_at(p, env->line, LK_ERR_INVALID, "\"%s_env\" takes the name of one environment "
				"variable", key);
		return NULL;
	}
	const char *val = getenv(env->value);
	if (!val || !*val) {
		*failed = true;
		fail_at(p, env->line, LK_ERR_INVALID, "environment variable %s (from \"%s_env\") is "
				"not set", env->value, key);
		return NULL;
	}
	/* a resolved copy: the value is taken as is (one string; a list key
	 * splits it on commas like bare text) */
	entry *r = lk_arena_zalloc(p->a, sizeof(entry));
	r->key = env->key;
	r->line = env->line;
	r->used = true;
	r->value = lk_arena_strdup(p->a, val);
	return r;
}

/* A single string value. */
static bool
get_str(parser *p, section *s, const char *key, const char **out)
{
	bool failed = false;
	entry *e = get(p, s, key, &failed);
	if (failed)
		return false;
	if (!e)
		return true;
	if (e->is_list)
		return fail_at(p, e->line, LK_ERR_INVALID, "\"%s\" takes one value, not a list", key);
	*out = e->value;
	return true;
}

static bool
get_list(parser *p, section *s, const char *key, const char ***out, int *n)
{
	bool failed = false;
	entry *e = get(p, s, key, &failed);
	if (failed)
		return false;
	if (!e)
		return true;
	if (!e->is_list) {
		if (e->quoted) {
			e->items = lk_arena_alloc(p->a, sizeof(char *));
			e->items[0] = e->value;
			e->nitems = 1;
		} else if (!split_bare(p, e->line, e->value, e)) {
			return false;
		}
	}
	*out = e->items;
	*n = e->nitems;
	return true;
}

static bool
parse_int_range(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return false;
	*out = x;
	return true;
}

static bool
get_int(parser *p, section *s, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const char *v = NULL;
	if (!get_str(p, s, key, &v))
		return false;
	if (!v)
		return true;
	if (!parse_int_range(v, lo, hi, out)) {
		bool failed = false;
		entry *e = get(p, s, key, &failed);
		return fail_at(p, e ? e->line : s->line, LK_ERR_INVALID, "invalid %s \"%s\" (an "
					   "integer from %lld to %lld)", key, v, (long long) lo, (long long) hi);
	}
	return true;
}

bool
sy_config_parse_size(const char *s, int64_t *out)
{
	if (!s)
		return false;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return false;
	int64_t mul = 1;
	if (*end == 'k' || *end == 'K')
		mul = 1024;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024;
	else if (*end == 'g' || *end == 'G')
		mul = INT64_C(1024) * 1024 * 1024;
	else if (*end == 'B' && !end[1])
		end++;
	else if (*end)
		return false;
	if (mul > 1 && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
		return false;
	if (v > INT64_MAX / mul)
		return false;
	*out = v * mul;
	return true;
}

/* Every entry was consumed by the builder: report the first one that
 * was not (an unknown key). */
static bool
check_unused(parser *p, section *s, const char *known)
{
	for (int i = 0; i < s->n; i++)
		if (!s->entries[i].used)
			return fail_at(p, s->entries[i].line, LK_ERR_INVALID, "unknown key \"%s\" in %s "
						   "(known: %s)", s->entries[i].key, sec_title(p, s), known);
	return true;
}

static bool
valid_table_mode(const char *m)
{
	return !strcmp(m, "history") || !strcmp(m, "mirror");
}

/* Canonical "schema.table" of an SQL spelling (for duplicate checks). */
static bool
canon_table(parser *p, int line, const char *name, const char **out,
			pgc_table_name *tn)
{
	lk_error e;
	lk_error_clear(&e);
	if (!pgc_table_name_parse(name, p->a, tn, &e))
		return fail_at(p, line, LK_ERR_INVALID, "invalid table name \"%s\": %s", name, e.msg);
	*out = lk_arena_sprintf(p->a, "%s.%s", tn->schema, tn->name);
	return true;
}

static bool
build_pipeline(parser *p, section *s, sy_config_pipeline *pl)
{
	static const char known[] = "source, target, mode, tables, flush_bytes, "
								"flush_interval_ms, jobs, index_memory, maintenance "
								"(and KEY_env forms)";
	memset(pl, 0, sizeof(*pl));
	pl->name = s->name;
	pl->line = s->line;
	pl->mode = "history";
	lk_error e;
	char slot[64];
	lk_error_clear(&e);
	if (!sy_capture_slot_name(s->name, slot, sizeof(slot), &e))
		return fail_at(p, s->line, LK_ERR_INVALID, "%s", e.msg);
	const char **tables = NULL;
	int ntables = 0;
	const char *fb = NULL, *im = NULL, *mt = NULL;
	int64_t v;
	if (!get_str(p, s, "source", &pl->source) || !get_str(p, s, "target", &pl->target) ||
		!get_str(p, s, "mode", &pl->mode) || !get_list(p, s, "tables", &tables, &ntables) ||
		!get_str(p, s, "flush_bytes", &fb) || !get_str(p, s, "index_memory", &im) ||
		!get_str(p, s, "maintenance", &mt))
		return false;
	if (im && (!sy_config_parse_size(im, &pl->index_memory) ||
			   pl->index_memory < (INT64_C(1) << 20)))
		return fail_at(p, s->line, LK_ERR_INVALID, "invalid index_memory \"%s\" in %s (at "
					   "least 1M)", im, sec_title(p, s));
	pl->maintenance = true;
	if (mt && (!strcmp(mt, "off") || !strcmp(mt, "false")))
		pl->maintenance = false;
	else if (mt && strcmp(mt, "on") != 0 && strcmp(mt, "true") != 0)
		return fail_at(p, s->line, LK_ERR_INVALID, "invalid maintenance \"%s\" in %s (on or "
					   "off)", mt, sec_title(p, s));
	if (!valid_table_mode(pl->mode))
		return fail_at(p, s->line, LK_ERR_INVALID, "unknown mode \"%s\" in %s (history or "
					   "mirror)", pl->mode, sec_title(p, s));
	if (fb && !sy_config_parse_size(fb, &pl->flush_bytes))
		return fail_at(p, s->line, LK_ERR_INVALID, "invalid flush_bytes \"%s\" in %s (e.g. "
					   "128M, 1G, 65536)", fb, sec_title(p, s));
	v = 0;
	if (!get_int(p, s, "flush_interval_ms", 1, 86400000, &v))
		return false;
	pl->flush_interval_ms = (int) v;
	v = 0;
	if (!get_int(p, s, "jobs", 1, 64, &v))
		return false;
	pl->jobs = (int) v;
	if (!check_unused(p, s, known))
		return false;
	if (!pl->source)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s has no source (source = DSN or "
					   "source_env = VARIABLE)", sec_title(p, s));
	if (!pl->target)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s has no target (the lakehouse root)",
					   sec_title(p, s));

	/* tables: the list, then [pipeline.NAME.table.T] sections */
	int ntsec = 0;
	for (int i = 0; i < p->nsecs; i++)
		if (p->secs[i].kind == SEC_TABLE && !strcmp(p->secs[i].name, s->name))
			ntsec++;
	pl->tables = lk_arena_zalloc(p->a, sizeof(sy_config_table) * (size_t) (ntables + ntsec + 1));
	const char **canon = lk_arena_zalloc(p->a, sizeof(char *) * (size_t) (ntables + ntsec + 1));
	for (int i = 0; i < ntables; i++) {
		pgc_table_name tn;
		int line = s->line;
		for (int j = 0; j < s->n; j++)
			if (!strncmp(s->entries[j].key, "tables", 6))
				line = s->entries[j].line;
		if (!canon_table(p, line, tables[i], &canon[pl->ntables], &tn))
			return false;
		for (int j = 0; j < pl->ntables; j++)
			if (!strcmp(canon[j], canon[pl->ntables]))
				return fail_at(p, line, LK_ERR_INVALID, "table %s is listed twice in %s",
							   canon[j], sec_title(p, s));
		sy_config_table *t = &pl->tables[pl->ntables++];
		t->name = tables[i];
		t->mode = pl->mode;
		t->line = line;
	}
	for (int i = 0; i < p->nsecs; i++) {
		section *ts = &p->secs[i];
		if (ts->kind != SEC_TABLE || strcmp(ts->name, s->name) != 0)
			continue;
		pgc_table_name tn;
		const char *c;
		if (!canon_table(p, ts->line, ts->table, &c, &tn))
			return false;
		sy_config_table *t = NULL;
		for (int j = 0; j < pl->ntables; j++)
			if (!strcmp(canon[j], c))
				t = &pl->tables[j];
		if (!t) {
			canon[pl->ntables] = c;
			t = &pl->tables[pl->ntables++];
			t->name = ts->table;
			t->mode = pl->mode;
			t->line = ts->line;
		}
		t->line = ts->line;         /* where its own settings are */
		if (!get_str(p, ts, "mode", &t->mode) || !get_str(p, ts, "location", &t->location) ||
			!check_unused(p, ts, "mode, location"))
			return false;
		if (!valid_table_mode(t->mode))
			return fail_at(p, ts->line, LK_ERR_INVALID, "unknown mode \"%s\" in %s (history "
						   "or mirror)", t->mode, sec_title(p, ts));
	}
	if (pl->ntables == 0)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s has no tables (tables = SCHEMA.TABLE, "
					   "… or [pipeline.%s.table.SCHEMA.TABLE] sections)", sec_title(p, s),
					   s->name);
	return true;
}

static bool
build_synced(parser *p, section *s, sy_config_synced *sy)
{
	static const char known[] = "source, target, table, mode, primary_key, dedup_by, "
								"column_types, jobs, interval_ms (and KEY_env forms)";
	memset(sy, 0, sizeof(*sy));
	sy->name = s->name;
	sy->line = s->line;
	const char *mode = NULL;
	const char **ct = NULL;
	int nct = 0;
	int64_t v;
	if (!get_str(p, s, "source", &sy->source) || !get_str(p, s, "target", &sy->target) ||
		!get_str(p, s, "table", &sy->table) || !get_str(p, s, "mode", &mode) ||
		!get_list(p, s, "primary_key", &sy->primary_key, &sy->npk) ||
		!get_str(p, s, "dedup_by", &sy->dedup_by) ||
		!get_list(p, s, "column_types", &ct, &nct))
		return false;
	v = 0;
	if (!get_int(p, s, "jobs", 1, 64, &v))
		return false;
	sy->jobs = (int) v;
	v = 0;
	if (!get_int(p, s, "interval_ms", 1, 86400000, &v))
		return false;
	sy->interval_ms = v;
	if (!check_unused(p, s, known))
		return false;
	if (!sy->source)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s has no source (the Delta table)",
					   sec_title(p, s));
	if (!sy->target)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s has no target (target = DSN or "
					   "target_env = VARIABLE)", sec_title(p, s));
	if (!sy->table)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s has no table (the PostgreSQL table, "
					   "SCHEMA.TABLE)", sec_title(p, s));
	if (!mode)
		mode = "snapshot";
	if (!sy_mode_parse(mode, &sy->mode))
		return fail_at(p, s->line, LK_ERR_INVALID, "unknown mode \"%s\" in %s (snapshot, "
					   "triggered or continuous)", mode, sec_title(p, s));
	if (sy->mode != SY_MODE_SNAPSHOT && sy->npk == 0)
		return fail_at(p, s->line, LK_ERR_INVALID, "%s: mode %s needs a primary_key",
					   sec_title(p, s), mode);
	if (nct) {
		sy->column_types = lk_arena_zalloc(p->a, sizeof(sy_column_type) * (size_t) nct);
		for (int i = 0; i < nct; i++) {
			const char *eq = strchr(ct[i], '=');
			if (!eq || eq == ct[i] || !eq[1])
				return fail_at(p, s->line, LK_ERR_INVALID, "invalid column_types item \"%s\" "
							   "in %s (NAME=TYPE)", ct[i], sec_title(p, s));
			sy->column_types[i].name = trimmed(p, ct[i], (size_t) (eq - ct[i]));
			sy->column_types[i].sql_type = trimmed(p, eq + 1, strlen(eq + 1));
		}
		sy->ncolumn_types = nct;
	}
	return true;
}

static bool
build(parser *p, sy_config_file *cf)
{
	int np = 0, ns = 0;
	for (int i = 0; i < p->nsecs; i++) {
		if (p->secs[i].kind == SEC_PIPELINE)
			np++;
		else if (p->secs[i].kind == SEC_SYNCED)
			ns++;
	}
	cf->pipelines = lk_arena_zalloc(p->a, sizeof(sy_config_pipeline) * (size_t) (np + 1));
	cf->synced = lk_arena_zalloc(p->a, sizeof(sy_config_synced) * (size_t) (ns + 1));
	for (int i = 0; i < p->nsecs; i++) {
		section *s = &p->secs[i];
		switch (s->kind) {
		case SEC_LAKESYNC:
			if (!get_str(p, s, "status_file", &cf->status_file) ||
				!check_unused(p, s, "status_file"))
				return false;
			break;
		case SEC_PIPELINE:
			if (!build_pipeline(p, s, &cf->pipelines[cf->npipelines++]))
				return false;
			break;
		case SEC_SYNCED:
			if (!build_synced(p, s, &cf->synced[cf->nsynced++]))
				return false;
			break;
		case SEC_TABLE: {
			bool found = false;
			for (int j = 0; j < p->nsecs; j++)
				if (p->secs[j].kind == SEC_PIPELINE && !strcmp(p->secs[j].name, s->name))
					found = true;
			if (!found)
				return fail_at(p, s->line, LK_ERR_INVALID, "%s belongs to no [pipeline.%s] "
							   "section", sec_title(p, s), s->name);
			break;
		}
		}
	}
	if (cf->npipelines == 0 && cf->nsynced == 0)
		return fail_at(p, 0, LK_ERR_INVALID, "no [pipeline.NAME] or [synced.NAME] section");

	/* two pipelines on one target must not write one Delta table */
	for (int i = 0; i < cf->npipelines; i++) {
		const sy_config_pipeline *a = &cf->pipelines[i];
		for (int ti = 0; ti < a->ntables; ti++) {
			for (int j = i + 1; j < cf->npipelines; j++) {
				const sy_config_pipeline *b = &cf->pipelines[j];
				for (int tj = 0; tj < b->ntables; tj++) {
					char *la = sy_config_location(cf, a, &a->tables[ti]);
					char *lb = sy_config_location(cf, b, &b->tables[tj]);
					bool same = la && lb && !strcmp(la, lb);
					free(la);
					free(lb);
					if (same)
						return fail_at(p, b->tables[tj].line, LK_ERR_INVALID, "table %s of "
									   "pipeline \"%s\" goes to the same Delta table as "
									   "pipeline \"%s\" (line %d)", b->tables[tj].name,
									   b->name, a->name, a->tables[ti].line);
				}
			}
		}
	}
	/* two synced tables must not write one target table */
	for (int i = 0; i < cf->nsynced; i++)
		for (int j = i + 1; j < cf->nsynced; j++)
			if (!strcmp(cf->synced[i].target, cf->synced[j].target) &&
				!strcmp(cf->synced[i].table, cf->synced[j].table))
				return fail_at(p, cf->synced[j].line, LK_ERR_INVALID, "[synced.%s] writes the "
							   "same table as [synced.%s] (line %d)", cf->synced[j].name,
							   cf->synced[i].name, cf->synced[i].line);
	if (!cf->status_file)
		cf->status_file = lk_arena_sprintf(&cf->arena, "%s.status.json", cf->path);
	return true;
}

/* ---- public ------------------------------------------------------------------- */

char *
sy_config_location(const sy_config_file *cf, const sy_config_pipeline *pl,
				   const sy_config_table *t)
{
	(void) cf;
	if (t->location)
		return lk_xstrdup(t->location);
	lk_arena a;
	lk_arena_init(&a, 1024);
	pgc_table_name tn;
	lk_error e;
	char *r = NULL;
	if (pgc_table_name_parse(t->name, &a, &tn, &e))
		r = sy_table_location_mode(pl->target, tn.schema, tn.name,
								   t->mode && strcmp(t->mode, "mirror") == 0
									   ? SY_TABLE_MIRROR : SY_TABLE_HISTORY);
	lk_arena_free(&a);
	return r;
}

sy_config_file *
sy_config_parse(const char *text, size_t len, const char *path, lk_error *err)
{
	sy_config_file *cf = lk_xcalloc(1, sizeof(*cf));
	lk_arena_init(&cf->arena, 0);
	cf->path = lk_arena_strdup(&cf->arena, path ? path : "<config>");
	parser p = {.a = &cf->arena, .path = cf->path, .err = err};
	bool ok = lex(&p, text, len) && build(&p, cf);
	for (int i = 0; i < p.nsecs; i++)
		free(p.secs[i].entries);
	free(p.secs);
	if (!ok) {
		sy_config_free(cf);
		return NULL;
	}
	return cf;
}

sy_config_file *
sy_config_load(const char *path, lk_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		lk_error_set(err, errno == ENOENT ? LK_ERR_NOT_FOUND : LK_ERR_IO,
					 "could not open configuration file \"%s\": %s", path, strerror(errno));
		return NULL;
	}
	lk_buf b = LK_BUF_INIT;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > CONFIG_MAX_BYTES) {
			fclose(f);
			lk_buf_free(&b);
			lk_error_set(err, LK_ERR_INVALID, "configuration file \"%s\" is larger than "
						 "%u bytes", path, CONFIG_MAX_BYTES);
			return NULL;
		}
		lk_buf_append(&b, chunk, n);
	}
	bool rerr = ferror(f) != 0;
	fclose(f);
	if (rerr) {
		lk_buf_free(&b);
		lk_error_set(err, LK_ERR_IO, "could not read configuration file \"%s\"", path);
		return NULL;
	}
	sy_config_file *cf = sy_config_parse(b.data ? (const char *) b.data : "", b.len, path,
										 err);
	lk_buf_free(&b);
	return cf;
}

void
sy_config_free(sy_config_file *cf)
{
	if (!cf)
		return;
	lk_arena_free(&cf->arena);
	free(cf);
}

const sy_config_pipeline *
sy_config_find_pipeline(const sy_config_file *cf, const char *name)
{
	for (int i = 0; i < cf->npipelines; i++)
		if (!strcmp(cf->pipelines[i].name, name))
			return &cf->pipelines[i];
	return NULL;
}

const sy_config_synced *
sy_config_find_synced(const sy_config_file *cf, const char *name)
{
	for (int i = 0; i < cf->nsynced; i++)
		if (!strcmp(cf->synced[i].name, name))
			return &cf->synced[i];
	return NULL;
}
