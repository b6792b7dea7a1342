/*
 * sqlapi.c — SQL functions: vtp_enqueue(bucket, key). The object is looked up
 * in S3 (HEAD: it must exist; its ETag makes the row unique), the row is
 * registered Pending, and the ingest worker is woken at commit to send the
 * task from the outbox. No SQS call is made inside the caller's transaction,
 * so a rolled-back enqueue leaves no task behind.
 */
#include "vtp.h"

#include "access/xact.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(vtp_enqueue);

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

Datum
vtp_enqueue(PG_FUNCTION_ARGS)
{
	char	   *bucket = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	s3_object_info info;
	char		id[37];
	vtp_reg		reg;

	check_name("bucket", bucket, 63);
	check_name("key", key, 1024);

	if (!vtp_sql_head(bucket, key, &info, "look up the S3 object"))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("S3 object \"%s\" does not exist in bucket \"%s\"", key, bucket)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
	reg = catalog_register(bucket, key, info.etag, info.size, "", id);
	SPI_finish();
	if (reg == VTP_REG_ID_TAKEN)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("video %s already works on another version of s3://%s/%s", id, bucket, key),
				 errdetail("The key carries the id of a video that has started on a different upload (ETag %s is new).",
						   info.etag)));
	if (reg == VTP_REG_CREATED || reg == VTP_REG_REPLACED)
		vtp_wake_at_commit(VTP_WAKE_INGEST);
	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(id)));
}
