#include <criterion/criterion.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/batch.h"
#include "delta/log.h"
#include "parquet/parquet.h"
#include "storage/storage.h"

static const char *
testdata(void)
{
	const char *t = getenv("LAKESYNC_TESTDATA");
	return t ? t : "../shared/testdata";
}

/* Open the golden table `name`, or skip the test when the data is absent. */
static void
golden(const char *name, st_store *st)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/delta-golden", testdata());
	struct stat sb;
	if (stat(p, &sb) != 0)
		cr_skip_test("no test data at %s", p);
	snprintf(p, sizeof(p), "%s/delta-golden/%s/delta", testdata(), name);
	lk_error err;
	cr_assert(st_store_open(st, p, 0, &err));
}

static dl_snapshot *
open_golden(const char *name, int64_t version, st_store *st)
{
	golden(name, st);
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	dl_snapshot *s = NULL;
	lk_error err;
	char buf[1200];
	cr_assert(dl_snapshot_open(st, &o, &s, &err), "%s: %s", name,
			  lk_error_str(&err, buf, sizeof(buf)));
	return s;
}

static lk_error
fail_golden(const char *name)
{
	st_store st;
	golden(name, &st);
	dl_snapshot *s = NULL;
	lk_error err;
	lk_error_clear(&err);
	cr_assert_not(dl_snapshot_open(&st, NULL, &s, &err), "%s opened", name);
	cr_assert_null(s);
	st_store_close(&st);
	return err;
}

Test(log, parse_names)
{
	dl_log_file f;
	cr_assert(dl_log_parse_name("00000000000000000010.json", &f));
	cr_assert_eq(f.kind, DL_LOG_COMMIT);
	cr_assert_eq(f.version, 10);
	cr_assert(dl_log_parse_name("00000000000000000010.checkpoint.parquet", &f));
	cr_assert_eq(f.kind, DL_LOG_CHECKPOINT);
	cr_assert(dl_log_parse_name("00000000000000000010.checkpoint.0000000002.0000000003.parquet", &f));
	cr_assert_eq(f.kind, DL_LOG_CHECKPOINT_PART);
	cr_assert_eq(f.part, 2);
	cr_assert_eq(f.nparts, 3);
	cr_assert(dl_log_parse_name(
		"00000000000000000002.checkpoint.6374b053-df23-479b-b2cf-c9c550132b49.json", &f));
	cr_assert_eq(f.kind, DL_LOG_CHECKPOINT_V2);
	cr_assert(f.is_json);
	cr_assert(dl_log_parse_name(
		"00000000000000000002.checkpoint.6374b053-df23-479b-b2cf-c9c550132b49.parquet", &f));
	cr_assert_not(f.is_json);
	cr_assert(dl_log_parse_name("00000000000000000004.00000000000000000006.compacted.json", &f));
	cr_assert_eq(f.kind, DL_LOG_COMPACTION);
	cr_assert_eq(f.version, 4);
	cr_assert(dl_log_parse_name("00000000000000000004.crc", &f));
	cr_assert_eq(f.kind, DL_LOG_CRC);
	const char *bad[] = {"_last_checkpoint", "0000000000000000010.json", "00000000000000000010.jsonx",
						 "00000000000000000010.checkpoint.0000000004.0000000003.parquet",
						 "00000000000000000010.checkpoint.a.b.parquet", "x0000000000000000010.json",
						 ".00000000000000000010.json.tmp", "00000000000000000010.checkpoint.x.txt"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(dl_log_parse_name(bad[i], &f), "%s", bad[i]);
}

Test(log, protocol_checks)
{
	lk_error err;
	dl_protocol p = {.min_reader_version = 1, .min_writer_version = 2};
	cr_assert(dl_protocol_check_read(&p, &err));
	p.min_reader_version = 2;
	cr_assert(dl_protocol_check_read(&p, &err));
	p.min_reader_version = 0;
	cr_assert_not(dl_protocol_check_read(&p, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	p.min_reader_version = 4;
	cr_assert_not(dl_protocol_check_read(&p, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "minReaderVersion 4") != NULL);
	p.min_reader_version = 3;
	p.min_writer_version = 7;
	cr_assert_not(dl_protocol_check_read(&p, &err));   /* no readerFeatures */
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	const char *ok[] = {"columnMapping", "deletionVectors", "timestampNtz", "typeWidening",
						"typeWidening-preview", "v2Checkpoint", "vacuumProtocolCheck"};
	p.has_reader_features = true;
	p.reader_features.items = ok;
	p.reader_features.n = 7;
	cr_assert(dl_protocol_check_read(&p, &err), "%s", err.msg);
	const char *bad[] = {"deletionVectors", "variantType"};
	p.reader_features.items = bad;
	p.reader_features.n = 2;
	cr_assert_not(dl_protocol_check_read(&p, &err));
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "\"variantType\"") != NULL, "%s", err.msg);
	const char *unk[] = {"catalogManaged"};
	p.reader_features.items = unk;
	p.reader_features.n = 1;
	cr_assert_not(dl_protocol_check_read(&p, &err));
	cr_assert_str_eq(err.msg, "unsupported Delta reader feature \"catalogManaged\"");
}

/* version, checkpoint used, active files, tombstones: reconciled
 * independently (Python over the JSON commits + DuckDB over the
 * checkpoints). */
Test(log, golden_snapshots)
{
	static const struct {
		const char *name;
		int64_t version, cp;
		size_t files, tombs;
	} cases[] = {
		{"basic-with-inserts-deletes-checkpoint", 13, 10, 7, 7},
		{"checkpoint", 14, 10, 1, 14},
		{"dv-with-columnmapping", 15, 10, 15, 15},
		{"125-iterator-bug", 11, 10, 12, 0},
		{"only-checkpoint-files", 2, 2, 7, 5},
		{"v2-checkpoint-json", 2, 2, 4, 0},
		{"snapshot-data2-deleted", 4, -1, 3, 6},
		{"snapshot-repartitioned", 5, -1, 2, 9},
		{"log-replay-dv-key-cases", 3, -1, 1, 3},
		{"canonicalized-paths-normal-a", 1, -1, 0, 1},
		{"canonicalized-paths-normal-b", 1, -1, 0, 1},
		{"canonicalized-paths-special-a", 1, -1, 0, 1},
		{"log-replay-special-characters-a", 1, -1, 0, 1},
		{"log-replay-special-characters-b", 0, -1, 1, 0},
		{"update-deleted-directory", 0, 0, 10, 0},
		{"time-travel-partition-changes-a", 0, -1, 10, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		st_store st;
		dl_snapshot *s = open_golden(cases[i].name, -1, &st);
		cr_assert_eq(s->version, cases[i].version, "%s", cases[i].name);
		cr_assert_eq(s->checkpoint_version, cases[i].cp, "%s", cases[i].name);
		cr_assert_eq(s->nfiles, cases[i].files, "%s: %zu files", cases[i].name, s->nfiles);
		cr_assert_eq(s->ntombstones, cases[i].tombs, "%s: %zu tombstones", cases[i].name,
					 s->ntombstones);
		dl_snapshot_free(s);
		st_store_close(&st);
	}
}

Test(log, golden_details)
{
	st_store st;
	dl_snapshot *s = open_golden("delete-re-add-same-file-different-transactions", -1, &st);
	cr_assert_eq(s->nfiles, 2);
	cr_assert_str_eq(s->files[0].path, "bar");
	cr_assert_str_eq(s->files[1].path, "foo");
	cr_assert_eq(s->files[1].add.modification_time, 1700000000000LL);
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("log-replay-special-characters-b", -1, &st);
	cr_assert_str_eq(s->files[0].path, "special p@#h");
	cr_assert_str_eq(s->files[0].add.path, "special%20p@%23h");
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("deltalog-getChanges", -1, &st);
	cr_assert_eq(dl_snapshot_txn_version(s, "fakeAppId"), 3);
	cr_assert_eq(dl_snapshot_txn_version(s, "nonExistentAppId"), -1);
	cr_assert_eq(s->ntxns, 1);
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("dv-with-columnmapping", -1, &st);
	cr_assert_eq(s->column_mapping, DL_CM_NAME);
	cr_assert_eq(s->protocol.min_reader_version, 3);
	size_t with_dv = 0;
	for (size_t i = 0; i < s->nfiles; i++)
		with_dv += s->files[i].add.has_dv;
	cr_assert_eq(with_dv, 2);   /* counted with Python + DuckDB */
	cr_assert(s->has_schema);
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("table-with-columnmapping-mode-id", -1, &st);
	cr_assert_eq(s->column_mapping, DL_CM_ID);
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("log-replay-latest-metadata-protocol", -1, &st);
	cr_assert_eq(s->protocol.min_reader_version, 3);
	cr_assert_eq(s->protocol.min_writer_version, 7);
	cr_assert_str_eq(lk_type_name(&s->arena, s->schema.type),
					 "struct<col1:long,col2:long>");   /* from the last metaData */
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("update-deleted-directory", -1, &st);
	cr_assert_not(s->has_schema);   /* the log has no schemaString */
	dl_snapshot_free(s);
	st_store_close(&st);

	s = open_golden("deltalog-commit-info", -1, &st);
	cr_assert_not_null(s->commit_info);
	cr_assert(strstr(s->commit_info, "\"operation\"") != NULL, "%s", s->commit_info);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(log, golden_time_travel_by_version)
{
	st_store st;
	dl_snapshot *s = open_golden("basic-with-inserts-deletes-checkpoint", 5, &st);
	cr_assert_eq(s->version, 5);
	cr_assert_eq(s->checkpoint_version, -1);
	cr_assert_eq(s->nfiles, 5);
	cr_assert_eq(s->ntombstones, 1);
	dl_snapshot_free(s);
	st_store_close(&st);
	s = open_golden("basic-with-inserts-deletes-checkpoint", 10, &st);
	cr_assert_eq(s->checkpoint_version, 10);
	dl_snapshot_free(s);
	st_store_close(&st);
	s = open_golden("snapshot-data2-deleted", 3, &st);
	cr_assert_eq(s->nfiles, 4);
	cr_assert_eq(s->ntombstones, 4);
	dl_snapshot_free(s);
	st_store_close(&st);

	golden("snapshot-data2", &st);
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = 3;
	lk_error err;
	cr_assert_not(dl_snapshot_open(&st, &o, &s, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "version 3 does not exist (the latest version is 2)");
	st_store_close(&st);
}

Test(log, golden_must_fail)
{
	lk_error err = fail_golden("deltalog-invalid-protocol-version");
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert(strstr(err.msg, "Delta protocol: minReaderVersion 99") != NULL, "%s", err.msg);
	cr_assert(strstr(err.where, "protocol") != NULL, "%s", err.where);

	err = fail_golden("deltalog-state-reconstruction-without-protocol");
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "the Delta log has no protocol action at version 0");

	err = fail_golden("deltalog-state-reconstruction-from-checkpoint-missing-metadata");
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg, "the Delta log has no metaData action at version 10");

	err = fail_golden("no-delta-log-folder");
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "not a Delta table: no _delta_log directory");

	err = fail_golden("hive");
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);

	/* a log of add actions only: no protocol, no metaData */
	err = fail_golden("data-reader-absolute-paths-escaped-chars");
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
}

/* ---- synthetic logs ------------------------------------------------------ */

static char tmpdir[256];

static void
make_tmp(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lk_log_XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
rm_tmp(void)
{
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void) !system(cmd);
}

TestSuite(synth, .init = make_tmp, .fini = rm_tmp);

#define PROTO "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
#define META(conf)                                                                         \
	"{\"metaData\":{\"id\":\"t\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"    \
	"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\"," \
	"\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}},{\\\"name\\\":"  \
	"\\\"p\\\",\\\"type\\\":\\\"string\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}\","\
	"\"partitionColumns\":[\"p\"],\"configuration\":{" conf "}}}\n"
#define ADD(path) \
	"{\"add\":{\"path\":\"" path "\",\"partitionValues\":{\"p\":\"x\"},\"size\":1,"          \
	"\"modificationTime\":1,\"dataChange\":true}}\n"
#define REMOVE(path) "{\"remove\":{\"path\":\"" path "\",\"dataChange\":true}}\n"

static void
put(st_store *st, const char *name, const char *text)
{
	lk_error err;
	char p[256];
	snprintf(p, sizeof(p), "_delta_log/%s", name);
	cr_assert(st_put(st, p, text, strlen(text), &err), "%s", err.msg);
}

static void
commit(st_store *st, int64_t v, const char *text, int64_t mtime_ms)
{
	char name[64];
	snprintf(name, sizeof(name), "%020" PRId64 ".json", v);
	put(st, name, text);
	if (mtime_ms) {
		char fp[512];
		snprintf(fp, sizeof(fp), "%s/_delta_log/%s", tmpdir, name);
		struct timespec ts[2] = {{mtime_ms / 1000, (mtime_ms % 1000) * 1000000},
								 {mtime_ms / 1000, (mtime_ms % 1000) * 1000000}};
		cr_assert_eq(utimensat(AT_FDCWD, fp, ts, 0), 0);
	}
}

static st_store
tmp_store(void)
{
	st_store st;
	lk_error err;
	cr_assert(st_store_open(&st, tmpdir, 0, &err));
	return st;
}

static dl_snapshot *
must_open(st_store *st, int64_t version)
{
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.version = version;
	dl_snapshot *s;
	lk_error err;
	char buf[1200];
	cr_assert(dl_snapshot_open(st, &o, &s, &err), "%s", lk_error_str(&err, buf, sizeof(buf)));
	return s;
}

static lk_error
must_fail(st_store *st)
{
	dl_snapshot *s = NULL;
	lk_error err;
	lk_error_clear(&err);
	cr_assert_not(dl_snapshot_open(st, NULL, &s, &err));
	return err;
}

Test(synth, reconciliation_rules)
{
	st_store st = tmp_store();
	commit(&st, 0, PROTO META("") ADD("a") ADD("b") ADD("c%20d")
		   "{\"txn\":{\"appId\":\"app\",\"version\":5}}\n"
		   "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":\"one\",\"removed\":false}}\n"
		   "{\"domainMetadata\":{\"domain\":\"d2\",\"configuration\":\"two\",\"removed\":false}}\n", 0);
	commit(&st, 1, REMOVE("a") ADD("e")
		   "{\"txn\":{\"appId\":\"app\",\"version\":4}}\n"
		   "{\"txn\":{\"appId\":\"other\",\"version\":1}}\n"
		   "{\"domainMetadata\":{\"domain\":\"d1\",\"configuration\":\"uno\",\"removed\":false}}\n"
		   "{\"domainMetadata\":{\"domain\":\"d2\",\"configuration\":\"two\",\"removed\":true}}\n", 0);
	/* re-add a; remove the encoded path by its decoded-equivalent spelling */
	commit(&st, 2, ADD("a") REMOVE("c d") "{\"commitInfo\":{\"operation\":\"X\"}}\n", 0);
	dl_snapshot *s = must_open(&st, -1);
	cr_assert_eq(s->version, 2);
	cr_assert_eq(s->nfiles, 3);
	const char *want[] = {"a", "b", "e"};
	for (int i = 0; i < 3; i++)
		cr_assert_str_eq(s->files[i].path, want[i]);
	cr_assert_eq(s->ntombstones, 1);
	cr_assert_str_eq(s->tombstones[0].path, "c d");
	/* txn: the latest action per appId wins, even if its version is lower */
	cr_assert_eq(s->ntxns, 2);
	cr_assert_eq(dl_snapshot_txn_version(s, "app"), 4);
	cr_assert_eq(dl_snapshot_txn_version(s, "other"), 1);
	/* domains: latest wins, removed ones are gone */
	cr_assert_eq(s->ndomains, 1);
	cr_assert_str_eq(s->domains[0].domain, "d1");
	cr_assert_str_eq(s->domains[0].configuration, "uno");
	cr_assert_str_eq(s->commit_info, "{\"operation\":\"X\"}");
	dl_snapshot_free(s);

	/* version 1: a removed, c d still there */
	s = must_open(&st, 1);
	cr_assert_eq(s->nfiles, 3);
	cr_assert_str_eq(s->files[0].path, "b");
	cr_assert_str_eq(s->files[1].path, "c d");
	cr_assert_str_eq(s->files[1].add.path, "c%20d");
	cr_assert_str_eq(s->files[2].path, "e");
	cr_assert_eq(s->ntombstones, 1);
	cr_assert_eq(s->ndomains, 1);
	cr_assert_null(s->commit_info);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(synth, same_file_with_different_dvs)
{
	st_store st = tmp_store();
#define DV(z, off) "\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"" z \
	"\",\"offset\":" off ",\"sizeInBytes\":34,\"cardinality\":1}"
	commit(&st, 0, PROTO META("") ADD("f"), 0);
	/* the file gets a DV: add (f, dv1) + remove (f, none) */
	commit(&st, 1,
		   "{\"add\":{\"path\":\"f\",\"partitionValues\":{},\"size\":1,\"modificationTime\":1,"
		   "\"dataChange\":true," DV("h{&8fAg]=QYJvl-}c!yH", "1") "}}\n" REMOVE("f"), 0);
	/* a second DV at another offset of the same DV file */
	commit(&st, 2,
		   "{\"add\":{\"path\":\"f\",\"partitionValues\":{},\"size\":1,\"modificationTime\":2,"
		   "\"dataChange\":true," DV("h{&8fAg]=QYJvl-}c!yH", "40") "}}\n"
		   "{\"remove\":{\"path\":\"f\",\"dataChange\":true," DV("h{&8fAg]=QYJvl-}c!yH", "1") "}}\n",
		   0);
	dl_snapshot *s = must_open(&st, -1);
	cr_assert_eq(s->nfiles, 1);
	cr_assert(s->files[0].add.has_dv);
	cr_assert_eq(s->files[0].add.dv.offset, 40);
	cr_assert_eq(s->files[0].add.modification_time, 2);
	cr_assert_eq(s->ntombstones, 2);   /* (f, none) and (f, dv@1) */
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(synth, gaps_and_missing_actions)
{
	st_store st = tmp_store();
	lk_error err;
	commit(&st, 0, PROTO META("") ADD("a"), 0);
	commit(&st, 1, ADD("b"), 0);
	commit(&st, 3, ADD("c"), 0);
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert_str_eq(err.msg,
					 "versions are not contiguous: the commit file of version 2 is missing");
	/* versions before the gap are still readable */
	dl_snapshot *s = must_open(&st, 1);
	cr_assert_eq(s->nfiles, 2);
	dl_snapshot_free(s);
	commit(&st, 2, ADD("b2"), 0);
	s = must_open(&st, -1);
	cr_assert_eq(s->version, 3);
	cr_assert_eq(s->nfiles, 4);
	dl_snapshot_free(s);

	/* commit 0 gone, no checkpoint */
	cr_assert(st_remove(&st, "_delta_log/00000000000000000000.json", &err));
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "no checkpoint") != NULL, "%s", err.msg);

	/* an empty _delta_log */
	for (int v = 1; v <= 3; v++) {
		char p[64];
		snprintf(p, sizeof(p), "_delta_log/%020d.json", v);
		cr_assert(st_remove(&st, p, &err));
	}
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);

	/* protocol present, metaData missing */
	commit(&st, 0, PROTO ADD("a"), 0);
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "no metaData action") != NULL);

	/* malformed action: names file and line */
	commit(&st, 0, PROTO META("") "{\"add\":{\"path\":7}}\n", 0);
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.where, "00000000000000000000.json\" line 3") != NULL, "%s", err.where);

	/* unknown reader feature, refused by name */
	commit(&st, 0,
		   "{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
		   "\"readerFeatures\":[\"deletionVectors\",\"fancyNewThing\"],\"writerFeatures\":[]}}\n"
		   META(""), 0);
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_UNSUPPORTED);
	cr_assert_str_eq(err.msg, "unsupported Delta reader feature \"fancyNewThing\"");

	/* a partition column that is not in the schema */
	commit(&st, 0, PROTO
		   "{\"metaData\":{\"id\":\"t\",\"schemaString\":\"{\\\"type\\\":\\\"struct\\\","
		   "\\\"fields\\\":[]}\",\"partitionColumns\":[\"zz\"],\"configuration\":{}}}\n", 0);
	err = must_fail(&st);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "\"zz\"") != NULL, "%s", err.msg);

	/* column mapping honoured only with protocol support */
	commit(&st, 0, PROTO META("\"delta.columnMapping.mode\":\"name\""), 0);
	s = must_open(&st, -1);
	cr_assert_eq(s->column_mapping, DL_CM_NONE);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(synth, last_checkpoint_hint_is_optional)
{
	st_store st = tmp_store();
	commit(&st, 0, PROTO META("") ADD("a"), 0);
	commit(&st, 1, ADD("b"), 0);
	put(&st, "_last_checkpoint", "{not json");
	dl_snapshot *s = must_open(&st, -1);
	cr_assert_eq(s->nfiles, 2);
	dl_snapshot_free(s);
	/* points at a checkpoint that does not exist */
	put(&st, "_last_checkpoint", "{\"version\":1,\"size\":3}");
	s = must_open(&st, -1);
	cr_assert_eq(s->nfiles, 2);
	cr_assert_eq(s->checkpoint_version, -1);
	dl_snapshot_free(s);
	/* points past the end of the log */
	put(&st, "_last_checkpoint", "{\"version\":9,\"size\":3}");
	s = must_open(&st, -1);
	cr_assert_eq(s->version, 1);
	dl_snapshot_free(s);
	st_store_close(&st);
}

Test(synth, commit_timestamps_from_mtimes)
{
	st_store st = tmp_store();
	lk_error err;
	commit(&st, 0, PROTO META("") ADD("a"), 1000);
	commit(&st, 1, ADD("b"), 3000);
	commit(&st, 2, ADD("c"), 2000);    /* clock went back: becomes 3001 */
	commit(&st, 3, ADD("d"), 5000);
	lk_arena a;
	lk_arena_init(&a, 0);
	int64_t *ts;
	cr_assert(dl_log_commit_timestamps(&st, 0, 3, &a, &ts, &err), "%s", err.msg);
	cr_assert_eq(ts[0], 1000);
	cr_assert_eq(ts[1], 3000);
	cr_assert_eq(ts[2], 3001);
	cr_assert_eq(ts[3], 5000);
	cr_assert(dl_log_commit_timestamps(&st, 2, 2, &a, &ts, &err));
	cr_assert_eq(ts[0], 3001);
	cr_assert_not(dl_log_commit_timestamps(&st, 2, 4, &a, &ts, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);

	static const struct {
		int64_t ts, v;
	} at[] = {{1000, 0}, {2999, 0}, {3000, 1}, {3001, 2}, {4999, 2}, {5000, 3}};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int64_t v = -7;
		cr_assert(dl_log_version_at(&st, at[i].ts, &v, &err), "%s", err.msg);
		cr_assert_eq(v, at[i].v, "ts %" PRId64 ": %" PRId64, at[i].ts, v);
	}
	int64_t v;
	cr_assert_not(dl_log_version_at(&st, 999, &v, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_str_eq(err.msg, "timestamp 999 ms is before the earliest available version 0 "
							  "(committed at 1000 ms)");
	cr_assert_not(dl_log_version_at(&st, 5001, &v, &err));
	cr_assert_str_eq(err.msg, "timestamp 5001 ms is after the latest version 3 "
							  "(committed at 5000 ms)");

	dl_snapshot *s = must_open(&st, 2);
	cr_assert_eq(s->timestamp_ms, 2000);    /* the file's own mtime */
	dl_snapshot_free(s);
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	o.as_of_timestamp = true;
	o.timestamp_ms = 4000;
	cr_assert(dl_snapshot_open(&st, &o, &s, &err), "%s", err.msg);
	cr_assert_eq(s->version, 2);
	cr_assert_eq(s->nfiles, 3);
	dl_snapshot_free(s);
	o.timestamp_ms = 10;
	cr_assert_not(dl_snapshot_open(&st, &o, &s, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	lk_arena_free(&a);
	st_store_close(&st);
}

#define CI(ts) "{\"commitInfo\":{\"inCommitTimestamp\":" #ts ",\"operation\":\"WRITE\"}}\n"

Test(synth, in_commit_timestamps)
{
	st_store st = tmp_store();
	lk_error err;
	commit(&st, 0, PROTO META("") ADD("a"), 1000);
	commit(&st, 1, ADD("b"), 2000);
	/* ICT enabled from version 2 on; file mtimes are now meaningless */
	commit(&st, 2, CI(10000) META("\"delta.enableInCommitTimestamps\":\"true\","
								  "\"delta.inCommitTimestampEnablementVersion\":\"2\","
								  "\"delta.inCommitTimestampEnablementTimestamp\":\"10000\"")
		   ADD("c"), 900);
	commit(&st, 3, CI(20000) ADD("d"), 800);
	commit(&st, 4, CI(30000) ADD("e"), 700);
	dl_snapshot *s = must_open(&st, -1);
	cr_assert_eq(s->timestamp_ms, 30000);
	dl_snapshot_free(s);
	s = must_open(&st, 1);
	cr_assert_eq(s->timestamp_ms, 2000);
	dl_snapshot_free(s);

	lk_arena a;
	lk_arena_init(&a, 0);
	int64_t *ts;
	cr_assert(dl_log_commit_timestamps(&st, 0, 4, &a, &ts, &err), "%s", err.msg);
	int64_t want[] = {1000, 2000, 10000, 20000, 30000};
	for (int i = 0; i < 5; i++)
		cr_assert_eq(ts[i], want[i], "v%d: %" PRId64, i, ts[i]);
	static const struct {
		int64_t ts, v;
	} at[] = {{1000, 0}, {1500, 0}, {2000, 1}, {9999, 1}, {10000, 2},
			  {19999, 2}, {20000, 3}, {29999, 3}, {30000, 4}};
	for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
		int64_t v = -7;
		cr_assert(dl_log_version_at(&st, at[i].ts, &v, &err), "%s", err.msg);
		cr_assert_eq(v, at[i].v, "ts %" PRId64 ": %" PRId64, at[i].ts, v);
	}
	int64_t v;
	cr_assert_not(dl_log_version_at(&st, 30001, &v, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert_not(dl_log_version_at(&st, 999, &v, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);

	/* a commit after enablement without inCommitTimestamp is corrupt */
	commit(&st, 5, ADD("f"), 0);
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	dl_snapshot *bad = NULL;
	cr_assert_not(dl_snapshot_open(&st, &o, &bad, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, "inCommitTimestamp") != NULL, "%s", err.msg);
	lk_arena_free(&a);
	st_store_close(&st);
}

/* ---- multi-part checkpoints, written with our Parquet writer ------------ */

static lk_type *
cp_schema(lk_arena *a)
{
	lk_type *str = lk_type_new(a, LK_T_STRING);
	lk_type *lng = lk_type_new(a, LK_T_LONG);
	lk_type *in = lk_type_new(a, LK_T_INT);
	lk_type *boo = lk_type_new(a, LK_T_BOOLEAN);
	lk_type *map = lk_type_map(a, str, str, true);

	lk_type *proto = lk_type_struct(a, 2);
	proto->children[0] = (lk_field){"minReaderVersion", in, true, -1};
	proto->children[1] = (lk_field){"minWriterVersion", in, true, -1};
	lk_type *meta = lk_type_struct(a, 4);
	meta->children[0] = (lk_field){"id", str, true, -1};
	meta->children[1] = (lk_field){"schemaString", str, true, -1};
	meta->children[2] = (lk_field){"partitionColumns", lk_type_array(a, str, true), true, -1};
	meta->children[3] = (lk_field){"configuration", map, true, -1};
	lk_type *add = lk_type_struct(a, 5);
	add->children[0] = (lk_field){"path", str, true, -1};
	add->children[1] = (lk_field){"partitionValues", map, true, -1};
	add->children[2] = (lk_field){"size", lng, true, -1};
	add->children[3] = (lk_field){"modificationTime", lng, true, -1};
	add->children[4] = (lk_field){"dataChange", boo, true, -1};
	lk_type *root = lk_type_struct(a, 3);
	root->children[0] = (lk_field){"protocol", proto, true, -1};
	root->children[1] = (lk_field){"metaData", meta, true, -1};
	root->children[2] = (lk_field){"add", add, true, -1};
	return root;
}

static void
append_str(lk_column *c, const char *s)
{
	lk_column_append_bytes(c, s, (int64_t) strlen(s));
}

/* kind 0: protocol row, 1: metaData row, 2: add row with path */
static void
cp_row(lk_batch *b, int kind, const char *path)
{
	for (int k = 0; k < 3; k++) {
		lk_column *c = &b->cols[k];
		if (k != kind) {
			lk_column_append_null(c);
			continue;
		}
		if (kind == 0) {
			lk_column_append_i32(&c->children[0], 1);
			lk_column_append_i32(&c->children[1], 2);
		} else if (kind == 1) {
			append_str(&c->children[0], "t");
			append_str(&c->children[1], "{\"type\":\"struct\",\"fields\":[{\"name\":\"id\","
										"\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}");
			lk_column_append_list(&c->children[2]);     /* [] */
			lk_column_append_list(&c->children[3]);     /* {} */
		} else {
			append_str(&c->children[0], path);
			lk_column_append_list(&c->children[1]);
			lk_column_append_i64(&c->children[2], 10);
			lk_column_append_i64(&c->children[3], 20);
			lk_column_append_bool(&c->children[4], true);
		}
		lk_column_append_struct(c);
	}
}

static void
write_part(const lk_type *schema, const char *name, int first_kind, const char *const *adds)
{
	lk_error err;
	char fp[512];
	snprintf(fp, sizeof(fp), "%s/_delta_log/%s", tmpdir, name);
	pq_output out;
	cr_assert(pq_output_open_file(&out, fp, &err), "%s", err.msg);
	pq_writer_options o;
	pq_writer_options_init(&o);
	pq_writer *w = pq_writer_open(&out, schema, &o, &err);
	cr_assert_not_null(w, "%s", err.msg);
	lk_batch *b = lk_batch_new(schema);
	if (first_kind >= 0) {
		cp_row(b, 0, NULL);
		cp_row(b, 1, NULL);
	}
	for (int i = 0; adds[i]; i++)
		cp_row(b, 2, adds[i]);
	cr_assert(lk_batch_seal(b));
	cr_assert(pq_writer_write(w, b, &err), "%s", err.msg);
	cr_assert(pq_writer_close(w, false, NULL, &err), "%s", err.msg);
	pq_writer_free(w);
	lk_batch_free(b);
}

Test(synth, multi_part_checkpoint)
{
	st_store st = tmp_store();
	lk_error err;
	lk_arena a;
	lk_arena_init(&a, 0);
	commit(&st, 0, PROTO META("") ADD("j0"), 0);
	commit(&st, 1, ADD("j1"), 0);
	commit(&st, 2, ADD("j2"), 0);
	/* the checkpoint at 1 deliberately disagrees with the commits, so the
	 * result shows which one was read */
	const lk_type *schema = cp_schema(&a);
	const char *p1[] = {"cp-a", NULL};
	const char *p2[] = {"cp-b", "cp%20c", NULL};
	write_part(schema, "00000000000000000001.checkpoint.0000000001.0000000002.parquet", 0, p1);
	write_part(schema, "00000000000000000001.checkpoint.0000000002.0000000002.parquet", -1, p2);
	dl_snapshot *s = must_open(&st, -1);
	cr_assert_eq(s->checkpoint_version, 1);
	cr_assert_eq(s->nfiles, 4);
	const char *want[] = {"cp c", "cp-a", "cp-b", "j2"};
	for (int i = 0; i < 4; i++)
		cr_assert_str_eq(s->files[i].path, want[i]);
	cr_assert_eq(s->files[1].add.size, 10);
	cr_assert_eq(s->files[1].add.modification_time, 20);
	cr_assert_str_eq(lk_type_name(&s->arena, s->schema.type), "struct<id:long>");
	dl_snapshot_free(s);

	/* a missing part makes the checkpoint unusable: replay the commits */
	cr_assert(st_remove(&st, "_delta_log/00000000000000000001.checkpoint.0000000002.0000000002.parquet",
						&err));
	s = must_open(&st, -1);
	cr_assert_eq(s->checkpoint_version, -1);
	cr_assert_eq(s->nfiles, 3);
	cr_assert_str_eq(s->files[0].path, "j0");
	dl_snapshot_free(s);

	/* a corrupt checkpoint is an error naming it */
	put(&st, "00000000000000000001.checkpoint.parquet", "PAR1garbagePAR1");
	dl_snapshot_options o;
	dl_snapshot_options_init(&o);
	cr_assert_not(dl_snapshot_open(&st, &o, &s, &err));
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.where, "00000000000000000001.checkpoint.parquet") != NULL, "%s",
			  err.where);
	lk_arena_free(&a);
	st_store_close(&st);
}

/* v2 checkpoint in Parquet: UUID-named file with checkpointMetadata,
 * sidecar, protocol and metaData rows; the file actions in _sidecars/. */
Test(synth, v2_parquet_checkpoint_with_sidecars)
{
	st_store st = tmp_store();
	lk_error err;
	lk_arena a;
	lk_arena_init(&a, 0);
	commit(&st, 0, PROTO META("") ADD("j0"), 0);
	commit(&st, 1, ADD("j1"), 0);
	commit(&st, 2, ADD("j2"), 0);

	/* sidecars: add rows only (protocol / metaData columns null) */
	const lk_type *side = cp_schema(&a);
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/_delta_log/_sidecars", tmpdir);
	cr_assert_eq(mkdir(dir, 0755), 0);
	const char *s1[] = {"sc-a", NULL};
	const char *s2[] = {"sc-b", NULL};
	write_part(side, "_sidecars/one.parquet", -1, s1);
	write_part(side, "_sidecars/two%20x.parquet", -1, s2);

	/* main file */
	lk_type *str = lk_type_new(&a, LK_T_STRING), *lng = lk_type_new(&a, LK_T_LONG);
	lk_type *cm = lk_type_struct(&a, 1);
	cm->children[0] = (lk_field){"version", lng, true, -1};
	lk_type *sc = lk_type_struct(&a, 3);
	sc->children[0] = (lk_field){"path", str, true, -1};
	sc->children[1] = (lk_field){"sizeInBytes", lng, true, -1};
	sc->children[2] = (lk_field){"modificationTime", lng, true, -1};
	lk_type *main_t = lk_type_struct(&a, 5);
	main_t->children[0] = (lk_field){"checkpointMetadata", cm, true, -1};
	main_t->children[1] = (lk_field){"sidecar", sc, true, -1};
	main_t->children[2] = side->children[0];    /* protocol */
	main_t->children[3] = side->children[1];    /* metaData */
	main_t->children[4] = side->children[2];    /* add (unused) */
	lk_batch *b = lk_batch_new(main_t);
	/* row 0: checkpointMetadata; rows 1-2: sidecars; rows 3-4: protocol,
	 * metaData (filled through cp_row on a view of columns 2..4) */
	const char *paths[] = {"one.parquet", "two%2520x.parquet"};
	for (int r = 0; r < 5; r++) {
		for (int k = 0; k < 2; k++) {
			lk_column *c = &b->cols[k];
			if (k == 0 && r == 0) {
				lk_column_append_i64(&c->children[0], 2);
				lk_column_append_struct(c);
			} else if (k == 1 && (r == 1 || r == 2)) {
				append_str(&c->children[0], paths[r - 1]);
				lk_column_append_i64(&c->children[1], 1);
				lk_column_append_i64(&c->children[2], 1);
				lk_column_append_struct(c);
			} else {
				lk_column_append_null(c);
			}
		}
		lk_batch view = {side, 0, 3, b->cols + 2};
		cp_row(&view, r == 3 ? 0 : r == 4 ? 1 : 3, NULL);
	}
	cr_assert(lk_batch_seal(b));
	char fp[512];
	snprintf(fp, sizeof(fp), "%s/_delta_log/00000000000000000002.checkpoint."
			 "80a083e8-7026-4e79-81be-64bd76c43a11.parquet", tmpdir);
	pq_output out;
	cr_assert(pq_output_open_file(&out, fp, &err));
	pq_writer_options o;
	pq_writer_options_init(&o);
	pq_writer *w = pq_writer_open(&out, main_t, &o, &err);
	cr_assert_not_null(w, "%s", err.msg);
	cr_assert(pq_writer_write(w, b, &err), "%s", err.msg);
	cr_assert(pq_writer_close(w, false, NULL, &err), "%s", err.msg);
	pq_writer_free(w);
	lk_batch_free(b);
	put(&st, "_last_checkpoint", "{\"version\":2,\"size\":5}");

	dl_snapshot *s = must_open(&st, -1);
	cr_assert_eq(s->version, 2);
	cr_assert_eq(s->checkpoint_version, 2);
	cr_assert_eq(s->nfiles, 2);
	cr_assert_str_eq(s->files[0].path, "sc-a");
	cr_assert_str_eq(s->files[1].path, "sc-b");
	dl_snapshot_free(s);

	/* a missing sidecar is an error naming it */
	cr_assert(st_remove(&st, "_delta_log/_sidecars/two%20x.parquet", &err));
	dl_snapshot_options so;
	dl_snapshot_options_init(&so);
	cr_assert_not(dl_snapshot_open(&st, &so, &s, &err));
	cr_assert_eq(err.code, LK_ERR_NOT_FOUND);
	cr_assert(strstr(err.msg, "_sidecars/two%20x.parquet") != NULL, "%s", err.msg);

	/* the listing sees every kind of file */
	dl_log_file *f;
	size_t n;
	cr_assert(dl_log_list(&st, &a, &f, &n, &err));
	cr_assert_eq(n, 4);     /* 3 commits + the v2 checkpoint; not _last_checkpoint */
	cr_assert_eq(f[2].kind, DL_LOG_CHECKPOINT_V2);
	cr_assert_eq(f[3].kind, DL_LOG_COMMIT);
	cr_assert_eq(f[3].version, 2);
	lk_arena_free(&a);
	st_store_close(&st);
}
