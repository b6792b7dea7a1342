/*
 * test_runner_settings.c — vtp-runner's reading of vtp_runner_settings():
 * a full set is taken, each value lands in its field, and any value the
 * server would refuse (out of range, not a number, too long, an unknown
 * preset, a bad ladder or bucket) or a missing row refuses the whole set
 * with the setting's name, leaving the old one as it was.
 */
#include "unit.h"

#include "runner.h"

static const char *names[] = {
	"vtp.catalog", "vtp.temp_bucket", "vtp.output_bucket", "vtp.output_prefix", "vtp.tasks_queue_url",
	"vtp.renditions", "vtp.x264_preset", "vtp.x264_crf", "vtp.x264_hd_preset", "vtp.x264_hd_crf",
	"vtp.transcode_threads", "vtp.max_width", "vtp.max_height", "vtp.max_duration", "vtp.max_streams",
	"vtp.max_source_size", "vtp.transcode_nice", "vtp.transcode_memory_limit", "vtp.transcode_timeout",
	"vtp.visibility_timeout", "vtp.storage_outage_timeout", "vtp.sandbox", "vtp.aws_region",
	"vtp.s3_endpoint", "vtp.sqs_endpoint", "vtp.s3_part_size", "vtp.request_timeout", "vtp.aws_max_retries",
	"vtp.version", "vtp.something_newer"
};

#define N (int) (sizeof(names) / sizeof(names[0]))

static void
good_values(const char **v)
{
	static const char *good[] = {
		"7d9a1c1e-0000-4000-8000-000000000001", "temp-video-bucket", "output-video-bucket", "videos/",
		"http://127.0.0.1:9324/000000000000/tasks", "480p,720p", "veryfast", "21", "faster", "22.5",
		"1", "7680", "4320", "14400", "16", "10240", "19", "8192", "7200", "120", "300", "best_effort",
		"us-east-1", "http://127.0.0.1:9324", "", "8", "30", "4", "1.4", "whatever"
	};
	int			i;

	for (i = 0; i < N; i++)
		v[i] = good[i];
}

/* With value i replaced by bad: refused, err naming the setting, cfg untouched. */
static void
refused(int i, const char *bad)
{
	const char *v[N];
	runner_config cfg;
	char		err[512] = "";

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.job.catalog, "old");
	good_values(v);
	v[i] = bad;
	CHECK(!runner_settings_parse(N, names, v, &cfg, err, sizeof(err)));
	CHECK(strstr(err, names[i]) != NULL);
	CHECK_STR(cfg.job.catalog, "old");
}

void
test_runner_settings(void)
{
	const char *v[N];
	runner_config cfg;
	char		err[512] = "";
	char		longer[1100];
	aws_client	c;

	memset(&cfg, 0, sizeof(cfg));
	strcpy(cfg.job.scratch_dir, "/scratch/w1");
	good_values(v);
	CHECK(runner_settings_parse(N, names, v, &cfg, err, sizeof(err)));
	CHECK_STR(cfg.job.tasks_queue_url, "http://127.0.0.1:9324/000000000000/tasks");
	CHECK_STR(cfg.job.renditions, "480p,720p");
	CHECK(cfg.job.x264_hd_crf == 22.5);
	CHECK(cfg.job.threads == 1 && cfg.job.visibility_timeout_s == 120 && cfg.job.max_source_size_mb == 10240);
	CHECK(!cfg.job.sandbox_required);
	CHECK_STR(cfg.job.scratch_dir, "/scratch/w1");	/* the runner's own, kept */
	CHECK(cfg.aws.part_size_mb == 8 && cfg.aws.request_timeout_s == 30 && cfg.aws.max_retries == 4);
	CHECK_STR(cfg.aws.sqs_endpoint, "");
	CHECK_STR(cfg.version, "1.4");
	v[21] = "required";
	CHECK(runner_settings_parse(N, names, v, &cfg, err, sizeof(err)) && cfg.job.sandbox_required);

	aws_client_defaults(&c);
	runner_settings_aws(&cfg.aws, &c);
	CHECK_STR(c.s3_endpoint, "http://127.0.0.1:9324");
	CHECK(c.part_size == 8u * 1024 * 1024 && c.timeout_ms == 30000 && c.max_retries == 4);

	refused(7, "52");			/* x264_crf out of range */
	refused(10, "1.5");			/* threads: an integer */
	refused(11, "8k");			/* not a number */
	refused(19, "5");			/* visibility_timeout below 10 */
	refused(19, "nan");
	refused(16, "-1");
	refused(6, "placebo");		/* not a preset of the list */
	refused(5, "480p,banana");
	refused(1, "Not_A_Bucket");
	refused(4, "");				/* no tasks queue */
	refused(21, "off");
	refused(22, "us east 1");
	memset(longer, 'k', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	refused(3, longer);			/* output_prefix: never cut */

	/* a missing row refuses the set too */
	memset(&cfg, 0, sizeof(cfg));
	good_values(v);
	CHECK(!runner_settings_parse(N - 2, names, v, &cfg, err, sizeof(err)));
	CHECK(strstr(err, "vtp.version") != NULL);
}
