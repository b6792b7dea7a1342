/*
 * catalog_reconcile.c — the statements of the reconciler and the trash:
 * leases that ran out, tasks that were lost, originals of Failed videos past
 * their retention, what a listed object is to the catalog, and the trash (S3
 * objects to delete, each only if no live video still uses it; the
 * transcode worker puts its video's original there once it is published).
 */
#include "catalog_int.h"

#include "catalog/pg_type.h"

/* An object to delete after commit (etag NULL: whatever version is there), if no live row uses it then. */
void
catalog_trash(const char *bucket, const char *key, const char *etag, const char *video_id, const char *reason)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[5] = {TXT(bucket), TXT(key), etag ? TXT(etag) : (Datum) 0,
	video_id ? TXT(video_id) : (Datum) 0, TXT(reason)};
	char		nulls[5] = {' ', ' ', etag ? ' ' : 'n', video_id ? ' ' : 'n', ' '};
	char	   *t = catalog_rel("vtp_trash");

	/* once per object: a pass that finds it again adds nothing */
	catalog_run(psprintf("INSERT INTO %s (bucket, key, etag, video_id, reason) "
						 "SELECT $1, $2, $3, $4::pg_catalog.uuid, $5 WHERE NOT EXISTS "
						 "(SELECT 1 FROM %s WHERE bucket = $1 AND key = $2 AND etag IS NOT DISTINCT FROM $3)",
						 t, t), 5, types, v, nulls, SPI_OK_INSERT);
}

void
catalog_source_deleted(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	catalog_run(psprintf("UPDATE %s SET source_deleted_at = pg_catalog.now() WHERE id = $1::pg_catalog.uuid",
						 catalog_rel("vtp_videos")), 1, types, v, NULL, SPI_OK_UPDATE);
}

/* Processing rows whose worker stopped renewing: back to Pending (or Failed), task re-sent. */
int
catalog_expire_leases(void)
{
	Oid			types[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(vtp_max_attempts)};

	return (int) catalog_run(psprintf(
									  "UPDATE %s SET status = (CASE WHEN attempts >= $1 THEN 'Failed' ELSE 'Pending' END)::%s, "
									  "error_code = 'lease_expired', "
									  "error = 'the worker ' || COALESCE(claimed_by, '?') || ' stopped renewing its lease', "
									  "claimed_by = NULL, lease_until = NULL, task_sent_at = NULL, lease_token_hash = NULL "
									  "WHERE status = 'Processing' AND lease_until < pg_catalog.now() - interval '5 seconds'",
									  catalog_rel("vtp_videos"), catalog_rel("vtp_status")),
							 1, types, v, NULL, SPI_OK_UPDATE);
}

int
catalog_forget_runners(void)
{
	return (int) catalog_run(psprintf("DELETE FROM %s WHERE last_heartbeat < pg_catalog.now() - interval '1 hour'",
									  catalog_rel("vtp_runners")), 0, NULL, NULL, NULL, SPI_OK_DELETE);
}

/*
 * Pending rows whose task went out long ago and that nobody touched since:
 * the task was lost (or sits in a dead-letter queue). The outbox sends a new
 * one. The caller runs this only when the tasks queue has nothing waiting.
 */
int
catalog_resend_lost(int after_seconds)
{
	Oid			types[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(after_seconds)};

	return (int) catalog_run(psprintf(
									  "UPDATE %s SET task_sent_at = NULL WHERE status = 'Pending' "
									  "AND task_sent_at < pg_catalog.now() - $1 * interval '1 second' "
									  "AND updated_at < pg_catalog.now() - $1 * interval '1 second'",
									  catalog_rel("vtp_videos")),
							 1, types, v, NULL, SPI_OK_UPDATE);
}

/* Originals of videos Failed longer than the retention go to the trash (temp bucket only). */
int
catalog_expire_failed(int retention_seconds)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		v[2] = {Int32GetDatum(retention_seconds), TXT(vtp_temp_bucket)};

	return (int) catalog_run(psprintf(
									  "WITH f AS (UPDATE %s SET source_deleted_at = pg_catalog.now() "
									  "WHERE status = 'Failed' AND failed_at < pg_catalog.now() - $1 * interval '1 second' "
									  "AND source_deleted_at IS NULL AND bucket = $2 RETURNING id, bucket, key, etag) "
									  "INSERT INTO %s (bucket, key, etag, video_id, reason) "
									  "SELECT bucket, key, NULLIF(etag, ''), id, 'failed_retention' FROM f",
									  catalog_rel("vtp_videos"), catalog_rel("vtp_trash")),
							 2, types, v, NULL, SPI_OK_INSERT);
}

/* What an object found in the temp bucket is to the catalog. */
vtp_object_state
catalog_object_state(const char *bucket, const char *key, const char *etag)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		v[3] = {TXT(bucket), TXT(key), TXT(etag)};
	char		status[16];

	if (catalog_run(psprintf("SELECT status::pg_catalog.text, source_deleted_at IS NOT NULL FROM %s "
							 "WHERE bucket = $1 AND key = $2 AND etag = $3",
							 catalog_rel("vtp_videos")), 3, types, v, NULL, SPI_OK_SELECT) != 1)
	{
		/* no row, but waiting in the trash (vtp_delete): garbage, not a lost upload */
		if (catalog_run(psprintf("SELECT 1 FROM %s WHERE bucket = $1 AND key = $2 AND (etag IS NULL OR etag = $3)",
								 catalog_rel("vtp_trash")), 3, types, v, NULL, SPI_OK_SELECT) > 0)
			return VTP_OBJ_DONE;
		return VTP_OBJ_UNKNOWN;
	}
	catalog_col_copy(0, 1, status, sizeof(status));
	if (strcmp(status, "Published") == 0 || catalog_col_bool(0, 2))
		return VTP_OBJ_DONE;
	return VTP_OBJ_LIVE;
}

int
catalog_trash_due(int limit, vtp_trash_row **rows)
{
	Oid			types[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(limit)};
	char	   *videos = catalog_rel("vtp_videos");
	uint64		n,
				i;

	n = catalog_run(psprintf(
							 "SELECT t.id, t.bucket, t.key, t.etag, t.tries, CASE "
							 "WHEN EXISTS (SELECT 1 FROM %s r WHERE r.bucket = t.bucket AND r.key = t.key) "
							 "  OR EXISTS (SELECT 1 FROM %s v WHERE v.bucket = t.bucket AND v.key = t.key "
							 "    AND (v.status IN ('Pending', 'Processing') OR (v.status = 'Failed' AND v.source_deleted_at IS NULL))) "
							 "  THEN 'forget' "
							 "WHEN EXISTS (SELECT 1 FROM %s v WHERE v.id = t.video_id AND v.status IN ('Pending', 'Processing')) "
							 "  THEN 'wait' ELSE 'delete' END "
							 "FROM %s t WHERE t.next_try_at <= pg_catalog.now() ORDER BY t.id LIMIT $1",
							 catalog_rel("vtp_renditions"), videos, videos, catalog_rel("vtp_trash")),
					1, types, v, NULL, SPI_OK_SELECT);
	*rows = MemoryContextAllocZero(catalog_result_cxt(), sizeof(vtp_trash_row) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		vtp_trash_row *r = &(*rows)[i];
		char		action[8];

		r->id = catalog_col_int64(i, 1);
		r->bucket = catalog_col(i, 2);
		r->key = catalog_col(i, 3);
		r->etag = catalog_col(i, 4);
		r->tries = catalog_col_int(i, 5);
		catalog_col_copy(i, 6, action, sizeof(action));
		r->action = strcmp(action, "forget") == 0 ? VTP_TRASH_FORGET :
			strcmp(action, "wait") == 0 ? VTP_TRASH_WAIT : VTP_TRASH_DELETE;
	}
	return (int) n;
}

/* Forget a trash entry; if the object was deleted, the row of that version knows. */
void
catalog_trash_done(const vtp_trash_row *r, bool deleted)
{
	Oid			types[4] = {INT8OID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[4] = {Int64GetDatum(r->id), TXT(r->bucket), TXT(r->key), r->etag ? TXT(r->etag) : (Datum) 0};
	char		nulls[4] = {' ', ' ', ' ', r->etag ? ' ' : 'n'};

	catalog_run(psprintf("DELETE FROM %s WHERE id = $1", catalog_rel("vtp_trash")), 4, types, v, nulls,
				SPI_OK_DELETE);
	if (deleted && r->etag)
		catalog_run(psprintf("UPDATE %s SET source_deleted_at = pg_catalog.now() "
							 "WHERE bucket = $2 AND key = $3 AND etag = $4 AND source_deleted_at IS NULL",
							 catalog_rel("vtp_videos")), 4, types, v, nulls, SPI_OK_UPDATE);
}

/* Look at it again in seconds; with an error, a failed try (counted). */
void
catalog_trash_later(int64 id, int seconds, const char *error)
{
	Oid			types[3] = {INT8OID, INT4OID, TEXTOID};
	Datum		v[3] = {Int64GetDatum(id), Int32GetDatum(seconds), error ? TXT(error) : (Datum) 0};
	char		nulls[3] = {' ', ' ', error ? ' ' : 'n'};

	catalog_run(psprintf("UPDATE %s SET tries = tries + (CASE WHEN $3 IS NULL THEN 0 ELSE 1 END), "
						 "last_error = COALESCE($3, last_error), "
						 "next_try_at = pg_catalog.now() + $2 * interval '1 second' WHERE id = $1",
						 catalog_rel("vtp_trash")), 3, types, v, nulls, SPI_OK_UPDATE);
}
