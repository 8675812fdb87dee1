/*
 * fuzz_delta_actions.c — libFuzzer target over the Delta log decoders:
 * src/delta/actions.c (a commit file: newline-delimited JSON actions) and
 * src/delta/schema.c (a metaData.schemaString).
 *
 * Input: the bytes of one commit file.  Every action that parses is also
 *   written back (dl_action_write) and the written line must parse again
 *   to an action of the same type that writes to the same bytes (the
 *   writer is deterministic and the parser accepts everything it writes);
 *   a metaData's schemaString goes through the schema checks below.
 * The same bytes, NUL-terminated, are also parsed as a schemaString: a
 *   schema that parses must serialize (dl_schema_write), parse back to an
 *   equal lk_type, serialize to the same text, and survive
 *   dl_schema_physical in every column-mapping mode.
 *
 * Oracles besides the sanitizers: the round trips above, and every failure
 * fills err's message and location (CONVENTIONS "Errors").
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"
#include "delta/actions.h"
#include "delta/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
finding(const char *what, const lk_error *err)
{
	fprintf(stderr, "fuzz_delta_actions: %s (%s | %s)\n", what, err ? err->msg : "",
			err ? err->where : "");
	abort();
}

static void
check_failure(const lk_error *err, bool want_where)
{
	if (!err->msg[0] || err->code == LK_OK)
		finding("a failure without a message or code", err);
	if (want_where && !err->where[0])
		finding("a failure without a location", err);
}

static void
check_schema(const char *json, lk_arena *a)
{
	lk_error err;
	dl_schema s;
	lk_error_clear(&err);
	if (!dl_schema_parse(json, a, &s, &err)) {
		check_failure(&err, false);
		return;
	}
	lk_buf b1 = LK_BUF_INIT, b2 = LK_BUF_INIT;
	if (dl_schema_write(s.type, s.info, &b1, &err)) {
		dl_schema s2;
		if (!dl_schema_parse(lk_buf_cstr(&b1), a, &s2, &err))
			finding("a written schema does not parse", &err);
		if (!lk_type_equal(s.type, s2.type))
			finding("a schema changed in a write/parse round trip", NULL);
		if (!dl_schema_write(s2.type, s2.info, &b2, &err))
			finding("a re-parsed schema does not write", &err);
		if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
			finding("schema writing is not deterministic", NULL);
	} else {
		check_failure(&err, false);
	}
	lk_buf_free(&b1);
	lk_buf_free(&b2);
	static const dl_column_mapping modes[] = {DL_CM_NONE, DL_CM_NAME, DL_CM_ID};
	for (int i = 0; i < 3; i++) {
		lk_error_clear(&err);
		if (!dl_schema_physical(&s, modes[i], a, &err))
			check_failure(&err, false);
	}
	for (int i = 0; i < s.type->nchildren; i++)
		if (dl_schema_field_index(s.type, s.type->children[i].name) < 0)
			finding("a top-level field is not found by its own name", NULL);
}

static void
check_action(const dl_action *act, lk_arena *a)
{
	lk_error err;
	lk_buf b1 = LK_BUF_INIT, b2 = LK_BUF_INIT;
	lk_error_clear(&err);
	if (!dl_action_write(&b1, act, &err)) {
		check_failure(&err, false);
		goto out;
	}
	if (b1.len == 0 || b1.data[b1.len - 1] != '\n')
		finding("a written action is not one line", NULL);
	dl_action back;
	bool got;
	if (!dl_action_parse_line((const char *) b1.data, b1.len - 1, "written", 1, a, &back,
							  &got, &err))
		finding("a written action does not parse", &err);
	if (!got || back.type != act->type)
		finding("a written action parses to another action", NULL);
	if (!dl_action_write(&b2, &back, &err))
		finding("a re-parsed action does not write", &err);
	if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
		finding("action writing is not a fixed point", NULL);
out:
	lk_buf_free(&b1);
	lk_buf_free(&b2);
	switch (act->type) {
	case DL_ACT_METADATA:
		if (act->u.metadata.schema_string)
			check_schema(act->u.metadata.schema_string, a);
		break;
	case DL_ACT_ADD:
		if (act->u.add.has_dv && !dl_dv_unique_id(&act->u.add.dv, a))
			finding("no DV unique id", NULL);
		(void) dl_map_get(&act->u.add.partition_values, "part", NULL);
		break;
	case DL_ACT_REMOVE:
		if (act->u.remove.has_dv && !dl_dv_unique_id(&act->u.remove.dv, a))
			finding("no DV unique id", NULL);
		break;
	default:
		break;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lk_arena a;
	lk_error err;
	dl_action *acts;
	size_t n;
	lk_arena_init(&a, 0);
	lk_error_clear(&err);
	if (dl_actions_parse((const char *) data, size, "fuzz.json", &a, &acts, &n, &err)) {
		for (size_t i = 0; i < n; i++)
			check_action(&acts[i], &a);
	} else {
		check_failure(&err, true);
	}
	char *text = malloc(size + 1);
	if (size)
		memcpy(text, data, size);
	text[size] = '\0';
	check_schema(text, &a);
	free(text);
	lk_arena_free(&a);
	return 0;
}
