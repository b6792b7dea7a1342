/*
 * sql_urls.c — SQL functions that hand out presigned S3 URLs:
 * vtp_create_upload() for direct uploads into the temp bucket and
 * vtp_output_urls() for a video's renditions. Signed by vtp's own SigV4
 * with the server's credentials; nothing is sent anywhere. The renditions
 * are read by the catalog (catalog_urls.c).
 */
#include "aws_glue.h"
#include "catalog.h"
#include "settings.h"

#include <time.h>

#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

#include "creds.h"

#define MAX_PRESIGN_SECONDS (7 * 24 * 3600)	/* SigV4's limit */
#define S3_MAX_SINGLE_PUT (INT64CONST(5) * 1024 * 1024 * 1024)	/* one PUT, presigned or not */

PG_FUNCTION_INFO_V1(vtp_create_upload);
PG_FUNCTION_INFO_V1(vtp_output_urls);

static long
expiry_seconds(Datum interval)
{
	double		secs = DatumGetFloat8(DirectFunctionCall2(interval_part,
														   CStringGetTextDatum("epoch"), interval));

	if (secs < 1 || secs > MAX_PRESIGN_SECONDS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expires_in must be between 1 second and 7 days")));
	return (long) secs;
}

/*
 * A URL signed with temporary credentials stops working when they expire,
 * whatever X-Amz-Expires says: shorten it to their remaining life, and say
 * so, so that the expires_at handed out is the true one.
 */
static long
clamp_to_credentials(long expires, long now)
{
	aws_creds_info info;

	if (!aws_creds_peek(&info) || info.expires == 0 || info.expires - now >= expires)
		return expires;
	ereport(NOTICE,
			(errmsg("the URL expires in %ld s, not %ld s: it is signed with temporary AWS credentials (%s) that expire then",
					info.expires - now > 1 ? info.expires - now : 1, expires, info.provider),
			 errhint("For longer-lived URLs, sign with a role session of longer duration (duration_seconds) or static keys.")));
	return info.expires - now > 1 ? info.expires - now : 1;
}

/* A URL that could not be made: its bucket is not a valid S3 bucket name. */
static void
presign_refused(const aws_error *err)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("could not make a presigned URL: %s", err->message)));
}

Datum
vtp_create_upload(PG_FUNCTION_ARGS)
{
	const char *filename = PG_ARGISNULL(0) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	long		expires = PG_ARGISNULL(1) ? 3600 : expiry_seconds(PG_GETARG_DATUM(1));
	/* 1.3's three-argument form: the size the client will PUT, signed into the URL */
	int64		size = PG_NARGS() >= 3 && !PG_ARGISNULL(2) ? PG_GETARG_INT64(2) : -1;
	long		now = (long) time(NULL);
	char		id[VTP_UUID_SIZE],
				safe[VTP_NAME_MAX + 1];
	char	   *key;
	aws_client	c;
	aws_error	err;
	int			rc;
	vbuf		url = VBUF_INIT;
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	text	   *url_text;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vtp_create_upload: return type must be a row type");
	if (PG_NARGS() >= 3 && !PG_ARGISNULL(2))
	{
		if (size < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("size must be at least 1 byte")));
		if (size > S3_MAX_SINGLE_PUT)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("a presigned upload takes at most 5 GiB (%lld bytes), S3's limit for one PUT; this one would be %lld bytes",
							(long long) S3_MAX_SINGLE_PUT, (long long) size),
					 errhint("Upload larger files through the HTTP endpoint (vtp.upload_listen), which uses multipart uploads.")));
		if (size > (int64) vtp_max_source_size_mb * 1024 * 1024)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("the upload would be %lld bytes, more than vtp.max_source_size (%d MB)",
							(long long) size, vtp_max_source_size_mb)));
	}
	vtp_uuid_v4(id);
	vtp_safe_filename(filename, safe, sizeof(safe));
	key = psprintf("%s%s/%s", vtp_upload_prefix, id, safe);

	vtp_aws_setup(&c);
	expires = clamp_to_credentials(expires, now);
	rc = s3_presign_sized(&c, "PUT", vtp_temp_bucket, key, now, expires, size, &url, &err);
	aws_client_cleanup(&c);
	if (rc != 0)
		presign_refused(&err);
	url_text = cstring_to_text(url.data);
	vbuf_free(&url);

	values[0] = DirectFunctionCall1(uuid_in, CStringGetDatum(id));
	values[1] = PointerGetDatum(url_text);
	values[2] = TimestampTzGetDatum(time_t_to_timestamptz(now + expires));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}

Datum
vtp_output_urls(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		id = PG_GETARG_DATUM(0);
	long		expires = expiry_seconds(PG_GETARG_DATUM(1));
	long		now = (long) time(NULL);
	aws_client	c;
	vtp_url_row *rows;
	int			n,
				i;

	InitMaterializedSRF(fcinfo, 0);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
	n = catalog_renditions(id, &rows);
	vtp_aws_setup(&c);
	if (n > 0)
		expires = clamp_to_credentials(expires, now);
	for (i = 0; i < n; i++)
	{
		vbuf		url = VBUF_INIT;
		Datum		values[2];
		bool		nulls[2] = {false, false};
		aws_error	err;

		if (s3_presign_url(&c, "GET", rows[i].bucket, rows[i].key, now, expires, &url, &err) != 0)
		{
			aws_client_cleanup(&c);
			presign_refused(&err);
		}
		values[0] = CStringGetTextDatum(rows[i].name);
		values[1] = CStringGetTextDatum(url.data);
		vbuf_free(&url);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	aws_client_cleanup(&c);
	SPI_finish();
	return (Datum) 0;
}
