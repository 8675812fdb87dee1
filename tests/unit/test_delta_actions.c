#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arena.h"
#include "common/buf.h"
#include "delta/actions.h"
#include "storage/storage.h"

static const char *
testdata(void)
{
	const char *t = getenv("LAKESYNC_TESTDATA");
	return t ? t : "../shared/testdata";
}

static bool
parse(const char *text, lk_arena *a, dl_action **acts, size_t *n, lk_error *err)
{
	return dl_actions_parse(text, strlen(text), "_delta_log/00000000000000000007.json",
							a, acts, n, err);
}

Test(actions, add_with_dv_and_remove)
{
	const char *log =
		"{\"commitInfo\":{\"timestamp\":1697571681016,\"operation\":\"DELETE\","
		"\"inCommitTimestamp\":1697571681000}}\n"
		"{\"add\":{\"path\":\"a%20b/part-0.parquet\",\"partitionValues\":{\"p\":\"x\",\"q\":null},"
		"\"size\":765,\"modificationTime\":1697571663000,\"dataChange\":true,"
		"\"stats\":\"{\\\"numRecords\\\":50}\",\"tags\":{\"k\":\"v\"},"
		"\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"h{&8fAg]=QYJvl-}c!yH\","
		"\"offset\":1,\"sizeInBytes\":34,\"cardinality\":1},\"baseRowId\":10,"
		"\"defaultRowCommitVersion\":3,\"clusteringProvider\":\"liquid\",\"futureField\":[1]}}\n"
		"\r\n"
		"{\"remove\":{\"path\":\"p.parquet\",\"deletionTimestamp\":1697571680016,"
		"\"dataChange\":true,\"extendedFileMetadata\":true,\"partitionValues\":{},"
		"\"size\":765}}\n"
		"{\"someFutureAction\":{\"x\":1}}\n"
		"{\"txn\":{\"appId\":\"lakesync/p/s.t\",\"version\":42,\"lastUpdated\":5}}";
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_action *acts;
	size_t n;
	cr_assert(parse(log, &a, &acts, &n, &err), "%s %s", err.msg, err.where);
	cr_assert_eq(n, 4);
	cr_assert_eq(acts[0].type, DL_ACT_COMMIT_INFO);
	cr_assert(acts[0].u.commit_info.has_in_commit_timestamp);
	cr_assert_eq(acts[0].u.commit_info.in_commit_timestamp, 1697571681000LL);
	cr_assert_eq(acts[0].u.commit_info.timestamp, 1697571681016LL);
	cr_assert_str_eq(acts[0].u.commit_info.operation, "DELETE");

	const dl_add *ad = &acts[1].u.add;
	cr_assert_eq(acts[1].type, DL_ACT_ADD);
	cr_assert_str_eq(ad->path, "a%20b/part-0.parquet");
	cr_assert_eq(ad->partition_values.n, 2);
	bool found;
	cr_assert_str_eq(dl_map_get(&ad->partition_values, "p", &found), "x");
	cr_assert_null(dl_map_get(&ad->partition_values, "q", &found));
	cr_assert(found);
	cr_assert_null(dl_map_get(&ad->partition_values, "zz", &found));
	cr_assert_not(found);
	cr_assert_eq(ad->size, 765);
	cr_assert_eq(ad->modification_time, 1697571663000LL);
	cr_assert(ad->data_change);
	cr_assert_str_eq(ad->stats, "{\"numRecords\":50}");
	cr_assert(ad->has_tags);
	cr_assert_str_eq(ad->tags.items[0].value, "v");
	cr_assert(ad->has_dv);
	cr_assert_eq(ad->dv.storage_type, 'u');
	cr_assert_str_eq(ad->dv.path_or_inline, "h{&8fAg]=QYJvl-}c!yH");
	cr_assert(ad->dv.has_offset);
	cr_assert_eq(ad->dv.offset, 1);
	cr_assert_eq(ad->dv.size_in_bytes, 34);
	cr_assert_eq(ad->dv.cardinality, 1);
	cr_assert_str_eq(dl_dv_unique_id(&ad->dv, &a), "uh{&8fAg]=QYJvl-}c!yH@1");
	cr_assert_eq(ad->base_row_id, 10);
	cr_assert_eq(ad->default_row_commit_version, 3);
	cr_assert_str_eq(ad->clustering_provider, "liquid");

	const dl_remove *rm = &acts[2].u.remove;
	cr_assert_eq(acts[2].type, DL_ACT_REMOVE);
	cr_assert_str_eq(rm->path, "p.parquet");
	cr_assert_eq(rm->deletion_timestamp, 1697571680016LL);
	cr_assert(rm->has_extended_file_metadata && rm->extended_file_metadata);
	cr_assert(rm->has_size);
	cr_assert_eq(rm->size, 765);
	cr_assert_not(rm->has_dv);

	cr_assert_eq(acts[3].type, DL_ACT_TXN);
	cr_assert_str_eq(acts[3].u.txn.app_id, "lakesync/p/s.t");
	cr_assert_eq(acts[3].u.txn.version, 42);
	cr_assert_eq(acts[3].u.txn.last_updated, 5);
	lk_arena_free(&a);
}

Test(actions, protocol_metadata_domain_sidecar)
{
	const char *log =
		"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,"
		"\"readerFeatures\":[\"deletionVectors\",\"columnMapping\"],\"writerFeatures\":[]}}\n"
		"{\"metaData\":{\"id\":\"t1\",\"format\":{\"provider\":\"parquet\",\"options\":{}},"
		"\"schemaString\":\"{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[]}\","
		"\"partitionColumns\":[\"p\"],\"configuration\":{\"delta.enableDeletionVectors\":\"true\"},"
		"\"createdTime\":1697571659174}}\n"
		"{\"domainMetadata\":{\"domain\":\"delta.rowTracking\",\"configuration\":\"{}\",\"removed\":false}}\n"
		"{\"checkpointMetadata\":{\"version\":2}}\n"
		"{\"sidecar\":{\"path\":\"x.parquet\",\"sizeInBytes\":9367,\"modificationTime\":1714496115780}}\n"
		"{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n"
		"{\"cdc\":{\"path\":\"_change_data/c.parquet\",\"partitionValues\":{},\"size\":12,\"dataChange\":false}}\n";
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_action *acts;
	size_t n;
	cr_assert(parse(log, &a, &acts, &n, &err), "%s %s", err.msg, err.where);
	cr_assert_eq(n, 7);
	const dl_protocol *p = &acts[0].u.protocol;
	cr_assert_eq(p->min_reader_version, 3);
	cr_assert_eq(p->min_writer_version, 7);
	cr_assert(p->has_reader_features);
	cr_assert_eq(p->reader_features.n, 2);
	cr_assert_str_eq(p->reader_features.items[1], "columnMapping");
	cr_assert(p->has_writer_features);
	cr_assert_eq(p->writer_features.n, 0);
	const dl_metadata *m = &acts[1].u.metadata;
	cr_assert_str_eq(m->id, "t1");
	cr_assert_null(m->name);
	cr_assert_str_eq(m->format_provider, "parquet");
	cr_assert_str_eq(m->schema_string, "{\"type\":\"struct\",\"fields\":[]}");
	cr_assert_eq(m->partition_columns.n, 1);
	cr_assert_str_eq(m->partition_columns.items[0], "p");
	cr_assert_str_eq(dl_map_get(&m->configuration, "delta.enableDeletionVectors", NULL),
					 "true");
	cr_assert_eq(m->created_time, 1697571659174LL);
	cr_assert_str_eq(acts[2].u.domain_metadata.domain, "delta.rowTracking");
	cr_assert_not(acts[2].u.domain_metadata.removed);
	cr_assert_eq(acts[3].u.checkpoint_metadata.version, 2);
	cr_assert_eq(acts[4].u.sidecar.size_in_bytes, 9367);
	cr_assert_not(acts[5].u.protocol.has_reader_features);
	cr_assert_not(acts[5].u.protocol.has_writer_features);
	cr_assert_eq(acts[6].type, DL_ACT_CDC);
	cr_assert_eq(acts[6].u.cdc.size, 12);
	lk_arena_free(&a);
}

static void
expect_corrupt(const char *log, const char *msg_part, const char *where_part)
{
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_action *acts;
	size_t n;
	lk_error_clear(&err);
	cr_assert_not(parse(log, &a, &acts, &n, &err), "accepted: %s", log);
	cr_assert_eq(err.code, LK_ERR_CORRUPT);
	cr_assert(strstr(err.msg, msg_part) != NULL, "msg=%s", err.msg);
	cr_assert(strstr(err.where, where_part) != NULL, "where=%s", err.where);
	lk_arena_free(&a);
}

Test(actions, malformed_known_actions_are_corrupt)
{
	expect_corrupt("{\"commitInfo\":{}}\n{\"add\":{\"path\":\"x\",\"partitionValues\":{},"
				   "\"size\":\"12\",\"modificationTime\":1,\"dataChange\":true}}\n",
				   "malformed add action: field \"size\" must be an integer",
				   "file \"_delta_log/00000000000000000007.json\" line 2, field \"add.size\"");
	expect_corrupt("{\"add\":{\"partitionValues\":{},\"size\":1,\"modificationTime\":1,"
				   "\"dataChange\":true}}",
				   "missing required field \"path\"", "line 1, field \"add.path\"");
	expect_corrupt("\n\n{\"protocol\":{\"minReaderVersion\":1}}",
				   "missing required field \"minWriterVersion\"", "line 3");
	expect_corrupt("{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2,"
				   "\"readerFeatures\":[1]}}",
				   "element 0 of \"readerFeatures\" must be a string", "protocol.readerFeatures");
	expect_corrupt("{\"add\":{\"path\":\"x\",\"partitionValues\":{\"p\":1},\"size\":1,"
				   "\"modificationTime\":1,\"dataChange\":true}}",
				   "value of \"p\" in \"partitionValues\" must be a string", "add.partitionValues");
	expect_corrupt("{\"add\":{\"path\":\"x\",\"partitionValues\":{},\"size\":1,"
				   "\"modificationTime\":1,\"dataChange\":true,\"deletionVector\":"
				   "{\"storageType\":\"z\",\"pathOrInlineDv\":\"a\",\"sizeInBytes\":1,\"cardinality\":1}}}",
				   "unknown deletion vector storage type \"z\"", "add.deletionVector.storageType");
	expect_corrupt("{\"metaData\":{\"schemaString\":\"{}\"}}", "missing required field \"id\"",
				   "metaData.id");
	expect_corrupt("{\"txn\":{\"appId\":\"a\",\"version\":1.5}}", "must be an integer",
				   "txn.version");
	expect_corrupt("{\"txn\":[1]}", "the action value must be an object", "line 1");
	expect_corrupt("{\"add\":{\"path\":\"x\"", "invalid JSON in Delta log", "line 1 column");
	expect_corrupt("[1,2]", "not a JSON object", "line 1");
	expect_corrupt("{\"protocol\":{\"minReaderVersion\":4294967296,\"minWriterVersion\":2}}",
				   "out of range", "protocol.minReaderVersion");
}

Test(actions, write_is_deterministic_and_round_trips)
{
	const char *in =
		"{\"add\":{\"clusteringProvider\":\"liquid\",\"size\":765,\"path\":\"p=1/a%20b.parquet\","
		"\"dataChange\":false,\"partitionValues\":{\"p\":\"1\",\"q\":null},\"modificationTime\":5,"
		"\"deletionVector\":{\"cardinality\":6,\"sizeInBytes\":40,\"storageType\":\"i\","
		"\"pathOrInlineDv\":\"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L\"},"
		"\"stats\":\"{\\\"numRecords\\\":3}\"}}";
	const char *want =
		"{\"add\":{\"path\":\"p=1/a%20b.parquet\",\"partitionValues\":{\"p\":\"1\",\"q\":null},"
		"\"size\":765,\"modificationTime\":5,\"dataChange\":false,"
		"\"stats\":\"{\\\"numRecords\\\":3}\",\"deletionVector\":{\"storageType\":\"i\","
		"\"pathOrInlineDv\":\"wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L\","
		"\"sizeInBytes\":40,\"cardinality\":6},\"clusteringProvider\":\"liquid\"}}\n";
	lk_arena a;
	lk_arena_init(&a, 0);
	lk_error err;
	dl_action *acts;
	size_t n;
	cr_assert(parse(in, &a, &acts, &n, &err), "%s", err.msg);
	cr_assert_eq(n, 1);
	lk_buf b = LK_BUF_INIT;
	cr_assert(dl_action_write(&b, &acts[0], &err), "%s", err.msg);
	cr_assert_str_eq(lk_buf_cstr(&b), want);
	/* reparse the output: same line again */
	dl_action *again;
	cr_assert(dl_actions_parse((char *) b.data, b.len, "x", &a, &again, &n, &err));
	lk_buf b2 = LK_BUF_INIT;
	cr_assert(dl_action_write(&b2, &again[0], &err));
	cr_assert_str_eq(lk_buf_cstr(&b2), want);

	/* every type round-trips byte for byte */
	const char *lines[] = {
		"{\"protocol\":{\"minReaderVersion\":3,\"minWriterVersion\":7,\"readerFeatures\":[\"deletionVectors\"],\"writerFeatures\":[\"deletionVectors\",\"changeDataFeed\"]}}\n",
		"{\"metaData\":{\"id\":\"x\",\"name\":\"n\",\"format\":{\"provider\":\"parquet\",\"options\":{}},\"schemaString\":\"{}\",\"partitionColumns\":[\"a\"],\"configuration\":{\"k\":\"v\"},\"createdTime\":7}}\n",
		"{\"remove\":{\"path\":\"f\",\"deletionTimestamp\":9,\"dataChange\":true,\"extendedFileMetadata\":true,\"partitionValues\":{},\"size\":1,\"deletionVector\":{\"storageType\":\"u\",\"pathOrInlineDv\":\"ab^-aqEH.-t@S}K{vb[*k^\",\"offset\":4,\"sizeInBytes\":40,\"cardinality\":6}}}\n",
		"{\"cdc\":{\"path\":\"_change_data/x\",\"partitionValues\":{},\"size\":3,\"dataChange\":false}}\n",
		"{\"txn\":{\"appId\":\"lakesync/p/s.t\",\"version\":81985529216486895}}\n",
		"{\"commitInfo\":{\"inCommitTimestamp\":17,\"timestamp\":18,\"operation\":\"WRITE\",\"operationParameters\":{\"mode\":\"Append\"}}}\n",
		"{\"domainMetadata\":{\"domain\":\"d\",\"configuration\":\"{}\",\"removed\":true}}\n",
		"{\"checkpointMetadata\":{\"version\":2}}\n",
		"{\"sidecar\":{\"path\":\"s.parquet\",\"sizeInBytes\":1,\"modificationTime\":2}}\n",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		cr_assert(parse(lines[i], &a, &acts, &n, &err), "%s: %s", lines[i], err.msg);
		cr_assert_eq(n, 1);
		lk_buf_reset(&b);
		cr_assert(dl_action_write(&b, &acts[0], &err));
		cr_assert_str_eq(lk_buf_cstr(&b), lines[i]);
	}

	/* commitInfo built by a writer: inCommitTimestamp moves first */
	dl_action ci = {.type = DL_ACT_COMMIT_INFO};
	ci.u.commit_info.json = "{\"timestamp\":5,\"operation\":\"WRITE\"}";
	ci.u.commit_info.has_in_commit_timestamp = true;
	ci.u.commit_info.in_commit_timestamp = 4;
	lk_buf_reset(&b);
	cr_assert(dl_action_write(&b, &ci, &err));
	cr_assert_str_eq(lk_buf_cstr(&b),
					 "{\"commitInfo\":{\"inCommitTimestamp\":4,\"timestamp\":5,\"operation\":\"WRITE\"}}\n");

	/* invalid input to the writer */
	dl_action bad = {.type = DL_ACT_ADD};
	cr_assert_not(dl_action_write(&b, &bad, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	bad.u.add.path = "\xff\xfe";
	cr_assert_not(dl_action_write(&b, &bad, &err));
	cr_assert_eq(err.code, LK_ERR_INVALID);
	cr_assert(strstr(err.msg, "UTF-8") != NULL);
	lk_buf_free(&b);
	lk_buf_free(&b2);
	lk_arena_free(&a);
}

/* Every commit file of the golden corpus parses; count the actions. */
Test(actions, golden_commits_parse)
{
	char root[1024];
	snprintf(root, sizeof(root), "%s/delta-golden", testdata());
	DIR *d = opendir(root);
	if (!d)
		cr_skip_test("no test data at %s", root);
	lk_arena a;
	lk_arena_init(&a, 0);
	int files = 0;
	long adds = 0, protocols = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char logdir[1400];
		snprintf(logdir, sizeof(logdir), "%s/%s/delta/_delta_log", root, de->d_name);
		DIR *ld = opendir(logdir);
		if (!ld)
			continue;
		struct dirent *le;
		while ((le = readdir(ld))) {
			size_t L = strlen(le->d_name);
			if (L != 25 || strcmp(le->d_name + 20, ".json") != 0)
				continue;
			char fp[1700];
			snprintf(fp, sizeof(fp), "%s/%s", logdir, le->d_name);
			FILE *f = fopen(fp, "rb");
			cr_assert_not_null(f);
			static char buf[1 << 20];
			size_t len = fread(buf, 1, sizeof(buf), f);
			fclose(f);
			lk_error err;
			dl_action *acts;
			size_t n;
			cr_assert(dl_actions_parse(buf, len, fp, &a, &acts, &n, &err),
					  "%s: %s (%s)", fp, err.msg, err.where);
			for (size_t i = 0; i < n; i++) {
				adds += acts[i].type == DL_ACT_ADD;
				protocols += acts[i].type == DL_ACT_PROTOCOL;
			}
			files++;
			lk_arena_reset(&a);
		}
		closedir(ld);
	}
	closedir(d);
	/* counted independently with Python's json module */
	cr_assert_eq(files, 163);
	cr_assert_eq(adds, 246);
	cr_assert_eq(protocols, 60);
	lk_arena_free(&a);
}
