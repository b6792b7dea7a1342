/*
 * vtp.c — _PG_init: the GUCs, the shared memory request and the static
 * background workers. Nothing else happens at load time.
 */
#include "vtp.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "ladder.h"

PG_MODULE_MAGIC;

char	   *vtp_database = NULL;
char	   *vtp_aws_region = NULL;
char	   *vtp_aws_profile = NULL;
char	   *vtp_s3_endpoint = NULL;
char	   *vtp_sqs_endpoint = NULL;
char	   *vtp_temp_bucket = NULL;
char	   *vtp_output_bucket = NULL;
char	   *vtp_output_prefix = NULL;
char	   *vtp_events_queue_url = NULL;
char	   *vtp_tasks_queue_url = NULL;
int			vtp_transcode_workers = 1;
char	   *vtp_renditions = NULL;
char	   *vtp_x264_preset = NULL;
double		vtp_x264_crf = 21;
char	   *vtp_x264_hd_preset = NULL;
double		vtp_x264_hd_crf = 22;
int			vtp_visibility_timeout = 120;
int			vtp_max_attempts = 3;
int			vtp_max_source_size_mb = 10240;
int			vtp_part_size_mb = 8;
int			vtp_request_timeout_s = 30;
int			vtp_aws_max_retries = 4;
char	   *vtp_scratch_dir = NULL;
int			vtp_transcode_timeout_s = 7200;
int			vtp_transcode_nice = 19;
int			vtp_transcode_memory_mb = 8192;
int			vtp_transcode_threads = 0;
int			vtp_max_width = 7680;
int			vtp_max_height = 4320;
int			vtp_max_duration_s = 4 * 3600;
int			vtp_max_streams = 16;
char	   *vtp_upload_prefix = NULL;
char	   *vtp_upload_listen = NULL;
int			vtp_upload_max_mb = 10240;
int			vtp_upload_max_concurrent = 8;
int			vtp_upload_idle_timeout_s = 30;
int			vtp_reconcile_interval_s = 60;
int			vtp_task_resend_after_s = 15 * 60;
int			vtp_orphan_object_age_s = 10 * 60;
int			vtp_stale_upload_age_s = 24 * 3600;
int			vtp_failed_retention_s = 7 * 86400;
int			vtp_storage_outage_timeout_s = 5 * 60;
/* the upload endpoint's limits (issue 10) */
int			vtp_upload_max_per_address = 8;
int			vtp_upload_header_timeout_s = 10;
int			vtp_upload_min_rate_kb = 16;
int			vtp_upload_rate_window_s = 30;
int			vtp_upload_auth_max_failures = 10;
int			vtp_upload_auth_window_s = 60;
char	   *vtp_source_buckets = NULL;

/* The helper's sandbox and path (issue 10, boundary). */
int			vtp_sandbox = VTP_SANDBOX_REQUIRED;
char	   *vtp_transcoder_path = NULL;

static const struct config_enum_entry sandbox_options[] = {
	{"required", VTP_SANDBOX_REQUIRED, false},
	{"best_effort", VTP_SANDBOX_BEST_EFFORT, false},
	{NULL, 0, false}
};

VtpShared  *vtp_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

static bool
check_renditions(char **newval, void **extra, GucSource source)
{
	int			sides[LADDER_MAX_RUNGS];
	char		err[256];

	if (ladder_parse_spec(*newval, sides, LADDER_MAX_RUNGS, err, sizeof(err)) < 0)
	{
		GUC_check_errdetail("%s", err);
		return false;
	}
	return true;
}

static bool
check_preset(char **newval, void **extra, GucSource source)
{
	static const char *const presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast",
	"medium", "slow", "slower", "veryslow", NULL};
	int			i;

	for (i = 0; presets[i]; i++)
		if (strcmp(*newval, presets[i]) == 0)
			return true;
	GUC_check_errdetail("Valid x264 presets are ultrafast, superfast, veryfast, faster, fast, medium, slow, slower and veryslow.");
	return false;
}

/* vtp.temp_bucket, vtp.output_bucket: a bucket name by S3's rules. */
static bool
check_bucket(char **newval, void **extra, GucSource source)
{
	const char *why = vtp_bucket_name_error(*newval);
	char		shown[80];

	if (why == NULL)
		return true;
	vtp_escape_name(*newval, shown, sizeof(shown));
	GUC_check_errdetail("\"%s\" is not a valid S3 bucket name: %s.", shown, why);
	return false;
}

/* vtp.source_buckets: a comma-separated list of bucket names, maybe empty. */
static bool
check_bucket_list(char **newval, void **extra, GucSource source)
{
	char		bad[80];
	const char *why = vtp_bucket_list_error(*newval, bad, sizeof(bad));

	if (why == NULL)
		return true;
	GUC_check_errdetail("\"%s\" is not a valid S3 bucket name: %s.", bad, why);
	return false;
}

static void
define_string(const char *name, const char *desc, char **var, const char *def, GucContext ctx,
			  GucStringCheckHook check)
{
	DefineCustomStringVariable(name, desc, NULL, var, def, ctx, 0, check, NULL, NULL);
}

static void
define_gucs(void)
{
	define_string("vtp.database", "Database the vtp workers connect to.", &vtp_database,
				  "postgres", PGC_POSTMASTER, NULL);
	define_string("vtp.aws_region", "AWS region used for signing and default endpoints.",
				  &vtp_aws_region, "us-east-1", PGC_SIGHUP, NULL);
	define_string("vtp.aws_profile", "Profile of the AWS shared credentials and config files; empty means AWS_PROFILE, else default.",
				  &vtp_aws_profile, "", PGC_SIGHUP, NULL);
	define_string("vtp.s3_endpoint", "S3 endpoint URL (path-style); empty means AWS.",
				  &vtp_s3_endpoint, "", PGC_SIGHUP, NULL);
	define_string("vtp.sqs_endpoint", "SQS endpoint URL; empty means AWS.",
				  &vtp_sqs_endpoint, "", PGC_SIGHUP, NULL);
	define_string("vtp.temp_bucket", "Bucket that receives uploads; originals are deleted from it once published.",
				  &vtp_temp_bucket, "temp-video-bucket", PGC_SIGHUP, check_bucket);
	define_string("vtp.output_bucket", "Bucket that receives the renditions.",
				  &vtp_output_bucket, "output-video-bucket", PGC_SIGHUP, check_bucket);
	define_string("vtp.output_prefix", "Key prefix of the renditions; the video id and a slash follow it.",
				  &vtp_output_prefix, "videos/", PGC_SIGHUP, NULL);
	define_string("vtp.events_queue_url", "SQS queue URL receiving the temp bucket's S3 notifications.",
				  &vtp_events_queue_url, "", PGC_SIGHUP, NULL);
	define_string("vtp.tasks_queue_url", "SQS queue URL of the transcode tasks.",
				  &vtp_tasks_queue_url, "", PGC_SIGHUP, NULL);
	DefineCustomIntVariable("vtp.transcode_workers", "Number of transcode background workers.",
							NULL, &vtp_transcode_workers, 1, 0, 32, PGC_POSTMASTER, 0, NULL, NULL, NULL);
	define_string("vtp.renditions", "Renditions to make, by short side of the displayed picture.",
				  &vtp_renditions, "480p,720p,1080p", PGC_SIGHUP, check_renditions);
	define_string("vtp.x264_preset", "x264 preset of renditions below 1080p.",
				  &vtp_x264_preset, "veryfast", PGC_SIGHUP, check_preset);
	DefineCustomRealVariable("vtp.x264_crf", "x264 constant rate factor of renditions below 1080p (capped by each rung's maxrate).",
							 NULL, &vtp_x264_crf, 21, 0, 51, PGC_SIGHUP, 0, NULL, NULL, NULL);
	define_string("vtp.x264_hd_preset", "x264 preset of renditions of 1080p and above, where the rate cap binds.",
				  &vtp_x264_hd_preset, "faster", PGC_SIGHUP, check_preset);
	DefineCustomRealVariable("vtp.x264_hd_crf", "x264 constant rate factor of renditions of 1080p and above.",
							 NULL, &vtp_x264_hd_crf, 22, 0, 51, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.visibility_timeout", "How long a task stays invisible and a claim's lease lasts; renewed on a heartbeat at half this.",
							NULL, &vtp_visibility_timeout, 120, 10, 43200, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_attempts", "Attempts before a video with transient failures is Failed.",
							NULL, &vtp_max_attempts, 3, 1, 100, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_source_size", "Largest source object vtp downloads.",
							NULL, &vtp_max_source_size_mb, 10240, 1, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.s3_part_size", "Multipart upload part size (S3 allows 5 MB to 5 GB).",
							NULL, &vtp_part_size_mb, 8, 5, 5120, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.request_timeout", "Timeout of one S3/SQS request (transfers are cut when stalled instead).",
							NULL, &vtp_request_timeout_s, 30, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.aws_max_retries", "Retries of a throttled, 5xx or network-failed S3/SQS request.",
							NULL, &vtp_aws_max_retries, 4, 0, 20, PGC_SIGHUP, 0, NULL, NULL, NULL);
	/*
	 * Restart only: each transcode worker makes and checks its directory in
	 * it once, at start, and the reconciler sweeps the root it names; a
	 * reload would split them (workers on the old root, the sweep on the new
	 * one, the old root's leftovers never swept).
	 */
	define_string("vtp.scratch_dir", "Directory for sources and renditions while transcoding; empty means base/pgsql_tmp/vtp in the data directory.",
				  &vtp_scratch_dir, "", PGC_POSTMASTER, NULL);
	DefineCustomIntVariable("vtp.transcode_timeout", "Wall-clock limit of one transcode.",
							NULL, &vtp_transcode_timeout_s, 7200, 10, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.transcode_nice", "CPU niceness of the transcoder process (higher yields more to queries).",
							NULL, &vtp_transcode_nice, 19, 0, 19, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.transcode_memory_limit", "Address-space limit of the transcoder process (0 = none).",
							NULL, &vtp_transcode_memory_mb, 8192, 0, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.transcode_threads", "Threads per decoder/encoder in the transcoder (0 = automatic).",
							NULL, &vtp_transcode_threads, 0, 0, 64, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_width", "Widest source picture vtp transcodes (checked before decoding).",
							NULL, &vtp_max_width, 7680, 16, 16384, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_height", "Tallest source picture vtp transcodes (checked before decoding).",
							NULL, &vtp_max_height, 4320, 16, 16384, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_duration", "Longest source vtp transcodes (checked before decoding).",
							NULL, &vtp_max_duration_s, 4 * 3600, 1, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_streams", "Most streams a source may have (checked before decoding).",
							NULL, &vtp_max_streams, 16, 1, 64, PGC_SIGHUP, 0, NULL, NULL, NULL);
	define_string("vtp.upload_prefix", "Key prefix of uploads in the temp bucket; keys vtp makes are <prefix><video id>/<file name>.",
				  &vtp_upload_prefix, "uploads/", PGC_SIGHUP, NULL);
	define_string("vtp.upload_listen", "host:port of the HTTP upload endpoint; empty disables it.",
				  &vtp_upload_listen, "", PGC_POSTMASTER, NULL);
	DefineCustomIntVariable("vtp.upload_max_bytes", "Largest upload the HTTP endpoint accepts (413 beyond).",
							NULL, &vtp_upload_max_mb, 10240, 1, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_max_concurrent", "Uploads the HTTP endpoint streams at once (503 with Retry-After beyond).",
							NULL, &vtp_upload_max_concurrent, 8, 1, 1000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_idle_timeout", "An upload connection that sends nothing for this long is closed.",
							NULL, &vtp_upload_idle_timeout_s, 30, 1, 3600, PGC_POSTMASTER, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.reconcile_interval", "How often the reconciler looks for stuck, lost and orphaned work.",
							NULL, &vtp_reconcile_interval_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.task_resend_after", "A Pending video whose task went out this long ago, untouched since, gets a new task when the tasks queue has none waiting.",
							NULL, &vtp_task_resend_after_s, 15 * 60, 1, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.orphan_object_age", "An object under the upload prefix that no video knows is ingested once it is this old (its notification was lost).",
							NULL, &vtp_orphan_object_age_s, 10 * 60, 1, 86400 * 30, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.stale_upload_age", "Incomplete multipart uploads older than this are aborted in the temp and output buckets.",
							NULL, &vtp_stale_upload_age_s, 24 * 3600, 1, 86400 * 30, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.failed_retention", "How long the original of a Failed video is kept for vtp_retry (0 = for ever).",
							NULL, &vtp_failed_retention_s, 7 * 86400, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.storage_outage_timeout", "How long a transcode step waits for S3 to answer again before the attempt fails.",
							NULL, &vtp_storage_outage_timeout_s, 5 * 60, 0, 86400, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	/* the upload endpoint's limits (issue 10) */
	DefineCustomIntVariable("vtp.upload_max_per_address", "Connections the HTTP endpoint holds at once from one client address (an IPv6 /64 counts as one); 0 = no limit.",
							NULL, &vtp_upload_max_per_address, 8, 0, 100000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_header_timeout", "A connection must send its request line and headers within this long, however it trickles; 0 = off.",
							NULL, &vtp_upload_header_timeout_s, 10, 0, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_min_rate", "Least request body per second (averaged over vtp.upload_rate_window) before the upload is cut off; 0 = off.",
							NULL, &vtp_upload_min_rate_kb, 16, 0, INT_MAX / 1024, PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_rate_window", "Window over which vtp.upload_min_rate is averaged.",
							NULL, &vtp_upload_rate_window_s, 30, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_auth_max_failures", "Failed bearer tokens from one address within vtp.upload_auth_window before it gets 429; 0 = off.",
							NULL, &vtp_upload_auth_max_failures, 10, 0, 100000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_auth_window", "Window over which failed bearer tokens are counted per address.",
							NULL, &vtp_upload_auth_window_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	define_string("vtp.source_buckets", "Buckets besides vtp.temp_bucket that vtp_enqueue and S3 events may name as sources (comma-separated; empty: the temp bucket only).",
				  &vtp_source_buckets, "", PGC_SIGHUP, check_bucket_list);
	DefineCustomEnumVariable("vtp.sandbox", "required: the transcoder refuses to run without Landlock; best_effort: it runs with what the kernel offers.",
							 NULL, &vtp_sandbox, VTP_SANDBOX_REQUIRED, sandbox_options, PGC_SIGHUP, 0, NULL, NULL, NULL);
	define_string("vtp.transcoder_path", "The transcoder helper program; empty means vtp-transcode in the package library directory.",
				  &vtp_transcoder_path, "", PGC_POSTMASTER, NULL);
	MarkGUCPrefixReserved("vtp");
}

static void
vtp_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(vtp_shmem_size());
}

static void
vtp_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	vtp_shared = ShmemInitStruct("vtp", vtp_shmem_size(), &found);
	if (!found)
		vtp_shmem_init(vtp_shared);
	LWLockRelease(AddinShmemInitLock);
}

static void
register_worker(const char *name, const char *type, const char *fn, int index)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "vtp");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "%s", fn);
	snprintf(w.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(w.bgw_type, BGW_MAXLEN, "%s", type);
	w.bgw_main_arg = Int32GetDatum(index);
	RegisterBackgroundWorker(&w);
}

void
_PG_init(void)
{
	int			i;

	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vtp must be loaded via shared_preload_libraries"),
				 errhint("Add vtp to shared_preload_libraries in postgresql.conf and restart the server.")));
	define_gucs();
	if (IsBinaryUpgrade)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = vtp_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = vtp_shmem_startup;

	register_worker("vtp ingest", "vtp ingest", "vtp_ingest_main", 0);
	register_worker("vtp reconcile", "vtp reconcile", "vtp_reconcile_main", 0);
	for (i = 0; i < vtp_transcode_workers; i++)
	{
		char		name[BGW_MAXLEN];

		snprintf(name, sizeof(name), "vtp transcode %d", i + 1);
		register_worker(name, "vtp transcode", "vtp_transcode_main", i + 1);
	}
	if (vtp_upload_listen[0] != '\0')
		register_worker("vtp upload", "vtp upload", "vtp_upload_main", 0);
}
