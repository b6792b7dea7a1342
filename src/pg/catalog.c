/*
 * catalog.c — every SQL statement the workers and vtp_enqueue run, in one
 * place. All parameterised; table names are qualified with the extension's
 * schema (quoted), so a worker's search_path cannot redirect them. Status
 * changes are compare-and-set on (status, attempts): a stale worker's late
 * update changes nothing.
 */
#include "catalog_int.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xlog.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "names.h"
#include "s3event.h"

static MemoryContext result_cxt = NULL;

/*
 * Which catalog this is, as every task message says it: the cluster's
 * system identifier (pg_control_system()) and the database's OID. A
 * physical replica promoted in its primary's place has both, so its workers
 * carry on with the tasks in flight; pg_upgrade (a new initdb) and a
 * dump/restore change them, which claim() in transcode.c copes with by
 * looking the video up. No SQL object holds it, so no upgrade script needed.
 */
const char *
vtp_catalog_identity(void)
{
	static char ident[48];

	if (ident[0] == '\0')
		snprintf(ident, sizeof(ident), UINT64_FORMAT ":%u", GetSystemIdentifier(), MyDatabaseId);
	return ident;
}

void
catalog_begin(void)
{
	result_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
catalog_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	MemoryContextSwitchTo(result_cxt);
}

/* Schema of the installed extension, or InvalidOid; its version into version. */
static Oid
extension_schema(char *version, size_t vlen)
{
	Relation	r = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("vtp"));
	scan = systable_beginscan(r, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(r), &isnull);

		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
		if (version)
			strlcpy(version, isnull ? "" : TextDatumGetCString(d), vlen);
	}
	systable_endscan(scan);
	table_close(r, AccessShareLock);
	return nsp;
}

/* The extension's schema, quoted; ERROR if it is not installed. */
char *
catalog_schema_quoted(void)
{
	Oid			nsp = extension_schema(NULL, 0);

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"vtp\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId))));
	return pstrdup(quote_identifier(get_namespace_name(nsp)));
}

char *
catalog_rel(const char *name)
{
	return psprintf("%s.%s", catalog_schema_quoted(), name);
}

/*
 * Installed, at the version of this library? The workers wait (and say why)
 * until ALTER EXTENSION vtp UPDATE has run after an upgrade.
 */
bool
catalog_extension_ready(char *why, size_t whylen)
{
	char		version[64] = "";

	if (!OidIsValid(extension_schema(version, sizeof(version))))
	{
		snprintf(why, whylen, "extension vtp is not installed in this database");
		return false;
	}
	if (strcmp(version, VTP_VERSION) != 0)
	{
		snprintf(why, whylen, "extension vtp is at version %s but the library is %s: run ALTER EXTENSION vtp UPDATE",
				 version, VTP_VERSION);
		return false;
	}
	return true;
}

uint64
catalog_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "vtp: catalog statement failed (%s): %s", SPI_result_code_string(rc), sql);
	return SPI_processed;
}

MemoryContext
catalog_result_cxt(void)
{
	return result_cxt ? result_cxt : CurrentMemoryContext;
}

char *
catalog_col(int row, int c)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, c);

	return v ? MemoryContextStrdup(result_cxt ? result_cxt : CurrentMemoryContext, v) : NULL;
}

#define run catalog_run
#define rel catalog_rel
#define col catalog_col

/* Is sequencer a (of the announced version) older than b (of a known one)? */
static bool
older(const char *a, const char *b)
{
	return a && b && a[0] && b[0] && s3_sequencer_cmp(a, b) < 0;
}

/*
 * A key vtp handed out (<upload prefix><uuid>/…) whose video exists with
 * another version of the object: a presigned URL used twice. The newer
 * upload replaces the video while it has not started (or failed because the
 * object changed under it); otherwise the first one stays the video.
 */
static vtp_reg
register_again(const char *id, const char *bucket, const char *key, const char *etag, int64 size,
			   const char *sequencer)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID};
	Datum		v[5] = {TXT(id), TXT(etag), Int64GetDatum(size), TXT(sequencer), TXT(key)};
	char		nulls[5] = {' ', ' ', size < 0 ? 'n' : ' ', ' ', ' '};
	char	   *t = rel("vtp_videos");
	char	   *old_bucket,
			   *old_key,
			   *old_seq;

	if (run(psprintf("SELECT bucket, key, source_sequencer, etag = $2 FROM %s WHERE id = $1::pg_catalog.uuid FOR UPDATE", t),
			2, types, v, NULL, SPI_OK_SELECT) != 1)
		return VTP_REG_ID_TAKEN;	/* gone meanwhile */
	old_bucket = col(0, 1);
	old_key = col(0, 2);
	old_seq = col(0, 3);
	if (strcmp(old_bucket, bucket) != 0 || strcmp(old_key, key) != 0)
		return VTP_REG_ID_TAKEN;
	if (strcmp(col(0, 4), "t") == 0)
		return VTP_REG_EXISTS;
	if (older(sequencer, old_seq))
		return VTP_REG_SUPERSEDED;
	if (run(psprintf("UPDATE %s SET etag = $2, source_size = $3, source_sequencer = $4, status = 'Pending', "
					 "attempts = 0, error_code = NULL, error = NULL, probe = NULL, progress = NULL, "
					 "task_sent_at = NULL, claimed_by = NULL, lease_until = NULL "
					 "WHERE id = $1::pg_catalog.uuid AND key = $5 AND (status = 'Pending' OR "
					 "(status = 'Failed' AND error_code = 'source_changed'))", t),
			5, types, v, nulls, SPI_OK_UPDATE) == 1)
		return VTP_REG_REPLACED;
	return VTP_REG_ID_TAKEN;
}

/*
 * Record a source object once per version (bucket, key, ETag). A key vtp
 * handed out carries its video's id, which the row then gets. An
 * announcement older (by S3's sequencer) than a version already known for
 * the key is ignored: events come out of order.
 */
vtp_reg
catalog_register(const char *bucket, const char *key, const char *etag, int64 size,
				 const char *sequencer, char *id_out)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID};
	char		hint[VTP_UUID_SIZE];
	bool		has_hint = vtp_key_video_id(key, vtp_upload_prefix, hint);
	Datum		v[6] = {TXT(bucket), TXT(key), TXT(etag), Int64GetDatum(size), TXT(sequencer),
	has_hint ? TXT(hint) : (Datum) 0};
	char		nulls[6] = {' ', ' ', ' ', size < 0 ? 'n' : ' ', ' ', has_hint ? ' ' : 'n'};
	char	   *t = rel("vtp_videos");
	uint64		n,
				i;

	id_out[0] = '\0';
	if (has_hint)
	{
		strlcpy(id_out, hint, VTP_UUID_SIZE);
		if (run(psprintf("SELECT 1 FROM %s WHERE id = $6::pg_catalog.uuid", t), 6, types, v, nulls, SPI_OK_SELECT) == 1)
			return register_again(hint, bucket, key, etag, size, sequencer);
	}
	else
	{
		n = run(psprintf("SELECT source_sequencer FROM %s WHERE bucket = $1 AND key = $2 AND etag <> $3", t),
				3, types, v, nulls, SPI_OK_SELECT);
		for (i = 0; i < n; i++)
			if (older(sequencer, col(i, 1)))
				return VTP_REG_SUPERSEDED;
	}
	if (run(psprintf("INSERT INTO %s (id, bucket, key, etag, source_size, source_sequencer) "
					 "VALUES (COALESCE($6::pg_catalog.uuid, pg_catalog.gen_random_uuid()), $1, $2, $3, $4, $5) "
					 "ON CONFLICT DO NOTHING RETURNING id::pg_catalog.text", t),
			6, types, v, nulls, SPI_OK_INSERT_RETURNING) == 1)
	{
		strlcpy(id_out, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), VTP_UUID_SIZE);
		return VTP_REG_CREATED;
	}
	if (run(psprintf("SELECT id::pg_catalog.text FROM %s WHERE bucket = $1 AND key = $2 AND etag = $3", t),
			3, types, v, nulls, SPI_OK_SELECT) != 1)
		return VTP_REG_ID_TAKEN;	/* its id was taken meanwhile */
	strlcpy(id_out, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), VTP_UUID_SIZE);
	return VTP_REG_EXISTS;
}

int
catalog_outbox(int limit, vtp_outbox_row **rows)
{
	Oid			types[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(limit)};
	char	   *sql = psprintf("SELECT id::pg_catalog.text, bucket, key FROM %s "
							   "WHERE task_sent_at IS NULL AND status = 'Pending' "
							   "ORDER BY created_at LIMIT $1", rel("vtp_videos"));
	uint64		n = run(sql, 1, types, v, NULL, SPI_OK_SELECT),
				i;

	*rows = MemoryContextAllocZero(result_cxt, sizeof(vtp_outbox_row) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		strlcpy((*rows)[i].id, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), VTP_UUID_SIZE);
		(*rows)[i].bucket = col(i, 2);
		(*rows)[i].key = col(i, 3);
	}
	return (int) n;
}

void
catalog_mark_sent(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	run(psprintf("UPDATE %s SET task_sent_at = pg_catalog.now() WHERE id = $1::pg_catalog.uuid",
				 rel("vtp_videos")), 1, types, v, NULL, SPI_OK_UPDATE);
}

void
catalog_claim(const char *id, const char *owner, int lease_seconds, vtp_claim *out)
{
	Oid			types[3] = {TEXTOID, TEXTOID, INT4OID};
	Datum		v[3] = {TXT(id), TXT(owner), Int32GetDatum(lease_seconds)};
	char	   *t = rel("vtp_videos");
	char	   *sql;

	memset(out, 0, sizeof(*out));
	sql = psprintf("UPDATE %s SET status = 'Processing', attempts = attempts + 1, claimed_by = $2, "
				   "lease_until = pg_catalog.now() + $3 * interval '1 second', started_at = pg_catalog.now(), "
				   "progress = 0, error_code = NULL, error = NULL "
				   "WHERE id = $1::pg_catalog.uuid AND (status = 'Pending' OR "
				   "(status = 'Processing' AND lease_until < pg_catalog.now())) "
				   "RETURNING bucket, key, attempts, etag", t);
	if (run(sql, 3, types, v, NULL, SPI_OK_UPDATE_RETURNING) == 1)
	{
		out->found = out->claimed = true;
		out->bucket = col(0, 1);
		out->key = col(0, 2);
		out->attempts = atoi(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
		out->etag = col(0, 4);
		strlcpy(out->status, "Processing", sizeof(out->status));
		return;
	}
	sql = psprintf("SELECT status::pg_catalog.text, COALESCE(lease_until > pg_catalog.now(), false) "
				   "FROM %s WHERE id = $1::pg_catalog.uuid", t);
	if (run(sql, 1, types, v, NULL, SPI_OK_SELECT) == 1)
	{
		out->found = true;
		strlcpy(out->status, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), sizeof(out->status));
		out->lease_live = strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2), "t") == 0;
	}
}

/* Renew the lease; false if this attempt no longer owns the video (cancelled, deleted, taken over). */
bool
catalog_extend_lease(const char *id, int attempts, int lease_seconds, double progress, double eta_seconds)
{
	Oid			types[5] = {TEXTOID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		v[5] = {TXT(id), Int32GetDatum(attempts), Int32GetDatum(lease_seconds), Float8GetDatum(progress),
	Float8GetDatum(eta_seconds)};
	char		nulls[5] = {' ', ' ', ' ', ' ', eta_seconds < 0 ? 'n' : ' '};

	return run(psprintf("UPDATE %s SET lease_until = pg_catalog.now() + $3 * interval '1 second', progress = $4, "
						"progress_eta = pg_catalog.now() + $5 * interval '1 second' "
						"WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND attempts = $2",
						rel("vtp_videos")), 5, types, v, nulls, SPI_OK_UPDATE) == 1;
}

void
catalog_set_probe(const char *id, int attempts, const char *probe_json)
{
	Oid			types[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		v[3] = {TXT(id), Int32GetDatum(attempts), TXT(probe_json)};

	run(psprintf("UPDATE %s SET probe = $3::pg_catalog.jsonb "
				 "WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND attempts = $2",
				 rel("vtp_videos")), 3, types, v, NULL, SPI_OK_UPDATE);
}

bool
catalog_publish(const char *id, int attempts, const char *out_bucket, const char *out_key,
				const vtp_rendition *r, int n, double cpu_seconds, double wall_seconds)
{
	Oid			types[6] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, FLOAT8OID, FLOAT8OID};
	Datum		v[6] = {TXT(id), Int32GetDatum(attempts), TXT(out_bucket), TXT(out_key), Float8GetDatum(cpu_seconds),
	Float8GetDatum(wall_seconds)};
	Oid			rtypes[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT8OID, INT8OID, FLOAT8OID};
	char	   *rt = rel("vtp_renditions");
	char	   *ins;
	int			i;

	if (run(psprintf("UPDATE %s SET status = 'Published', output_bucket = $3, output_key = $4, "
					 "progress = 100, progress_eta = NULL, lease_until = NULL, published_at = pg_catalog.now(), "
					 "transcode_cpu_seconds = $5, transcode_seconds = $6, error_code = NULL, error = NULL "
					 "WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND attempts = $2",
					 rel("vtp_videos")), 6, types, v, NULL, SPI_OK_UPDATE) != 1)
		return false;
	run(psprintf("DELETE FROM %s WHERE video_id = $1::pg_catalog.uuid", rt), 1, types, v, NULL, SPI_OK_DELETE);
	ins = psprintf("INSERT INTO %s (video_id, name, bucket, key, width, height, bytes, bitrate, duration) "
				   "VALUES ($1::pg_catalog.uuid, $2, $3, $4, $5, $6, $7, $8, $9)", rt);
	for (i = 0; i < n; i++)
	{
		Datum		rv[9] = {TXT(id), TXT(r[i].name), TXT(out_bucket), TXT(r[i].key),
			Int32GetDatum(r[i].width), Int32GetDatum(r[i].height), Int64GetDatum(r[i].bytes),
		Int64GetDatum(r[i].bitrate), Float8GetDatum(r[i].duration)};

		run(ins, 9, rtypes, rv, NULL, SPI_OK_INSERT);
	}
	return true;
}

bool
catalog_fail(const char *id, int attempts, const char *code, const char *message)
{
	Oid			types[4] = {TEXTOID, INT4OID, TEXTOID, TEXTOID};
	Datum		v[4] = {TXT(id), Int32GetDatum(attempts), TXT(code), TXT(message)};

	return run(psprintf("UPDATE %s SET status = 'Failed', error_code = $3, error = $4, lease_until = NULL "
						"WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND attempts = $2",
						rel("vtp_videos")), 4, types, v, NULL, SPI_OK_UPDATE) == 1;
}

/*
 * A transient failure: back to Pending for another attempt, or Failed once
 * vtp.max_attempts are used. With refund (the worker is stopping), always
 * Pending and the attempt does not count. True if it is to be retried.
 */
bool
catalog_release(const char *id, int attempts, const char *code, const char *message, bool refund)
{
	Oid			types[6] = {TEXTOID, INT4OID, TEXTOID, TEXTOID, INT4OID, BOOLOID};
	Datum		v[6] = {TXT(id), Int32GetDatum(attempts), TXT(code), TXT(message),
	Int32GetDatum(vtp_max_attempts), BoolGetDatum(refund)};
	char	   *sql;

	sql = psprintf("UPDATE %s SET status = (CASE WHEN NOT $6 AND attempts >= $5 THEN 'Failed' ELSE 'Pending' END)::%s, "
				   "attempts = attempts - (CASE WHEN $6 THEN 1 ELSE 0 END), "
				   "error_code = $3, error = $4, lease_until = NULL, claimed_by = NULL "
				   "WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND attempts = $2 "
				   "RETURNING status::pg_catalog.text", rel("vtp_videos"), rel("vtp_status"));
	if (run(sql, 6, types, v, NULL, SPI_OK_UPDATE_RETURNING) != 1)
		return false;
	return strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1), "Pending") == 0;
}

/*
 * After a crash of this worker: its videos back to Pending with a fresh
 * task, or Failed once vtp.max_attempts attempts were interrupted. The
 * interrupted attempt counts (a graceful stop hands the video back without
 * counting it, catalog_release): a video that crashes its worker every time
 * ends Failed instead of crash-looping for ever.
 */
int
catalog_reset_owned(const char *owner)
{
	Oid			types[2] = {TEXTOID, INT4OID};
	Datum		v[2] = {TXT(owner), Int32GetDatum(vtp_max_attempts)};

	/* a fresh task from the outbox: the old message may be invisible for a while */
	return (int) run(psprintf("UPDATE %s SET status = (CASE WHEN attempts >= $2 THEN 'Failed' ELSE 'Pending' END)::%s, "
							  "claimed_by = NULL, lease_until = NULL, task_sent_at = NULL, "
							  "error_code = 'interrupted', "
							  "error = (CASE WHEN attempts >= $2 THEN 'the worker stopped during each of the ' || attempts || "
							  "' attempts (a crash or a restart); vtp.max_attempts is ' || $2 "
							  "ELSE 'the worker stopped during the transcode' END) "
							  "WHERE status = 'Processing' AND claimed_by = $1", rel("vtp_videos"), rel("vtp_status")),
					 2, types, v, NULL, SPI_OK_UPDATE);
}

/* An object to delete after commit (etag NULL: whatever version is there), if no live row uses it then. */
void
catalog_trash(const char *bucket, const char *key, const char *etag, const char *video_id, const char *reason)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[5] = {TXT(bucket), TXT(key), etag ? TXT(etag) : (Datum) 0,
	video_id ? TXT(video_id) : (Datum) 0, TXT(reason)};
	char		nulls[5] = {' ', ' ', etag ? ' ' : 'n', video_id ? ' ' : 'n', ' '};

	char	   *t = rel("vtp_trash");

	/* once per object: a pass that finds it again adds nothing */
	run(psprintf("INSERT INTO %s (bucket, key, etag, video_id, reason) "
				 "SELECT $1, $2, $3, $4::pg_catalog.uuid, $5 WHERE NOT EXISTS "
				 "(SELECT 1 FROM %s WHERE bucket = $1 AND key = $2 AND etag IS NOT DISTINCT FROM $3)",
				 t, t), 5, types, v, nulls, SPI_OK_INSERT);
}

void
catalog_source_deleted(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	run(psprintf("UPDATE %s SET source_deleted_at = pg_catalog.now() WHERE id = $1::pg_catalog.uuid",
				 rel("vtp_videos")), 1, types, v, NULL, SPI_OK_UPDATE);
}

/* The video's status, or NULL if there is no such video. */
char *
catalog_video_status(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	if (run(psprintf("SELECT status::pg_catalog.text FROM %s WHERE id = $1::pg_catalog.uuid", rel("vtp_videos")),
			1, types, v, NULL, SPI_OK_SELECT) != 1)
		return NULL;
	return col(0, 1);
}

/*
 * Is there a video id in this catalog made from bucket/key? A task that
 * names another catalog but a video this one has (same id, same source) is
 * this catalog's from before its identity changed (pg_upgrade, a restore):
 * uuids do not collide by chance.
 */
bool
catalog_video_is(const char *id, const char *bucket, const char *key)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		v[3] = {TXT(id), TXT(bucket), TXT(key)};

	return run(psprintf("SELECT 1 FROM %s WHERE id = $1::pg_catalog.uuid AND bucket = $2 AND key = $3",
						rel("vtp_videos")), 3, types, v, NULL, SPI_OK_SELECT) == 1;
}

/*
 * A Pending video whose worker holds no task message any more (given up
 * before SQS's 12 h limit, transcode.c): the outbox sends it a fresh task.
 */
void
catalog_requeue(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	if (run(psprintf("UPDATE %s SET task_sent_at = NULL WHERE id = $1::pg_catalog.uuid AND status = 'Pending'",
					 rel("vtp_videos")), 1, types, v, NULL, SPI_OK_UPDATE) == 1)
		vtp_wake_at_commit(VTP_WAKE_INGEST);
}
