#include <criterion/criterion.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "delta/schema.h"

static const char *
testdata(void)
{
	const char *t = getenv("LAKESYNC_TESTDATA");
	return t ? t : "../shared/testdata";
}

/* PROTOCOL.md's example schema (compact, Spark key order) plus every
 * primitive type. */
static const char *example =
	"{\"type\":\"struct\",\"fields\":["
	"{\"name\":\"a\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}},"
	"{\"name\":\"b\",\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"d\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}}]},\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"c\",\"type\":{\"type\":\"array\",\"elementType\":\"integer\",\"containsNull\":false},\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"e\",\"type\":{\"type\":\"array\",\"elementType\":{\"type\":\"struct\",\"fields\":[{\"name\":\"d\",\"type\":\"integer\",\"nullable\":false,\"metadata\":{}}]},\"containsNull\":true},\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"f\",\"type\":{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":\"string\",\"valueContainsNull\":true},\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"p\",\"type\":\"long\",\"nullable\":true,\"metadata\":{\"delta.typeChanges\":[{\"fromType\":\"integer\",\"toType\":\"long\",\"tableVersion\":1}],\"comment\":\"x\"}},"
	"{\"name\":\"q\",\"type\":\"decimal(38,18)\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"r\",\"type\":\"timestamp_ntz\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"s\",\"type\":\"timestamp\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"t\",\"type\":\"date\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"u\",\"type\":\"binary\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"v\",\"type\":\"byte\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"w\",\"type\":\"short\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"x\",\"type\":\"float\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"y\",\"type\":\"double\",\"nullable\":true,\"metadata\":{}},"
	"{\"name\":\"z\",\"type\":\"boolean\",\"nullable\":true,\"metadata\":{}}"
	"]}";

Test(schema, parse_example_and_round_trip)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_schema s;
	cr_assert(dl_schema_parse(example, &a, &s, &err), "%s %s", err.msg, err.where);
	cr_assert_str_eq(lk_type_name(&a, s.type),
					 "struct<a:integer,b:struct<d:integer>,c:array<integer>,"
					 "e:array<struct<d:integer>>,f:map<string,string>,p:long,"
					 "q:decimal(38,18),r:timestamp_ntz,s:timestamp,t:date,u:binary,"
					 "v:byte,w:short,x:float,y:double,z:boolean>");
	cr_assert_not(s.type->children[0].nullable);
	cr_assert(s.type->children[1].nullable);
	cr_assert_not(s.type->children[2].type->children[0].nullable);   /* containsNull */
	cr_assert(s.type->children[3].type->children[0].nullable);
	cr_assert(s.type->children[4].type->children[1].nullable);       /* valueContainsNull */
	cr_assert_not(s.type->children[4].type->children[0].nullable);   /* map key */
	cr_assert_eq(s.type->children[6].type->precision, 38);
	cr_assert_eq(s.type->children[6].type->scale, 18);
	cr_assert_eq(s.info->nchildren, 16);
	cr_assert_eq(s.info->children[0].id, -1);
	cr_assert_null(s.info->children[0].physical_name);
	cr_assert_str_eq(s.info->children[0].metadata, "{}");
	/* type widening metadata is kept verbatim */
	cr_assert_str_eq(s.info->children[5].metadata,
					 "{\"delta.typeChanges\":[{\"fromType\":\"integer\",\"toType\":\"long\","
					 "\"tableVersion\":1}],\"comment\":\"x\"}");
	/* nested struct in an array element keeps its info */
	cr_assert_not_null(s.info->children[3].info);
	cr_assert_eq(s.info->children[3].info->nchildren, 1);
	cr_assert_eq(s.info->children[3].info->children[0].info->nchildren, 1);

	lk_buf b = LK_BUF_INIT;
	cr_assert(dl_schema_write(s.type, s.info, &b, &err), "%s", err.msg);
	cr_assert_str_eq(lk_buf_cstr(&b), example);

	/* without info, metadata is {} */
	lk_buf_reset(&b);
	lk_type *t = lk_type_struct(&a, 1);
	t->children[0].name = "n";
	t->children[0].type = lk_type_decimal(&a, 10, 2);
	t->children[0].nullable = true;
	cr_assert(dl_schema_write(t, NULL, &b, &err));
	cr_assert_str_eq(lk_buf_cstr(&b),
					 "{\"type\":\"struct\",\"fields\":[{\"name\":\"n\",\"type\":\"decimal(10,2)\","
					 "\"nullable\":true,\"metadata\":{}}]}");
	lk_buf_free(&b);
	lk_arena_free(&a);
}

static void
expect_fail(const char *json, lk_error_code code, const char *msg, const char *where)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_schema s;
	lk_error_clear(&err);
	cr_assert_not(dl_schema_parse(json, &a, &s, &err), "accepted %s", json);
	cr_assert_eq(err.code, code, "%s: code %d (%s)", json, err.code, err.msg);
	cr_assert(strstr(err.msg, msg) != NULL, "msg=%s", err.msg);
	cr_assert(strstr(err.where, where) != NULL, "where=%s", err.where);
	lk_arena_free(&a);
}

#define F1(t) "{\"type\":\"struct\",\"fields\":[{\"name\":\"top\",\"type\":" t ",\"nullable\":true,\"metadata\":{}}]}"

Test(schema, unsupported_and_corrupt)
{
	expect_fail(F1("\"variant\""), LK_ERR_UNSUPPORTED, "unsupported Delta type \"variant\"",
				"column \"top\"");
	expect_fail(F1("{\"type\":\"struct\",\"fields\":[{\"name\":\"in\",\"type\":\"interval\"}]}"),
				LK_ERR_UNSUPPORTED, "\"interval\"", "column \"top.in\"");
	expect_fail(F1("{\"type\":\"array\",\"elementType\":\"void\",\"containsNull\":true}"),
				LK_ERR_UNSUPPORTED, "\"void\"", "column \"top.element\"");
	expect_fail(F1("{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":\"char(3)\"}"),
				LK_ERR_UNSUPPORTED, "\"char(3)\"", "column \"top.value\"");
	expect_fail(F1("\"decimal(39,0)\""), LK_ERR_UNSUPPORTED, "out of range", "column \"top\"");
	expect_fail(F1("\"decimal(5,6)\""), LK_ERR_UNSUPPORTED, "out of range", "column \"top\"");
	expect_fail(F1("\"decimal(5,x)\""), LK_ERR_CORRUPT, "invalid decimal", "column \"top\"");
	expect_fail(F1("{\"type\":\"udt\"}"), LK_ERR_UNSUPPORTED, "\"udt\"", "column \"top\"");
	expect_fail(F1("{\"type\":\"array\"}"), LK_ERR_CORRUPT, "elementType", "column \"top\"");
	expect_fail(F1("3"), LK_ERR_CORRUPT, "must be a string or an object", "column \"top\"");
	expect_fail("{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\"},"
				"{\"name\":\"A\",\"type\":\"long\"}]}",
				LK_ERR_CORRUPT, "duplicate field name", "column \"A\"");
	expect_fail("{\"type\":\"struct\",\"fields\":[{\"type\":\"long\"}]}", LK_ERR_CORRUPT,
				"no \"name\"", "schemaString");
	expect_fail("{\"type\":\"array\",\"elementType\":\"long\"}", LK_ERR_CORRUPT,
				"top-level type must be a struct", "schemaString");
	expect_fail("{\"type\":", LK_ERR_CORRUPT, "invalid schemaString JSON", "schemaString");
	expect_fail("{\"type\":\"struct\",\"fields\":[{\"name\":\"a\",\"type\":\"long\","
				"\"metadata\":{\"delta.columnMapping.id\":\"7\"}}]}",
				LK_ERR_CORRUPT, "delta.columnMapping.id", "column \"a\"");

	/* decimal with spaces, bare decimal */
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	lk_type *t;
	cr_assert(dl_schema_parse_primitive("decimal( 12 , 3 )", "c", &a, &t, &err));
	cr_assert_eq(t->precision, 12);
	cr_assert_eq(t->scale, 3);
	cr_assert(dl_schema_parse_primitive("decimal", "c", &a, &t, &err));
	cr_assert_eq(t->precision, 10);
	cr_assert_eq(t->scale, 0);

	/* types Delta cannot hold */
	lk_type *st = lk_type_struct(&a, 1);
	st->children[0].name = "tm";
	st->children[0].type = lk_type_new(&a, LK_T_TIME);
	lk_buf b = LK_BUF_INIT;
	cr_assert_not(dl_schema_write(st, NULL, &b, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.where, "column \"tm\"");
	st->children[0].type = lk_type_new(&a, LK_T_INT);
	st->children[0].type->is_unsigned = true;
	cr_assert_not(dl_schema_write(st, NULL, &b, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	lk_buf_free(&b);
	lk_arena_free(&a);
}

Test(schema, column_mapping_physical_schema)
{
	const char *json =
		"{\"type\":\"struct\",\"fields\":["
		"{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{"
		"\"delta.columnMapping.id\":1,\"delta.columnMapping.physicalName\":\"col-1\"}},"
		"{\"name\":\"s\",\"type\":{\"type\":\"struct\",\"fields\":[{\"name\":\"x\",\"type\":\"string\","
		"\"nullable\":true,\"metadata\":{\"delta.columnMapping.id\":3,"
		"\"delta.columnMapping.physicalName\":\"col-3\"}}]},\"nullable\":true,\"metadata\":{"
		"\"delta.columnMapping.id\":2,\"delta.columnMapping.physicalName\":\"col-2\"}},"
		"{\"name\":\"m\",\"type\":{\"type\":\"map\",\"keyType\":\"string\",\"valueType\":"
		"{\"type\":\"struct\",\"fields\":[{\"name\":\"v\",\"type\":\"integer\",\"nullable\":true,"
		"\"metadata\":{\"delta.columnMapping.id\":5,\"delta.columnMapping.physicalName\":\"col-5\"}}]},"
		"\"valueContainsNull\":true},\"nullable\":true,\"metadata\":{"
		"\"delta.columnMapping.id\":4,\"delta.columnMapping.physicalName\":\"col-4\"}}"
		"]}";
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_schema s;
	cr_assert(dl_schema_parse(json, &a, &s, &err), "%s", err.msg);
	cr_assert_eq(s.info->children[1].id, 2);
	cr_assert_str_eq(s.info->children[1].physical_name, "col-2");
	cr_assert_eq(s.info->children[1].info->children[0].id, 3);

	lk_type *p = dl_schema_physical(&s, DL_CM_NAME, &a, &err);
	cr_assert_not_null(p);
	cr_assert_str_eq(lk_type_name(&a, p),
					 "struct<col-1:long,col-2:struct<col-3:string>,"
					 "col-4:map<string,struct<col-5:integer>>>");
	cr_assert_eq(p->children[0].field_id, -1);
	p = dl_schema_physical(&s, DL_CM_ID, &a, &err);
	cr_assert_not_null(p);
	cr_assert_eq(p->children[0].field_id, 1);
	cr_assert_eq(p->children[1].type->children[0].field_id, 3);
	cr_assert_eq(p->children[2].type->children[1].type->children[0].field_id, 5);
	cr_assert_str_eq(p->children[2].type->children[1].name, "value");
	p = dl_schema_physical(&s, DL_CM_NONE, &a, &err);
	cr_assert_str_eq(lk_type_name(&a, p),
					 "struct<id:long,s:struct<x:string>,m:map<string,struct<v:integer>>>");
	/* logical schema is untouched */
	cr_assert_str_eq(s.type->children[0].name, "id");

	cr_assert(dl_schema_parse(example, &a, &s, &err));
	cr_assert_null(dl_schema_physical(&s, DL_CM_NAME, &a, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.where, "column \"a\"");

	dl_column_mapping m;
	cr_assert(dl_column_mapping_parse(NULL, &m, &err));
	cr_assert_eq(m, DL_CM_NONE);
	cr_assert(dl_column_mapping_parse("name", &m, &err));
	cr_assert_eq(m, DL_CM_NAME);
	cr_assert(dl_column_mapping_parse("id", &m, &err));
	cr_assert_eq(m, DL_CM_ID);
	cr_assert_not(dl_column_mapping_parse("fancy", &m, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);

	cr_assert_eq(dl_schema_field_index(s.type, "b"), 1);
	cr_assert_eq(dl_schema_field_index(s.type, "B"), 1);
	cr_assert_eq(dl_schema_field_index(s.type, "nope"), -1);
	lk_arena_free(&a);
}

/* Every schemaString of the golden corpus parses and writes back to the
 * same JSON (Spark writes the same compact form). */
Test(schema, golden_schemas_round_trip)
{
	char pat[1024];
	snprintf(pat, sizeof(pat), "%s/delta-golden/*/delta/_delta_log/0*.json", testdata());
	glob_t g;
	if (glob(pat, 0, NULL, &g) != 0)
		cr_skip_test("no test data");
	lk_arena a;
	lk_arena_init(&a, 0);
	int schemas = 0, with_ids = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "rb");
		static char buf[1 << 20];
		size_t len = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		lk_error err;
		dl_action *acts;
		size_t n;
		cr_assert(dl_actions_parse(buf, len, g.gl_pathv[i], &a, &acts, &n, &err));
		for (size_t j = 0; j < n; j++) {
			if (acts[j].type != DL_ACT_METADATA || !acts[j].u.metadata.schema_string)
				continue;
			const char *ss = acts[j].u.metadata.schema_string;
			dl_schema s;
			cr_assert(dl_schema_parse(ss, &a, &s, &err), "%s: %s %s", g.gl_pathv[i],
					  err.msg, err.where);
			lk_buf b = LK_BUF_INIT;
			cr_assert(dl_schema_write(s.type, s.info, &b, &err));
			cr_assert_str_eq(lk_buf_cstr(&b), ss, "%s", g.gl_pathv[i]);
			lk_buf_free(&b);
			schemas++;
			if (s.info->nchildren && s.info->children[0].id >= 0)
				with_ids++;
		}
		lk_arena_reset(&a);
	}
	globfree(&g);
	cr_assert_eq(schemas, 60);   /* counted with Python */
	cr_assert_eq(with_ids, 4);
	lk_arena_free(&a);
}
