/*
 * catalog.c — every SQL statement the workers and vtp_enqueue run, in one
 * place. All parameterised; table names are qualified with the extension's
 * schema (quoted), so a worker's search_path cannot redirect them. Status
 * changes are compare-and-set on (status, attempts): a stale worker's late
 * update changes nothing.
 */
#include "vtp.h"

#include "access/genam.h"
#include "access/htup_details.h"
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

static MemoryContext result_cxt = NULL;

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

/* Schema of the installed extension, or InvalidOid. */
static Oid
extension_schema(void)
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
		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(r, AccessShareLock);
	return nsp;
}

/* The extension's schema, quoted; ERROR if it is not installed. */
char *
catalog_schema_quoted(void)
{
	Oid			nsp = extension_schema();

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"vtp\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId))));
	return pstrdup(quote_identifier(get_namespace_name(nsp)));
}

/* "schema".rel for the installed extension; ERROR if it is not installed. */
static char *
rel(const char *name)
{
	return psprintf("%s.%s", catalog_schema_quoted(), name);
}

bool
catalog_extension_ready(void)
{
	return OidIsValid(extension_schema());
}

static uint64
run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "vtp: catalog statement failed (%s): %s", SPI_result_code_string(rc), sql);
	return SPI_processed;
}

static char *
col(int row, int c)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, c);

	return v ? MemoryContextStrdup(result_cxt ? result_cxt : CurrentMemoryContext, v) : NULL;
}

#define TXT(s) CStringGetTextDatum(s)

/*
 * Record a source object once. A key vtp handed out (<upload prefix><uuid>/…)
 * carries its video's id, which the row then gets. False if the object
 * cannot be recorded (its id is taken by another version of the object).
 */
bool
catalog_register(const char *bucket, const char *key, const char *etag, int64 size,
				 const char *sequencer, char *id_out, bool *created)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, INT8OID, TEXTOID, TEXTOID};
	char		hint[37];
	bool		has_hint = vtp_key_video_id(key, vtp_upload_prefix, hint);
	Datum		v[6] = {TXT(bucket), TXT(key), TXT(etag), Int64GetDatum(size), TXT(sequencer),
	has_hint ? TXT(hint) : (Datum) 0};
	char		nulls[6] = {' ', ' ', ' ', size < 0 ? 'n' : ' ', ' ', has_hint ? ' ' : 'n'};
	char	   *t = rel("vtp_videos");
	char	   *sql;
	char	   *id;

	sql = psprintf("INSERT INTO %s (id, bucket, key, etag, source_size, source_sequencer) "
				   "VALUES (COALESCE($6::pg_catalog.uuid, pg_catalog.gen_random_uuid()), $1, $2, $3, $4, $5) "
				   "ON CONFLICT DO NOTHING RETURNING id::pg_catalog.text", t);
	*created = run(sql, 6, types, v, nulls, SPI_OK_INSERT_RETURNING) == 1;
	if (!*created)
	{
		sql = psprintf("SELECT id::pg_catalog.text FROM %s WHERE bucket = $1 AND key = $2 AND etag = $3", t);
		if (run(sql, 3, types, v, nulls, SPI_OK_SELECT) != 1)
			return false;
	}
	id = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	strlcpy(id_out, id, 37);
	return true;
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
		strlcpy((*rows)[i].id, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1), 37);
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
				   "RETURNING bucket, key, attempts", t);
	if (run(sql, 3, types, v, NULL, SPI_OK_UPDATE_RETURNING) == 1)
	{
		out->found = out->claimed = true;
		out->bucket = col(0, 1);
		out->key = col(0, 2);
		out->attempts = atoi(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3));
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

void
catalog_extend_lease(const char *id, int attempts, int lease_seconds, double progress, double eta_seconds)
{
	Oid			types[5] = {TEXTOID, INT4OID, INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		v[5] = {TXT(id), Int32GetDatum(attempts), Int32GetDatum(lease_seconds), Float8GetDatum(progress),
	Float8GetDatum(eta_seconds)};
	char		nulls[5] = {' ', ' ', ' ', ' ', eta_seconds < 0 ? 'n' : ' '};

	run(psprintf("UPDATE %s SET lease_until = pg_catalog.now() + $3 * interval '1 second', progress = $4, "
				 "progress_eta = pg_catalog.now() + $5 * interval '1 second' "
				 "WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND attempts = $2",
				 rel("vtp_videos")), 5, types, v, nulls, SPI_OK_UPDATE);
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

int
catalog_reset_owned(const char *owner)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(owner)};

	return (int) run(psprintf("UPDATE %s SET status = 'Pending', claimed_by = NULL, lease_until = NULL, "
							  "error_code = 'interrupted', error = 'the worker stopped during the transcode' "
							  "WHERE status = 'Processing' AND claimed_by = $1", rel("vtp_videos")),
					 1, types, v, NULL, SPI_OK_UPDATE);
}
