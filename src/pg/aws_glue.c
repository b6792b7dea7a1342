/*
 * aws_glue.c — the AWS client inside PostgreSQL processes: its GUCs
 * (vtp_aws_init) and configuration from them, credentials from the environment or the credentials file, transfers
 * that stop on cancel/shutdown (the callback returns an abort code; nothing
 * longjmps out of libcurl), retry sleeps that watch for postmaster death,
 * and library errors turned into ereport with a SQLSTATE.
 */
#include "aws_glue.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "creds.h"

static char *vtp_aws_region = NULL;
static char *vtp_aws_profile = NULL;
static char *vtp_s3_endpoint = NULL;
static char *vtp_sqs_endpoint = NULL;
static int	vtp_request_timeout_s = 30;
static int	vtp_aws_max_retries = 4;
int			vtp_part_size_mb = 8;

static vtp_abort_mode abort_mode = VTP_ABORT_ON_INTERRUPT;

/* Credentials never live in a GUC (pg_read_all_settings reads even superuser-only ones). */
void
vtp_aws_init(void)
{
	DefineCustomStringVariable("vtp.aws_region", "AWS region used for signing and default endpoints.", NULL,
							   &vtp_aws_region, "us-east-1", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.aws_profile", "Profile of the AWS shared credentials and config files; empty means AWS_PROFILE, else default.", NULL,
							   &vtp_aws_profile, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.s3_endpoint", "S3 endpoint URL (path-style); empty means AWS.", NULL,
							   &vtp_s3_endpoint, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.sqs_endpoint", "SQS endpoint URL; empty means AWS.", NULL,
							   &vtp_sqs_endpoint, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.s3_part_size", "Multipart upload part size (S3 allows 5 MB to 5 GB).",
							NULL, &vtp_part_size_mb, 8, 5, 5120, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.request_timeout", "Timeout of one S3/SQS request (transfers are cut when stalled instead).",
							NULL, &vtp_request_timeout_s, 30, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.aws_max_retries", "Retries of a throttled, 5xx or network-failed S3/SQS request.",
							NULL, &vtp_aws_max_retries, 4, 0, 20, PGC_SIGHUP, 0, NULL, NULL, NULL);
}

void
vtp_aws_set_abort_mode(vtp_abort_mode m)
{
	abort_mode = m;
}

/* Runs inside libcurl's progress callback: read flags only, never ereport. */
static int
pg_abort_check(void *arg)
{
	if (abort_mode == VTP_ABORT_NEVER)
		return 0;
	if (ShutdownRequestPending || ProcDiePending || QueryCancelPending)
		return 1;
	return 0;
}

static int
pg_sleep_ms(long ms, void *arg)
{
	while (ms > 0)
	{
		long		step = ms > 100 ? 100 : ms;

		if (pg_abort_check(arg))
			return 1;
		(void) WaitLatch(NULL, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, step, PG_WAIT_EXTENSION);
		ms -= step;
	}
	return pg_abort_check(arg);
}

/*
 * Fill c from the GUCs and load credentials. Returns false with the reason
 * (never a secret) in err when there are none. The caller must
 * aws_client_cleanup() it.
 */
bool
vtp_aws_try_setup(aws_client *c, char *err, size_t errlen)
{
	aws_client_defaults(c);
	strlcpy(c->region, vtp_aws_region, sizeof(c->region));
	strlcpy(c->s3_endpoint, vtp_s3_endpoint, sizeof(c->s3_endpoint));
	strlcpy(c->sqs_endpoint, vtp_sqs_endpoint, sizeof(c->sqs_endpoint));
	c->timeout_ms = vtp_request_timeout_s * 1000L;
	c->max_retries = vtp_aws_max_retries;
	c->part_size = (size_t) vtp_part_size_mb * 1024 * 1024;
	c->abort_check = pg_abort_check;
	c->sleep_fn = pg_sleep_ms;
	c->cb_arg = NULL;
	if (aws_client_use_chain(c, vtp_aws_profile, err, errlen) != 0)
		return false;
	vtp_aws_note_credentials();
	return true;
}

/*
 * Say once per change which provider this process's credentials come from
 * (never a key): LOG in background workers, DEBUG1 in sessions (which would
 * otherwise each log it). Main thread only.
 */
void
vtp_aws_note_credentials(void)
{
	static unsigned logged = 0;
	static unsigned failures_logged = 0;
	static time_t last_warning = 0;
	aws_creds_info info;

	if (!aws_creds_peek(&info))
		return;
	/* a refresh that fails while the current ones still work: say so, once a minute */
	if (info.refresh_failures != failures_logged && info.refresh_error[0] &&
		time(NULL) - last_warning >= 60)
	{
		failures_logged = info.refresh_failures;
		last_warning = time(NULL);
		ereport(WARNING,
				(errmsg("vtp: could not refresh the AWS credentials from %s: %s", info.provider, info.refresh_error),
				 errdetail("The current ones are used until they expire; the refresh is retried every few seconds.")));
	}
	if (info.generation == logged)
		return;
	logged = info.generation;
	if (info.expires)
	{
		char		when[32];
		time_t		t = (time_t) info.expires;
		struct tm	tm;

		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
		ereport(IsBackgroundWorker ? LOG : DEBUG1,
				(errmsg("vtp: AWS credentials from %s (%s), temporary, expiring at %s",
						info.provider, info.detail, when)));
	}
	else
		ereport(IsBackgroundWorker ? LOG : DEBUG1,
				(errmsg("vtp: AWS credentials from %s (%s)", info.provider, info.detail)));
}

/* As vtp_aws_try_setup, but ERROR (28000) without credentials. */
void
vtp_aws_setup(aws_client *c)
{
	char		err[512];

	if (!vtp_aws_try_setup(c, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("vtp has no AWS credentials"),
				 errdetail("%s", err),
				 errhint("See \"Where vtp gets AWS credentials\" in docs/aws-setup.md: the server's environment (on Debian, /etc/postgresql/15/main/environment), the shared credentials or config file, a container or an instance role.")));
}

/*
 * HEAD an object from a SQL function: false if it does not exist; any other
 * failure is an ERROR with the AWS error's SQLSTATE (what says what for).
 */
bool
vtp_sql_head(const char *bucket, const char *key, s3_object_info *info, const char *what)
{
	aws_client	c;
	aws_error	err;
	int			rc;

	vtp_aws_setup(&c);
	vtp_aws_set_abort_mode(VTP_ABORT_ON_INTERRUPT);
	rc = s3_head(&c, bucket, key, info, &err);
	aws_client_cleanup(&c);
	CHECK_FOR_INTERRUPTS();
	if (rc == 0)
		return true;
	if (err.http_status == 404)
		return false;
	vtp_aws_ereport(ERROR, &err, what);
	return false;				/* not reached */
}

int
vtp_aws_sqlstate(const aws_error *err)
{
	if (err->aborted)
		return ERRCODE_QUERY_CANCELED;
	if (err->http_status == 404)
		return ERRCODE_UNDEFINED_OBJECT;
	if (err->http_status == 403 || err->http_status == 401)
		return ERRCODE_INSUFFICIENT_PRIVILEGE;
	if (err->transient)
		return ERRCODE_CONNECTION_FAILURE;
	return ERRCODE_EXTERNAL_ROUTINE_EXCEPTION;
}

void
vtp_aws_ereport(int elevel, const aws_error *err, const char *what)
{
	ereport(elevel,
			(errcode(vtp_aws_sqlstate(err)),
			 errmsg("could not %s: %s", what, err->message),
			 errdetail("AWS error code %s, HTTP status %ld%s.", err->code, err->http_status,
					   err->transient ? ", transient" : "")));
}

PG_FUNCTION_INFO_V1(vtp_aws_credentials);

/*
 * vtp_aws_credentials(): which provider of the chain answers for this
 * backend (the same environment and files as the workers), or why none does.
 */
Datum
vtp_aws_credentials(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};
	aws_client	c;
	char		err[1024];
	aws_creds_info info;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vtp_aws_credentials must return a record");
	if (vtp_aws_try_setup(&c, err, sizeof(err)) && aws_creds_peek(&info))
	{
		values[0] = CStringGetTextDatum(info.provider);
		values[1] = CStringGetTextDatum(info.detail);
		if (info.expires)
			values[2] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) info.expires));
		else
			nulls[2] = true;
		if (info.refresh_error[0])
			values[3] = CStringGetTextDatum(psprintf("refreshing fails (the current ones still work): %s", info.refresh_error));
		else
			nulls[3] = true;
	}
	else
	{
		nulls[0] = nulls[1] = nulls[2] = true;
		values[3] = CStringGetTextDatum(err);
	}
	aws_client_cleanup(&c);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
