/*
 * catalog_claim.c — the statements of one attempt at a video: the claim
 * (Pending, or Processing with a lease run out, to Processing with a new
 * lease and one more attempt), its renewals, and how it settles (Published,
 * Failed, back to Pending). Every change after the claim is compare-and-set
 * on (status = 'Processing', attempts): a stale worker's late update
 * changes nothing.
 */
#include "catalog_int.h"

#include "catalog/pg_type.h"

#include <math.h>

#include "ladder.h"

/* The stored form of lease token parameter $n: its SHA-256 (vtp_videos.lease_token_hash). */
#define TOKEN_HASH(n) "pg_catalog.sha256(pg_catalog.convert_to($" #n "::pg_catalog.uuid::pg_catalog.text, 'UTF8'))"

/*
 * The claim. A row already Processing under this very token was claimed by
 * an earlier call whose answer was lost (a runner's connection broke): the
 * same answer again, no second attempt counted.
 */
void
catalog_claim(const char *id, const char *owner, const char *token, int lease_seconds, vtp_claim *out)
{
	Oid			types[4] = {TEXTOID, TEXTOID, INT4OID, TEXTOID};
	Datum		v[4] = {TXT(id), TXT(owner), Int32GetDatum(lease_seconds), TXT(token)};
	char	   *t = catalog_rel("vtp_videos");
	char	   *sql;

	Assert(lease_seconds > 0);
	memset(out, 0, sizeof(*out));
	/* a new attempt: Pending (whatever token it last had), or a lease of someone else's that ran out */
	sql = psprintf("UPDATE %s SET status = 'Processing', attempts = attempts + 1, claimed_by = $2, "
				   "lease_until = pg_catalog.now() + $3 * interval '1 second', started_at = pg_catalog.now(), "
				   "lease_token_hash = " TOKEN_HASH(4) ", progress = 0, error_code = NULL, error = NULL "
				   "WHERE id = $1::pg_catalog.uuid AND (status = 'Pending' OR (status = 'Processing' AND "
				   "lease_until < pg_catalog.now() AND lease_token_hash IS DISTINCT FROM " TOKEN_HASH(4) ")) "
				   "RETURNING bucket, key, attempts, etag", t);
	if (catalog_run(sql, 4, types, v, NULL, SPI_OK_UPDATE_RETURNING) != 1)
	{
		/* this very claim asked again (its answer was lost): the lease renewed, the same attempt */
		sql = psprintf("UPDATE %s SET claimed_by = $2, lease_until = pg_catalog.now() + $3 * interval '1 second' "
					   "WHERE id = $1::pg_catalog.uuid AND status = 'Processing' AND lease_token_hash = " TOKEN_HASH(4) " "
					   "RETURNING bucket, key, attempts, etag", t);
		if (catalog_run(sql, 4, types, v, NULL, SPI_OK_UPDATE_RETURNING) != 1)
		{
			sql = psprintf("SELECT status::pg_catalog.text, COALESCE(lease_until > pg_catalog.now(), false) "
						   "FROM %s WHERE id = $1::pg_catalog.uuid", t);
			if (catalog_run(sql, 1, types, v, NULL, SPI_OK_SELECT) == 1)
			{
				/* not claimable: Processing under a live lease, or settled (rows are data, not invariants) */
				out->found = true;
				catalog_col_copy(0, 1, out->status, sizeof(out->status));
				out->lease_live = catalog_col_bool(0, 2);
			}
			return;
		}
	}
	out->found = out->claimed = true;
	out->bucket = catalog_col(0, 1);
	out->key = catalog_col(0, 2);
	out->attempts = catalog_col_int(0, 3);
	out->etag = catalog_col(0, 4);
	strlcpy(out->status, "Processing", sizeof(out->status));
}

/* The attempt's compare-and-set: the row is Processing under this lease token. */
#define HELD "id = $1::pg_catalog.uuid AND status = 'Processing' AND lease_token_hash = " TOKEN_HASH(2)

/* Renew the lease; false if this attempt no longer owns the video (cancelled, deleted, taken over). */
bool
catalog_extend_lease(const char *id, const char *token, int lease_seconds, double progress, double eta_seconds)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		v[5] = {TXT(id), TXT(token), Int32GetDatum(lease_seconds), Float8GetDatum(progress),
	Float8GetDatum(eta_seconds)};
	char		nulls[5] = {' ', ' ', ' ', ' ', eta_seconds < 0 ? 'n' : ' '};

	if (lease_seconds <= 0 || progress < 0 || progress > 100 || isnan(progress))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a lease needs a positive length and a progress from 0 to 100")));
	return catalog_run(psprintf("UPDATE %s SET lease_until = pg_catalog.now() + $3 * interval '1 second', progress = $4, "
								"progress_eta = pg_catalog.now() + $5 * interval '1 second' WHERE " HELD,
								catalog_rel("vtp_videos")), 5, types, v, nulls, SPI_OK_UPDATE) == 1;
}

bool
catalog_set_probe(const char *id, const char *token, const char *probe_json)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		v[3] = {TXT(id), TXT(token), TXT(probe_json)};

	return catalog_run(psprintf("UPDATE %s SET probe = $3::pg_catalog.jsonb WHERE " HELD,
								catalog_rel("vtp_videos")), 3, types, v, NULL, SPI_OK_UPDATE) == 1;
}

/* Is the video settled as status under this token? (the answer to a call asked again) */
static bool
settled_as(const char *id, const char *token, const char *status)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		v[3] = {TXT(id), TXT(token), TXT(status)};

	return catalog_run(psprintf("SELECT 1 FROM %s WHERE id = $1::pg_catalog.uuid AND lease_token_hash = " TOKEN_HASH(2)
								" AND status::pg_catalog.text = $3", catalog_rel("vtp_videos")),
					   3, types, v, NULL, SPI_OK_SELECT) == 1;
}

bool
catalog_publish(const char *id, const char *token, const char *out_bucket, const char *out_key,
				const vtp_rendition *r, int n, double cpu_seconds, double wall_seconds)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, FLOAT8OID, FLOAT8OID};
	Datum		v[6] = {TXT(id), TXT(token), TXT(out_bucket), TXT(out_key), Float8GetDatum(cpu_seconds),
	Float8GetDatum(wall_seconds)};
	Oid			rtypes[9] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, INT4OID, INT8OID, INT8OID, FLOAT8OID};
	char	   *rt = catalog_rel("vtp_renditions");
	char	   *ins;
	int			i;

	/* at most one rendition per rung of the ladder (the callers check what they are given) */
	Assert(n >= 0 && n <= LADDER_MAX_RUNGS);
	if (catalog_run(psprintf("UPDATE %s SET status = 'Published', output_bucket = $3, output_key = $4, "
							 "progress = 100, progress_eta = NULL, lease_until = NULL, published_at = pg_catalog.now(), "
							 "transcode_cpu_seconds = $5, transcode_seconds = $6, error_code = NULL, error = NULL "
							 "WHERE " HELD, catalog_rel("vtp_videos")), 6, types, v, NULL, SPI_OK_UPDATE) != 1)
		return settled_as(id, token, "Published");	/* published by this very attempt already? */
	catalog_run(psprintf("DELETE FROM %s WHERE video_id = $1::pg_catalog.uuid", rt), 1, types, v, NULL, SPI_OK_DELETE);
	ins = psprintf("INSERT INTO %s (video_id, name, bucket, key, width, height, bytes, bitrate, duration) "
				   "VALUES ($1::pg_catalog.uuid, $2, $3, $4, $5, $6, $7, $8, $9)", rt);
	for (i = 0; i < n; i++)
	{
		Datum		rv[9] = {TXT(id), TXT(r[i].name), TXT(out_bucket), TXT(r[i].key),
			Int32GetDatum(r[i].width), Int32GetDatum(r[i].height), Int64GetDatum(r[i].bytes),
		Int64GetDatum(r[i].bitrate), Float8GetDatum(r[i].duration)};

		catalog_run(ins, 9, rtypes, rv, NULL, SPI_OK_INSERT);
	}
	return true;
}

bool
catalog_fail(const char *id, const char *token, const char *code, const char *message)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[4] = {TXT(id), TXT(token), TXT(code), TXT(message)};

	if (catalog_run(psprintf("UPDATE %s SET status = 'Failed', error_code = $3, error = $4, lease_until = NULL "
							 "WHERE " HELD, catalog_rel("vtp_videos")), 4, types, v, NULL, SPI_OK_UPDATE) == 1)
		return true;
	return settled_as(id, token, "Failed");
}

/*
 * A transient failure: back to Pending for another attempt, or Failed once
 * vtp.max_attempts are used. With refund (the worker is stopping), always
 * Pending and the attempt does not count. Returns the status it went to
 * ("Pending": to be retried), or NULL if this token does not hold the video;
 * *changed: this call made the change (not an answer repeated).
 */
const char *
catalog_release(const char *id, const char *token, const char *code, const char *message, bool refund,
				bool *changed)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT4OID, BOOLOID};
	Datum		v[6] = {TXT(id), TXT(token), TXT(code), TXT(message),
	Int32GetDatum(vtp_max_attempts), BoolGetDatum(refund)};
	char	   *sql;

	sql = psprintf("UPDATE %s SET status = (CASE WHEN NOT $6 AND attempts >= $5 THEN 'Failed' ELSE 'Pending' END)::%s, "
				   "attempts = attempts - (CASE WHEN $6 THEN 1 ELSE 0 END), "
				   "error_code = $3, error = $4, lease_until = NULL, claimed_by = NULL "
				   "WHERE " HELD " RETURNING status::pg_catalog.text", catalog_rel("vtp_videos"), catalog_rel("vtp_status"));
	*changed = catalog_run(sql, 6, types, v, NULL, SPI_OK_UPDATE_RETURNING) == 1;
	if (*changed)
		return strcmp(catalog_col(0, 1), "Pending") == 0 ? "Pending" : "Failed";
	/* asked again: the answer of the first call, if nobody claimed the video since */
	sql = psprintf("SELECT status::pg_catalog.text FROM %s WHERE id = $1::pg_catalog.uuid AND "
				   "lease_token_hash = " TOKEN_HASH(2) " AND claimed_by IS NULL AND status IN ('Pending', 'Failed')",
				   catalog_rel("vtp_videos"));
	if (catalog_run(sql, 6, types, v, NULL, SPI_OK_SELECT) == 1)
		return strcmp(catalog_col(0, 1), "Pending") == 0 ? "Pending" : "Failed";
	return NULL;
}

/* The original of the video this token published is gone from its bucket. */
void
catalog_source_deleted_by(const char *id, const char *token)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		v[2] = {TXT(id), TXT(token)};

	catalog_run(psprintf("UPDATE %s SET source_deleted_at = pg_catalog.now() WHERE id = $1::pg_catalog.uuid AND "
						 "lease_token_hash = " TOKEN_HASH(2) " AND status = 'Published'", catalog_rel("vtp_videos")),
				2, types, v, NULL, SPI_OK_UPDATE);
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
	return (int) catalog_run(psprintf("UPDATE %s SET status = (CASE WHEN attempts >= $2 THEN 'Failed' ELSE 'Pending' END)::%s, "
									  "claimed_by = NULL, lease_until = NULL, task_sent_at = NULL, lease_token_hash = NULL, "
									  "error_code = 'interrupted', "
									  "error = (CASE WHEN attempts >= $2 THEN 'the worker stopped during each of the ' || attempts || "
									  "' attempts (a crash or a restart); vtp.max_attempts is ' || $2 "
									  "ELSE 'the worker stopped during the transcode' END) "
									  "WHERE status = 'Processing' AND claimed_by = $1",
									  catalog_rel("vtp_videos"), catalog_rel("vtp_status")),
							 2, types, v, NULL, SPI_OK_UPDATE);
}
