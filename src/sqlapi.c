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

static bool wake_at_commit = false;
static bool xact_callback_registered = false;

static void
vtp_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT && wake_at_commit)
		vtp_wake_ingest();
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_at_commit = false;
}

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
	aws_client	c;
	aws_error	err;
	s3_object_info info;
	char		id[37];
	bool		created;
	int			rc;

	check_name("bucket", bucket, 63);
	check_name("key", key, 1024);

	vtp_aws_setup(&c);
	vtp_aws_set_abort_mode(VTP_ABORT_ON_INTERRUPT);
	rc = s3_head(&c, bucket, key, &info, &err);
	aws_client_cleanup(&c);
	CHECK_FOR_INTERRUPTS();
	if (rc != 0)
	{
		if (err.http_status == 404)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("S3 object \"%s\" does not exist in bucket \"%s\"", key, bucket)));
		vtp_aws_ereport(ERROR, &err, "look up the S3 object");
	}

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
	if (!catalog_register(bucket, key, info.etag, info.size, "", id, &created))
		elog(ERROR, "vtp: could not register \"%s\"", key);
	SPI_finish();

	if (created)
	{
		if (!xact_callback_registered)
		{
			RegisterXactCallback(vtp_xact_callback, NULL);
			xact_callback_registered = true;
		}
		wake_at_commit = true;
	}
	PG_RETURN_DATUM(DirectFunctionCall1(uuid_in, CStringGetDatum(id)));
}
