/*
 * sql_enqueue.c — SQL functions: vtp_enqueue(bucket, key). The object is looked up
 * in S3 (HEAD: it must exist; its ETag makes the row unique), the row is
 * registered Pending, and the ingest worker is woken at commit to send the
 * task from the outbox. No SQS call is made inside the caller's transaction,
 * so a rolled-back enqueue leaves no task behind. The bucket and key are
 * checked first (S3's bucket naming rules, the allowed source buckets, the
 * keys vtp accepts): a bad one is refused before any request is made.
 */
#include "aws_glue.h"
#include "catalog.h"
#include "settings.h"
#include "slots.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(vtp_enqueue);

/* The messages vtp_api's tests know, for an empty or an over-long name. */
static void
check_name(const char *what, const char *v, int maxlen)
{
	if (v[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	if ((int) strlen(v) > maxlen)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is longer than %d bytes", what, maxlen)));
}

/* Refuse, before any request, a bucket or key that may not be a source. */
static void
check_source(const char *bucket, const char *key)
{
	const char *why = vtp_bucket_name_error(bucket);
	char		shown[80],
				kshown[VTP_LOG_NAME];

	vtp_escape_name(bucket, shown, sizeof(shown));
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a valid S3 bucket name", shown),
				 errdetail("By S3's naming rules, %s.", why),
				 errhint("S3 bucket names have 3 to 63 lower-case letters, digits, dots and hyphens.")));
	if (!vtp_source_bucket_allowed(bucket))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("bucket \"%s\" is not a source bucket of vtp", shown),
				 errhint("Sources are read from vtp.temp_bucket and the buckets listed in vtp.source_buckets.")));
	why = vtp_key_error(key, strlen(key));
	if (why != NULL)
	{
		vtp_escape_name(key, kshown, sizeof(kshown));
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not an object key vtp accepts", kshown),
				 errdetail("By vtp's rules, %s.", why),
				 errhint("Keys are at most 1024 bytes of UTF-8 without control characters.")));
	}
}

Datum
vtp_enqueue(PG_FUNCTION_ARGS)
{
	char	   *bucket = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	s3_object_info info;
	char		id[VTP_UUID_SIZE],
				bshown[80],
				kshown[VTP_LOG_NAME],
				eshown[VTP_LOG_NAME];
	vtp_reg		reg;

	check_name("bucket", bucket, 63);
	check_name("key", key, VTP_KEY_MAX);
	check_source(bucket, key);
	vtp_escape_name(bucket, bshown, sizeof(bshown));
	vtp_escape_name(key, kshown, sizeof(kshown));

	if (!vtp_sql_head(bucket, key, &info, "look up the S3 object"))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("S3 object \"%s\" does not exist in bucket \"%s\"", kshown, bshown)));
	vtp_escape_name(info.etag, eshown, sizeof(eshown));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
	reg = catalog_register(bucket, key, info.etag, info.size, "", id);
	SPI_finish();
	if (reg == VTP_REG_ID_TAKEN)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("video %s already works on another version of s3://%s/%s", id, bshown, kshown),
				 errdetail("The key carries the id of a video that has started on a different upload (ETag %s is new).",
						   eshown)));
	if (reg == VTP_REG_CREATED || reg == VTP_REG_REPLACED)
		vtp_wake_at_commit(VTP_WAKE_INGEST);
	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(id)));
}
