/*
 * catalog_ingest.c — the statements of arrival and sending: a source
 * object registered once per version (out-of-order events and reused
 * presigned keys sorted out here), the outbox of tasks to send, and the
 * look-ups a task needs (is this video ours, what is its status, send its
 * task again).
 */
#include "catalog_int.h"

#include "catalog/pg_type.h"

#include "s3event.h"

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
	char	   *t = catalog_rel("vtp_videos");
	char	   *old_bucket,
			   *old_key,
			   *old_seq;

	if (catalog_run(psprintf("SELECT bucket, key, source_sequencer, etag = $2 FROM %s WHERE id = $1::pg_catalog.uuid FOR UPDATE", t),
					2, types, v, NULL, SPI_OK_SELECT) != 1)
		return VTP_REG_ID_TAKEN;	/* gone meanwhile */
	old_bucket = catalog_col(0, 1);
	old_key = catalog_col(0, 2);
	old_seq = catalog_col(0, 3);
	if (strcmp(old_bucket, bucket) != 0 || strcmp(old_key, key) != 0)
		return VTP_REG_ID_TAKEN;
	if (catalog_col_bool(0, 4))
		return VTP_REG_EXISTS;
	if (older(sequencer, old_seq))
		return VTP_REG_SUPERSEDED;
	if (catalog_run(psprintf("UPDATE %s SET etag = $2, source_size = $3, source_sequencer = $4, status = 'Pending', "
							 "attempts = 0, error_code = NULL, error = NULL, probe = NULL, progress = NULL, "
							 "task_sent_at = NULL, claimed_by = NULL, lease_until = NULL, lease_token_hash = NULL "
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
	char	   *t = catalog_rel("vtp_videos");
	uint64		n,
				i;

	id_out[0] = '\0';
	if (has_hint)
	{
		strlcpy(id_out, hint, VTP_UUID_SIZE);
		if (catalog_run(psprintf("SELECT 1 FROM %s WHERE id = $6::pg_catalog.uuid", t), 6, types, v, nulls, SPI_OK_SELECT) == 1)
			return register_again(hint, bucket, key, etag, size, sequencer);
	}
	else
	{
		n = catalog_run(psprintf("SELECT source_sequencer FROM %s WHERE bucket = $1 AND key = $2 AND etag <> $3", t),
						3, types, v, nulls, SPI_OK_SELECT);
		for (i = 0; i < n; i++)
			if (older(sequencer, catalog_col(i, 1)))
				return VTP_REG_SUPERSEDED;
	}
	if (catalog_run(psprintf("INSERT INTO %s (id, bucket, key, etag, source_size, source_sequencer) "
							 "VALUES (COALESCE($6::pg_catalog.uuid, pg_catalog.gen_random_uuid()), $1, $2, $3, $4, $5) "
							 "ON CONFLICT DO NOTHING RETURNING id::pg_catalog.text", t),
					6, types, v, nulls, SPI_OK_INSERT_RETURNING) == 1)
	{
		catalog_col_copy(0, 1, id_out, VTP_UUID_SIZE);
		return VTP_REG_CREATED;
	}
	if (catalog_run(psprintf("SELECT id::pg_catalog.text FROM %s WHERE bucket = $1 AND key = $2 AND etag = $3", t),
					3, types, v, nulls, SPI_OK_SELECT) != 1)
		return VTP_REG_ID_TAKEN;	/* its id was taken meanwhile */
	catalog_col_copy(0, 1, id_out, VTP_UUID_SIZE);
	return VTP_REG_EXISTS;
}

int
catalog_outbox(int limit, vtp_outbox_row **rows)
{
	Oid			types[1] = {INT4OID};
	Datum		v[1] = {Int32GetDatum(limit)};
	char	   *sql = psprintf("SELECT id::pg_catalog.text, bucket, key FROM %s "
							   "WHERE task_sent_at IS NULL AND status = 'Pending' "
							   "ORDER BY created_at LIMIT $1", catalog_rel("vtp_videos"));
	uint64		n = catalog_run(sql, 1, types, v, NULL, SPI_OK_SELECT),
				i;

	*rows = MemoryContextAllocZero(catalog_result_cxt(), sizeof(vtp_outbox_row) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		catalog_col_copy(i, 1, (*rows)[i].id, VTP_UUID_SIZE);
		(*rows)[i].bucket = catalog_col(i, 2);
		(*rows)[i].key = catalog_col(i, 3);
	}
	return (int) n;
}

void
catalog_mark_sent(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	catalog_run(psprintf("UPDATE %s SET task_sent_at = pg_catalog.now() WHERE id = $1::pg_catalog.uuid",
						 catalog_rel("vtp_videos")), 1, types, v, NULL, SPI_OK_UPDATE);
}

/* The video's status, or NULL if there is no such video. */
char *
catalog_video_status(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	if (catalog_run(psprintf("SELECT status::pg_catalog.text FROM %s WHERE id = $1::pg_catalog.uuid",
							 catalog_rel("vtp_videos")), 1, types, v, NULL, SPI_OK_SELECT) != 1)
		return NULL;
	return catalog_col(0, 1);
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

	return catalog_run(psprintf("SELECT 1 FROM %s WHERE id = $1::pg_catalog.uuid AND bucket = $2 AND key = $3",
								catalog_rel("vtp_videos")), 3, types, v, NULL, SPI_OK_SELECT) == 1;
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

	if (catalog_run(psprintf("UPDATE %s SET task_sent_at = NULL WHERE id = $1::pg_catalog.uuid AND status = 'Pending'",
							 catalog_rel("vtp_videos")), 1, types, v, NULL, SPI_OK_UPDATE) == 1)
		vtp_wake_at_commit(VTP_WAKE_INGEST);
}
