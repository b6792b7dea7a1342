/*
 * sql_ops.c — a DBA's actions on one video: vtp_retry (a Failed video back to
 * Pending, from its kept original), vtp_cancel (Pending or Processing to
 * Failed "cancelled"; a running transcode stops) and vtp_delete (the row now,
 * its S3 objects through the trash). Nothing reaches a worker or S3 before
 * the caller's transaction commits: wake-ups are sent at commit, and objects
 * are deleted by the reconciler only if no live video uses them then.
 */
#include "catalog_int.h"
#include "aws_glue.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(vtp_retry);
PG_FUNCTION_INFO_V1(vtp_cancel);
PG_FUNCTION_INFO_V1(vtp_delete);

/* The row, locked: status, bucket, key, etag, original removed? ERROR 42704 if none. */
typedef struct video_row
{
	char		id[VTP_UUID_SIZE];
	char		status[16];
	Datum		status_datum;
	char	   *bucket;
	char	   *key;
	char	   *etag;
	bool		source_deleted;
} video_row;

static void
lock_video(Datum id, video_row *v)
{
	Oid			types[1] = {UUIDOID};
	Datum		args[1] = {id};
	bool		isnull;

	if (catalog_run(psprintf("SELECT id::pg_catalog.text, status::pg_catalog.text, bucket, key, etag, "
							 "source_deleted_at IS NOT NULL, status FROM %s WHERE id = $1 FOR UPDATE",
							 catalog_rel("vtp_videos")), 1, types, args, NULL, SPI_OK_SELECT) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no video with id %s",
						DatumGetCString(DirectFunctionCall1(uuid_out, id)))));
	catalog_col_copy(0, 1, v->id, sizeof(v->id));
	catalog_col_copy(0, 2, v->status, sizeof(v->status));
	v->bucket = catalog_col(0, 3);
	v->key = catalog_col(0, 4);
	v->etag = catalog_col(0, 5);
	v->source_deleted = catalog_col_bool(0, 6);
	v->status_datum = catalog_col_datum(0, 7, &isnull);
}

static void
spi_begin(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
}

static Datum
status_datum(const char *status)
{
	Oid			types[1] = {TEXTOID};
	Datum		args[1] = {TXT(status)};
	bool		isnull;

	catalog_run(psprintf("SELECT $1::%s", catalog_rel("vtp_status")), 1, types, args, NULL, SPI_OK_SELECT);
	return catalog_col_datum(0, 1, &isnull);
}

Datum
vtp_retry(PG_FUNCTION_ARGS)
{
	Datum		id = PG_GETARG_DATUM(0);
	Oid			types[1] = {UUIDOID};
	Datum		args[1] = {id};
	video_row	v;
	s3_object_info info;
	Datum		result;

	spi_begin();
	lock_video(id, &v);
	if (strcmp(v.status, "Failed") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("video %s is %s; only a Failed video can be retried", v.id, v.status)));
	if (v.source_deleted)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the original of video %s was removed", v.id),
				 errdetail("Originals of Failed videos are kept for vtp.failed_retention, then removed."),
				 errhint("Upload it again.")));

	/* the kept original must still be there, and be the version that failed */
	if (!vtp_sql_head(v.bucket, v.key, &info, "look up the original"))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the original of video %s, s3://%s/%s, no longer exists", v.id, v.bucket, v.key)));
	if (v.etag[0] && strcmp(info.etag, v.etag) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the original of video %s was replaced by a newer upload", v.id),
				 errdetail("s3://%s/%s has ETag %s, the video was made from %s.", v.bucket, v.key, info.etag, v.etag)));

	catalog_run(psprintf("UPDATE %s SET status = 'Pending', attempts = 0, error_code = NULL, error = NULL, "
						 "progress = NULL, progress_eta = NULL, probe = NULL, claimed_by = NULL, lease_until = NULL, lease_token_hash = NULL, "
						 "started_at = NULL, task_sent_at = NULL WHERE id = $1", catalog_rel("vtp_videos")),
				1, types, args, NULL, SPI_OK_UPDATE);
	result = status_datum("Pending");
	SPI_finish();
	vtp_wake_at_commit(VTP_WAKE_INGEST);
	PG_RETURN_DATUM(result);
}

Datum
vtp_cancel(PG_FUNCTION_ARGS)
{
	Datum		id = PG_GETARG_DATUM(0);
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		args[2] = {id, TXT(GetUserNameFromId(GetSessionUserId(), false))};
	video_row	v;

	spi_begin();
	lock_video(id, &v);
	if (strcmp(v.status, "Pending") != 0 && strcmp(v.status, "Processing") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("video %s is %s; only a Pending or Processing video can be cancelled", v.id, v.status)));
	catalog_run(psprintf("UPDATE %s SET status = 'Failed', error_code = 'cancelled', "
						 "error = 'cancelled by ' || $2, progress_eta = NULL, lease_until = NULL, claimed_by = NULL, lease_token_hash = NULL "
						 "WHERE id = $1", catalog_rel("vtp_videos")),
				2, types, args, NULL, SPI_OK_UPDATE);
	SPI_finish();
	if (strcmp(v.status, "Processing") == 0)
		vtp_wake_at_commit(VTP_WAKE_BUSY);
	PG_RETURN_DATUM(v.status_datum);
}

Datum
vtp_delete(PG_FUNCTION_ARGS)
{
	Datum		id = PG_GETARG_DATUM(0);
	Oid			types[2] = {UUIDOID, TEXTOID};
	Datum		args[2] = {id, TXT(vtp_temp_bucket)};
	video_row	v;
	char	   *trash = catalog_rel("vtp_trash");

	spi_begin();
	lock_video(id, &v);
	/* renditions; and the original, if vtp still keeps it in the temp bucket */
	catalog_run(psprintf("INSERT INTO %s (bucket, key, video_id, reason) "
						 "SELECT bucket, key, video_id, 'deleted' FROM %s WHERE video_id = $1",
						 trash, catalog_rel("vtp_renditions")), 2, types, args, NULL, SPI_OK_INSERT);
	catalog_run(psprintf("INSERT INTO %s (bucket, key, etag, video_id, reason) "
						 "SELECT bucket, key, NULLIF(etag, ''), id, 'deleted' FROM %s "
						 "WHERE id = $1 AND bucket = $2 AND source_deleted_at IS NULL",
						 trash, catalog_rel("vtp_videos")), 2, types, args, NULL, SPI_OK_INSERT);
	catalog_run(psprintf("DELETE FROM %s WHERE id = $1", catalog_rel("vtp_videos")), 2, types, args, NULL,
				SPI_OK_DELETE);
	SPI_finish();
	vtp_wake_at_commit(VTP_WAKE_RECONCILE | (strcmp(v.status, "Processing") == 0 ? VTP_WAKE_BUSY : 0));
	PG_RETURN_VOID();
}
