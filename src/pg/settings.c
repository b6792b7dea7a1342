/*
 * settings.c — the GUCs several parts of vtp read (the database, the
 * buckets and prefixes, the queues, the limits every step applies), their
 * checks, and the two questions asked of them everywhere: may this bucket
 * be a source, where is the scratch root. Each subsystem defines its own
 * GUCs in its own vtp_xxx_init() (aws_glue.c, bgworker/reconcile.c,
 * bgworker/upload.c, bgworker/transcode_settings.c).
 */
#include "settings.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "names.h"

char	   *vtp_database = NULL;
char	   *vtp_temp_bucket = NULL;
char	   *vtp_output_bucket = NULL;
char	   *vtp_output_prefix = NULL;
char	   *vtp_upload_prefix = NULL;
char	   *vtp_source_buckets = NULL;
char	   *vtp_events_queue_url = NULL;
char	   *vtp_tasks_queue_url = NULL;
int			vtp_max_attempts = 3;
int			vtp_max_source_size_mb = 10240;
char	   *vtp_scratch_dir = NULL;

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

void
vtp_settings_init(void)
{
	DefineCustomStringVariable("vtp.database", "Database the vtp workers connect to.", NULL,
							   &vtp_database, "postgres", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.temp_bucket", "Bucket that receives uploads; originals are deleted from it once published.", NULL,
							   &vtp_temp_bucket, "temp-video-bucket", PGC_SIGHUP, 0, check_bucket, NULL, NULL);
	DefineCustomStringVariable("vtp.output_bucket", "Bucket that receives the renditions.", NULL,
							   &vtp_output_bucket, "output-video-bucket", PGC_SIGHUP, 0, check_bucket, NULL, NULL);
	DefineCustomStringVariable("vtp.output_prefix", "Key prefix of the renditions; the video id and a slash follow it.", NULL,
							   &vtp_output_prefix, "videos/", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.events_queue_url", "SQS queue URL receiving the temp bucket's S3 notifications.", NULL,
							   &vtp_events_queue_url, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.tasks_queue_url", "SQS queue URL of the transcode tasks.", NULL,
							   &vtp_tasks_queue_url, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_attempts", "Attempts before a video with transient failures is Failed.",
							NULL, &vtp_max_attempts, 3, 1, 100, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.max_source_size", "Largest source object vtp downloads.",
							NULL, &vtp_max_source_size_mb, 10240, 1, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);

	/*
	 * Restart only: each transcode worker makes and checks its directory in
	 * it once, at start, and the reconciler sweeps the root it names; a
	 * reload would split them (workers on the old root, the sweep on the new
	 * one, the old root's leftovers never swept).
	 */
	DefineCustomStringVariable("vtp.scratch_dir", "Directory for sources and renditions while transcoding; empty means base/pgsql_tmp/vtp in the data directory.", NULL,
							   &vtp_scratch_dir, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.upload_prefix", "Key prefix of uploads in the temp bucket; keys vtp makes are <prefix><video id>/<file name>.", NULL,
							   &vtp_upload_prefix, "uploads/", PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.source_buckets", "Buckets besides vtp.temp_bucket that vtp_enqueue and S3 events may name as sources (comma-separated; empty: the temp bucket only).", NULL,
							   &vtp_source_buckets, "", PGC_SIGHUP, 0, check_bucket_list, NULL, NULL);
}

/* vtp.temp_bucket is always a source; vtp.source_buckets adds others. */
bool
vtp_source_bucket_allowed(const char *bucket)
{
	return strcmp(bucket, vtp_temp_bucket) == 0 || vtp_bucket_in_list(vtp_source_buckets, bucket);
}

char *
vtp_scratch_path(void)
{
	if (vtp_scratch_dir && vtp_scratch_dir[0])
		return pstrdup(vtp_scratch_dir);
	return psprintf("%s/base/pgsql_tmp/vtp", DataDir);
}
