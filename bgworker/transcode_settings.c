/*
 * transcode_settings.c — the GUCs of the transcode workers and their job
 * (vtp_transcode_init): the worker count, the renditions and x264's
 * settings (checked here, so a bad value is refused at SET or reload
 * rather than failing every video), the lease, the helper's limits and
 * sandbox, and the wait for S3 through an outage.
 */
#include "transcode_settings.h"

#include <limits.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "catalog.h"
#include "settings.h"

#include "ladder.h"

int			vtp_transcode_workers = 1;
char	   *vtp_renditions = NULL;
char	   *vtp_x264_preset = NULL;
double		vtp_x264_crf = 21;
char	   *vtp_x264_hd_preset = NULL;
double		vtp_x264_hd_crf = 22;
int			vtp_visibility_timeout = 120;
int			vtp_transcode_timeout_s = 7200;
int			vtp_transcode_nice = 19;
int			vtp_transcode_memory_mb = 8192;
int			vtp_transcode_threads = 0;
int			vtp_max_width = 7680;
int			vtp_max_height = 4320;
int			vtp_max_duration_s = 4 * 3600;
int			vtp_max_streams = 16;
int			vtp_storage_outage_timeout_s = 5 * 60;

/* The helper's sandbox and path (issue 10, boundary). */
int			vtp_sandbox = VTP_SANDBOX_REQUIRED;
char	   *vtp_transcoder_path = NULL;

static const struct config_enum_entry sandbox_options[] = {
	{"required", VTP_SANDBOX_REQUIRED, false},
	{"best_effort", VTP_SANDBOX_BEST_EFFORT, false},
	{NULL, 0, false}
};

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

/* What a transcode makes and how: the workers, the renditions, the encoder, the lease. */
static void
define_work(void)
{
	DefineCustomIntVariable("vtp.transcode_workers", "Number of transcode background workers.",
							NULL, &vtp_transcode_workers, 1, 0, 32, PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.renditions", "Renditions to make, by short side of the displayed picture.", NULL,
							   &vtp_renditions, "480p,720p,1080p", PGC_SIGHUP, 0, check_renditions, NULL, NULL);
	DefineCustomStringVariable("vtp.x264_preset", "x264 preset of renditions below 1080p.", NULL,
							   &vtp_x264_preset, "veryfast", PGC_SIGHUP, 0, check_preset, NULL, NULL);
	DefineCustomRealVariable("vtp.x264_crf", "x264 constant rate factor of renditions below 1080p (capped by each rung's maxrate).",
							 NULL, &vtp_x264_crf, 21, 0, 51, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.x264_hd_preset", "x264 preset of renditions of 1080p and above, where the rate cap binds.", NULL,
							   &vtp_x264_hd_preset, "faster", PGC_SIGHUP, 0, check_preset, NULL, NULL);
	DefineCustomRealVariable("vtp.x264_hd_crf", "x264 constant rate factor of renditions of 1080p and above.",
							 NULL, &vtp_x264_hd_crf, 22, 0, 51, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.visibility_timeout", "How long a task stays invisible and a claim's lease lasts; renewed on a heartbeat at half this.",
							NULL, &vtp_visibility_timeout, 120, 10, 43200, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.storage_outage_timeout", "How long a transcode step waits for S3 to answer again before the attempt fails.",
							NULL, &vtp_storage_outage_timeout_s, 5 * 60, 0, 86400, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* What the helper may use and what it refuses, checked before decoding. */
static void
define_helper_limits(void)
{
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
	DefineCustomEnumVariable("vtp.sandbox", "required: the transcoder refuses to run without Landlock; best_effort: it runs with what the kernel offers.",
							 NULL, &vtp_sandbox, VTP_SANDBOX_REQUIRED, sandbox_options, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomStringVariable("vtp.transcoder_path", "The transcoder helper program; empty means vtp-transcode in the package library directory.", NULL,
							   &vtp_transcoder_path, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
}

void
vtp_transcode_init(void)
{
	define_work();
	define_helper_limits();
}

/*
 * One string setting into its place in the engine's settings. A value that
 * does not fit is not cut (a shorter prefix or path would be another place):
 * the old value stays, and false.
 */
static bool
copy_setting(char *dst, size_t size, const char *value)
{
	if (strlen(value) >= size)
		return false;
	strlcpy(dst, value, size);
	return true;
}

bool
vtp_transcode_fill_settings(job_settings *s, const char *worker_dir, int sqs_max_visibility)
{
	char		helper[MAXPGPATH + 32];
	bool		fit = true;

	snprintf(helper, sizeof(helper), "%s/vtp-transcode", pkglib_path);
	fit &= copy_setting(s->catalog, sizeof(s->catalog), vtp_catalog_identity());
	fit &= copy_setting(s->temp_bucket, sizeof(s->temp_bucket), vtp_temp_bucket);
	fit &= copy_setting(s->output_bucket, sizeof(s->output_bucket), vtp_output_bucket);
	fit &= copy_setting(s->output_prefix, sizeof(s->output_prefix), vtp_output_prefix);
	fit &= copy_setting(s->tasks_queue_url, sizeof(s->tasks_queue_url), vtp_tasks_queue_url);
	fit &= copy_setting(s->scratch_dir, sizeof(s->scratch_dir), worker_dir ? worker_dir : "");
	fit &= copy_setting(s->transcoder_path, sizeof(s->transcoder_path),
						vtp_transcoder_path && vtp_transcoder_path[0] ? vtp_transcoder_path : helper);
	fit &= copy_setting(s->renditions, sizeof(s->renditions), vtp_renditions);
	fit &= copy_setting(s->x264_preset, sizeof(s->x264_preset), vtp_x264_preset);
	s->x264_crf = vtp_x264_crf;
	fit &= copy_setting(s->x264_hd_preset, sizeof(s->x264_hd_preset), vtp_x264_hd_preset);
	s->x264_hd_crf = vtp_x264_hd_crf;
	s->threads = vtp_transcode_threads;
	s->max_width = vtp_max_width;
	s->max_height = vtp_max_height;
	s->max_duration_s = vtp_max_duration_s;
	s->max_streams = vtp_max_streams;
	s->max_source_size_mb = vtp_max_source_size_mb;
	s->nice = vtp_transcode_nice;
	s->memory_mb = vtp_transcode_memory_mb;
	s->transcode_timeout_s = vtp_transcode_timeout_s;
	s->visibility_timeout_s = vtp_visibility_timeout;
	s->storage_outage_timeout_s = vtp_storage_outage_timeout_s;
	s->sandbox_required = vtp_sandbox == VTP_SANDBOX_REQUIRED;
	s->sqs_max_visibility = sqs_max_visibility;
	return fit;
}
