/*
 * actions.h — Delta log actions: one JSON line of a commit ⇄ a typed
 * dl_action (prefix `dl_`).
 *
 * Parsing follows PROTOCOL.md "Actions": unknown action types (and unknown
 * fields) are ignored for forward compatibility; a known action that is
 * malformed (a required field missing or of the wrong JSON type) fails with
 * LK_ERR_CORRUPT, `where` naming the file, the line number and the field.
 *
 * Every string and array of a parsed action lives in the arena given to the
 * parser; nothing is owned by the action itself.
 *
 * Writing produces one compact JSON object per action followed by '\n',
 * with keys in the protocol's documented order, optional fields omitted when
 * absent — byte-for-byte deterministic for the same action.
 */
#ifndef DL_ACTIONS_H
#define DL_ACTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/arena.h"
#include "common/buf.h"
#include "common/error.h"

/* A string → string map; value NULL means JSON null (e.g. a null partition
 * value). Order is the order in the source. */
typedef struct dl_kv {
	const char *key;
	const char *value;
} dl_kv;

typedef struct dl_map {
	dl_kv *items;
	int n;
} dl_map;

typedef struct dl_strings {
	const char **items;
	int n;
} dl_strings;

/* Deletion vector descriptor (PROTOCOL.md "Deletion Vector Descriptor"). */
typedef struct dl_dv {
	char storage_type;          /* 'u', 'i' or 'p' */
	const char *path_or_inline; /* z85 uuid (+prefix), z85 data, or a path */
	bool has_offset;
	int32_t offset;             /* byte offset in the DV file (0 if absent) */
	int32_t size_in_bytes;
	int64_t cardinality;
	bool has_max_row_index;
	int64_t max_row_index;      /* optional, written by some engines */
} dl_dv;

typedef struct dl_protocol {
	int32_t min_reader_version;
	int32_t min_writer_version;
	bool has_reader_features;   /* the list is present (may be empty) */
	dl_strings reader_features;
	bool has_writer_features;
	dl_strings writer_features;
} dl_protocol;

typedef struct dl_metadata {
	const char *id;
	const char *name;           /* NULL when absent */
	const char *description;    /* NULL when absent */
	const char *format_provider;/* "parquet" when absent */
	dl_map format_options;
	const char *schema_string;  /* NULL when absent (reported on use) */
	dl_strings partition_columns;
	dl_map configuration;
	bool has_created_time;
	int64_t created_time;
} dl_metadata;

typedef struct dl_add {
	const char *path;           /* as in the log: URI-encoded */
	dl_map partition_values;
	int64_t size;
	int64_t modification_time;
	bool data_change;
	const char *stats;          /* JSON text, NULL when absent */
	bool has_tags;
	dl_map tags;
	bool has_dv;
	dl_dv dv;
	bool has_base_row_id;
	int64_t base_row_id;
	bool has_default_row_commit_version;
	int64_t default_row_commit_version;
	const char *clustering_provider;    /* NULL when absent */
} dl_add;

typedef struct dl_remove {
	const char *path;
	bool has_deletion_timestamp;
	int64_t deletion_timestamp;
	bool data_change;
	bool has_extended_file_metadata;
	bool extended_file_metadata;
	bool has_partition_values;
	dl_map partition_values;
	bool has_size;
	int64_t size;
	const char *stats;
	bool has_tags;
	dl_map tags;
	bool has_dv;
	dl_dv dv;
	bool has_base_row_id;
	int64_t base_row_id;
	bool has_default_row_commit_version;
	int64_t default_row_commit_version;
} dl_remove;

typedef struct dl_cdc {
	const char *path;
	dl_map partition_values;
	int64_t size;
	bool data_change;
	bool has_tags;
	dl_map tags;
} dl_cdc;

typedef struct dl_txn {
	const char *app_id;
	int64_t version;
	bool has_last_updated;
	int64_t last_updated;
} dl_txn;

typedef struct dl_commit_info {
	const char *json;           /* the commitInfo object, compact JSON */
	bool has_in_commit_timestamp;
	int64_t in_commit_timestamp;
	bool has_timestamp;
	int64_t timestamp;
	const char *operation;      /* NULL when absent */
} dl_commit_info;

typedef struct dl_domain_metadata {
	const char *domain;
	const char *configuration;
	bool removed;
} dl_domain_metadata;

typedef struct dl_checkpoint_metadata {
	int64_t version;
	bool has_tags;
	dl_map tags;
} dl_checkpoint_metadata;

typedef struct dl_sidecar {
	const char *path;
	int64_t size_in_bytes;
	int64_t modification_time;
	bool has_tags;
	dl_map tags;
} dl_sidecar;

typedef enum dl_action_type {
	DL_ACT_PROTOCOL,
	DL_ACT_METADATA,
	DL_ACT_ADD,
	DL_ACT_REMOVE,
	DL_ACT_CDC,
	DL_ACT_TXN,
	DL_ACT_COMMIT_INFO,
	DL_ACT_DOMAIN_METADATA,
	DL_ACT_CHECKPOINT_METADATA,
	DL_ACT_SIDECAR,
} dl_action_type;

typedef struct dl_action {
	dl_action_type type;
	union {
		dl_protocol protocol;
		dl_metadata metadata;
		dl_add add;
		dl_remove remove;
		dl_cdc cdc;
		dl_txn txn;
		dl_commit_info commit_info;
		dl_domain_metadata domain_metadata;
		dl_checkpoint_metadata checkpoint_metadata;
		dl_sidecar sidecar;
	} u;
} dl_action;

/* JSON key of an action type ("add", "metaData", ...). Static string. */
const char *dl_action_name(dl_action_type t);

/* Parse one line (not NUL-terminated; trailing '\r' allowed). On success
 * *got is true and *out is filled, or *got is false for a blank line, an
 * unknown action type, or a null action value.  `file` and `line` are only
 * used for messages. Strings go to arena a. */
bool dl_action_parse_line(const char *text, size_t len, const char *file,
						  int64_t line, lk_arena *a, dl_action *out, bool *got,
						  lk_error *err);

/* Parse a whole commit (newline-delimited JSON) into an array of actions
 * in file order, allocated in arena a. */
bool dl_actions_parse(const char *data, size_t len, const char *file,
					  lk_arena *a, dl_action **out, size_t *n, lk_error *err);

/* Append one action as a JSON line (with '\n') to out. Fails with
 * LK_ERR_INVALID when a required field is missing (NULL path, ...) or a
 * commitInfo json is not a JSON object. */
bool dl_action_write(lk_buf *out, const dl_action *a, lk_error *err);

/* The DV's unique id (PROTOCOL.md "Derived Fields"):
 * "<storageType><pathOrInlineDv>" or "...@<offset>" when offset is
 * present. In arena a. */
char *dl_dv_unique_id(const dl_dv *dv, lk_arena *a);

/* Value of key in map, or NULL (also NULL when the value is null; use
 * *found to tell them apart; found may be NULL). */
const char *dl_map_get(const dl_map *m, const char *key, bool *found);

#endif
