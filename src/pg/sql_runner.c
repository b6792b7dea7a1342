/*
 * sql_runner.c — the worker protocol as SQL functions: claim, heartbeat,
 * probe, publish, fail, release, trash and the original's removal, each a
 * compare-and-set on the attempt's lease token (catalog_claim.c holds the
 * statements). vtp-runner calls them through libpq as a role
 * vtp_grant_runner made; the in-server workers call the very same functions
 * through SPI (catalog_proto.c). They are SECURITY DEFINER: a runner's role
 * reaches vtp_videos only through them, and everything a runner says is
 * checked here, as a compromised runner could say anything.
 */
#include "catalog_int.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/guc.h"
#include "utils/uuid.h"

#include "json.h"
#include "ladder.h"

PG_FUNCTION_INFO_V1(vtp_runner_settings);
PG_FUNCTION_INFO_V1(vtp_claim_video);
PG_FUNCTION_INFO_V1(vtp_video_is);
PG_FUNCTION_INFO_V1(vtp_video_status);
PG_FUNCTION_INFO_V1(vtp_heartbeat);
PG_FUNCTION_INFO_V1(vtp_set_probe);
PG_FUNCTION_INFO_V1(vtp_publish);
PG_FUNCTION_INFO_V1(vtp_fail);
PG_FUNCTION_INFO_V1(vtp_release);
PG_FUNCTION_INFO_V1(vtp_trash_object);
PG_FUNCTION_INFO_V1(vtp_source_deleted);

#define MAX_LEASE_SECONDS 43200	/* vtp.visibility_timeout's limit, and SQS's */
#define MAX_WORKER_NAME 200
#define MAX_REASON 8192			/* a failure's message; codes are short */

/* The uuid argument i as text (the statements take text and cast). */
static char *
arg_uuid(FunctionCallInfo fcinfo, int i)
{
	if (PG_ARGISNULL(i))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("a video id and a lease token are required")));
	return DatumGetCString(DirectFunctionCall1(uuid_out, PG_GETARG_DATUM(i)));
}

/* The text argument i, at most max bytes (a worker's words go into the catalog). */
static char *
arg_text(FunctionCallInfo fcinfo, int i, int max, const char *what)
{
	char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(i));

	if (strlen(s) > (size_t) max)
		ereport(ERROR, (errcode(ERRCODE_STRING_DATA_RIGHT_TRUNCATION),
						errmsg("%s is longer than %d bytes", what, max)));
	return s;
}

static int
arg_lease(FunctionCallInfo fcinfo, int i)
{
	int			s = PG_ARGISNULL(i) ? 0 : PG_GETARG_INT32(i);

	if (s < 1 || s > MAX_LEASE_SECONDS)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a lease lasts 1 to %d seconds", MAX_LEASE_SECONDS)));
	return s;
}

/*
 * What a transcode job needs to know, as the server has it now: a runner
 * reads this instead of a configuration of its own (one place to change).
 * Credentials are never GUCs, so none can be here.
 */
static const char *const runner_settings[] = {
	"vtp.temp_bucket", "vtp.output_bucket", "vtp.output_prefix", "vtp.tasks_queue_url", "vtp.renditions",
	"vtp.x264_preset", "vtp.x264_crf", "vtp.x264_hd_preset", "vtp.x264_hd_crf", "vtp.transcode_threads",
	"vtp.max_width", "vtp.max_height", "vtp.max_duration", "vtp.max_streams", "vtp.max_source_size",
	"vtp.transcode_nice", "vtp.transcode_memory_limit", "vtp.transcode_timeout", "vtp.visibility_timeout",
	"vtp.storage_outage_timeout", "vtp.sandbox", "vtp.aws_region", "vtp.s3_endpoint", "vtp.sqs_endpoint",
	"vtp.s3_part_size", "vtp.request_timeout", "vtp.aws_max_retries", NULL
};

/* One row of vtp_runner_settings. */
static void
setting_row(ReturnSetInfo *rsinfo, const char *name, const char *value)
{
	Datum		values[2] = {CStringGetTextDatum(name), CStringGetTextDatum(value ? value : "")};
	bool		nulls[2] = {false, false};

	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

Datum
vtp_runner_settings(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	setting_row(rsinfo, "vtp.catalog", vtp_catalog_identity());
	setting_row(rsinfo, "vtp.version", VTP_VERSION);
	for (i = 0; runner_settings[i] != NULL; i++)
		setting_row(rsinfo, runner_settings[i], GetConfigOption(runner_settings[i], false, false));
	return (Datum) 0;
}

/* Where a video's renditions go: <vtp.output_prefix><id>/ (as the engine makes it). */
static char *
video_prefix(const char *id)
{
	return psprintf("%s%s/", vtp_output_prefix, id);
}

static void
spi_begin(void)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
}

Datum
vtp_claim_video(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *worker = arg_text(fcinfo, 1, MAX_WORKER_NAME, "a worker's name");
	char	   *token = arg_uuid(fcinfo, 2);
	int			lease = arg_lease(fcinfo, 3);
	MemoryContext fn_cxt = CurrentMemoryContext;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {false, false, false, false, false, true, true, true};
	vtp_claim	cl;
	HeapTuple	tuple;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "vtp_claim_video: the return type must be a row type");
	spi_begin();
	catalog_claim(id, worker, token, lease, &cl);
	MemoryContextSwitchTo(fn_cxt);
	values[0] = BoolGetDatum(cl.found);
	values[1] = BoolGetDatum(cl.claimed);
	values[2] = BoolGetDatum(cl.found && !cl.claimed && strcmp(cl.status, "Processing") == 0 && cl.lease_live);
	values[3] = CStringGetTextDatum(cl.status);
	values[4] = Int32GetDatum(cl.attempts);
	if (cl.claimed)
	{
		values[5] = CStringGetTextDatum(cl.bucket);
		values[6] = CStringGetTextDatum(cl.key);
		values[7] = CStringGetTextDatum(cl.etag ? cl.etag : "");
		nulls[5] = nulls[6] = nulls[7] = false;
	}
	tuple = heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls);
	SPI_finish();
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

Datum
vtp_video_is(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	bool		ours;

	spi_begin();
	ours = catalog_video_is(id, text_to_cstring(PG_GETARG_TEXT_PP(1)), text_to_cstring(PG_GETARG_TEXT_PP(2)));
	SPI_finish();
	PG_RETURN_BOOL(ours);
}

Datum
vtp_video_status(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	MemoryContext fn_cxt = CurrentMemoryContext;
	char	   *s;
	text	   *t = NULL;

	spi_begin();
	s = catalog_video_status(id);
	MemoryContextSwitchTo(fn_cxt);	/* the answer outlives SPI */
	if (s)
		t = cstring_to_text(s);
	SPI_finish();
	if (t == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(t);
}

Datum
vtp_heartbeat(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *token = arg_uuid(fcinfo, 1);
	int			lease = arg_lease(fcinfo, 2);
	double		progress = PG_ARGISNULL(3) ? 0 : PG_GETARG_FLOAT8(3);
	double		eta = PG_ARGISNULL(4) ? -1 : PG_GETARG_FLOAT8(4);
	bool		held;

	if (isnan(progress) || progress < 0 || progress > 100)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("progress is a percentage from 0 to 100")));
	if (isnan(eta) || eta > 86400.0 * 365)
		eta = -1;				/* unknown rather than nonsense */
	spi_begin();
	held = catalog_extend_lease(id, token, lease, progress, eta < 0 ? -1 : eta);
	SPI_finish();
	PG_RETURN_BOOL(held);
}

Datum
vtp_set_probe(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *token = arg_uuid(fcinfo, 1);
	char	   *probe = arg_text(fcinfo, 2, 1024 * 1024, "a probe");
	bool		held;

	spi_begin();
	held = catalog_set_probe(id, token, probe);
	SPI_finish();
	PG_RETURN_BOOL(held);
}

/* One rendition of vtp_publish's JSON, checked: under out_key in the output bucket. */
static void
rendition_from_json(const json_value *e, const char *out_key, vtp_rendition *r)
{
	const char *name = json_get_str(e, "name");
	const char *key = json_get_str(e, "key");
	int64_t		w,
				h,
				bytes,
				bitrate;
	double		duration;

	if (name == NULL || strlen(name) == 0 || strlen(name) >= sizeof(r->name) || key == NULL ||
		vtp_key_error(key, strlen(key)) != NULL ||
		!json_get_int(e, "width", 1, 16384, &w) || !json_get_int(e, "height", 1, 16384, &h) ||
		!json_get_int(e, "bytes", 0, INT64CONST(1) << 50, &bytes) ||
		!json_get_int(e, "bitrate", 0, INT64CONST(1) << 40, &bitrate) ||
		!json_get_num(e, "duration", &duration) || !(duration >= 0 && duration < 86400.0 * 30))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("a rendition needs a name (under 16 bytes), a key, width and height (1 to 16384), bytes, bitrate and duration")));
	if (strncmp(key, out_key, strlen(out_key)) != 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("rendition key \"%s\" is not under the video's output key \"%s\"", key, out_key)));
	memset(r, 0, sizeof(*r));
	strlcpy(r->name, name, sizeof(r->name));
	r->key = pstrdup(key);
	r->width = (int) w;
	r->height = (int) h;
	r->bytes = bytes;
	r->bitrate = bitrate;
	r->duration = duration;
}

/* The renditions JSON array (at most one per rung) into r; how many. */
static int
renditions_from_json(const char *text, const char *out_key, vtp_rendition *r)
{
	char		err[128];
	json_value *js = json_parse(text, strlen(text), err, sizeof(err));
	const json_value *e;
	int			n = 0;

	if (js == NULL || js->type != JSON_ARRAY)
	{
		if (js)
			json_free(js);
		ereport(ERROR, (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						errmsg("renditions must be a JSON array: %s", js ? "not an array" : err)));
	}
	PG_TRY();
	{
		for (e = js->child; e; e = e->next)
		{
			if (n == LADDER_MAX_RUNGS)
				ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
								errmsg("at most %d renditions", LADDER_MAX_RUNGS)));
			rendition_from_json(e, out_key, &r[n++]);
		}
	}
	PG_FINALLY();
	{
		json_free(js);
	}
	PG_END_TRY();
	return n;
}

Datum
vtp_publish(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *token = arg_uuid(fcinfo, 1);
	char	   *bucket = arg_text(fcinfo, 2, 255, "a bucket name");
	char	   *out_key = arg_text(fcinfo, 3, 1024, "an output key");
	double		cpu = PG_GETARG_FLOAT8(4);
	double		wall = PG_GETARG_FLOAT8(5);
	char	   *json = arg_text(fcinfo, 6, 64 * 1024, "the renditions");
	vtp_rendition r[LADDER_MAX_RUNGS];
	int			n;
	bool		held;

	/*
	 * Not where this catalog's renditions of the video go (now): a settings
	 * change since the job began, or a lie. Either way this attempt cannot
	 * publish: false, as for a lost lease (its uploads go to the trash).
	 */
	if (strcmp(bucket, vtp_output_bucket) != 0 || strcmp(out_key, video_prefix(id)) != 0)
	{
		ereport(WARNING, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						  errmsg("video %s not published: its renditions must be in s3://%s/%s, not s3://%s/%s",
								 id, vtp_output_bucket, video_prefix(id), bucket, out_key),
						  errdetail("vtp.output_bucket or vtp.output_prefix changed during the transcode, or the worker is wrong.")));
		PG_RETURN_BOOL(false);
	}
	if (!(cpu >= 0 && cpu < 1e9) || !(wall >= 0 && wall < 1e9))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("cpu and wall seconds must be from 0 to 1e9")));
	n = renditions_from_json(json, out_key, r);
	if (n == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("a video is published with at least one rendition")));
	spi_begin();
	held = catalog_publish(id, token, bucket, out_key, r, n, cpu, wall);
	SPI_finish();
	PG_RETURN_BOOL(held);
}

Datum
vtp_fail(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *token = arg_uuid(fcinfo, 1);
	char	   *code = arg_text(fcinfo, 2, 63, "a reason code");
	char	   *msg = arg_text(fcinfo, 3, MAX_REASON, "a reason");
	bool		held;

	spi_begin();
	held = catalog_fail(id, token, code, msg);
	SPI_finish();
	PG_RETURN_BOOL(held);
}

Datum
vtp_release(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *token = arg_uuid(fcinfo, 1);
	char	   *code = arg_text(fcinfo, 2, 63, "a reason code");
	char	   *msg = arg_text(fcinfo, 3, MAX_REASON, "a reason");
	bool		refund = PG_GETARG_BOOL(4);
	bool		requeue = PG_GETARG_BOOL(5);
	const char *status;
	bool		changed;

	spi_begin();
	status = catalog_release(id, token, code, msg, refund, &changed);
	if (changed && requeue && strcmp(status, "Pending") == 0)
		catalog_requeue(id);	/* Pending again: a fresh task, sent at commit (once, not when asked again) */
	SPI_finish();
	if (status == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(status));
}

/*
 * Only the video's own objects: its original, or an upload in the output
 * bucket under <vtp.output_prefix><id>/ (the row may be gone: vtp_delete
 * during the transcode; catalogs sharing an output bucket need their own
 * prefixes, as docs/configuration.md says). The reconciler then deletes it only if no row uses
 * it, so even a lying worker cannot remove a published rendition.
 */
Datum
vtp_trash_object(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *bucket,
			   *key,
			   *etag,
			   *reason;
	bool		own;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(4))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("a bucket, a key and a reason are required")));
	bucket = arg_text(fcinfo, 1, 255, "a bucket name");
	key = arg_text(fcinfo, 2, 1024, "a key");
	etag = PG_ARGISNULL(3) ? NULL : arg_text(fcinfo, 3, 256, "an ETag");
	reason = arg_text(fcinfo, 4, 64, "a reason");
	spi_begin();
	own = (strcmp(bucket, vtp_output_bucket) == 0 && strncmp(key, video_prefix(id), strlen(video_prefix(id))) == 0) ||
		catalog_video_is(id, bucket, key);
	if (!own)
		ereport(WARNING, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						  errmsg("not trashing s3://%s/%s: it is not an object of video %s", bucket, key, id)));
	else
	{
		catalog_trash(bucket, key, etag, id, reason);
		vtp_wake_at_commit(VTP_WAKE_RECONCILE);
	}
	SPI_finish();
	PG_RETURN_VOID();
}

Datum
vtp_source_deleted(PG_FUNCTION_ARGS)
{
	char	   *id = arg_uuid(fcinfo, 0);
	char	   *token = arg_uuid(fcinfo, 1);

	spi_begin();
	catalog_source_deleted_by(id, token);
	SPI_finish();
	PG_RETURN_VOID();
}
