/*
 * job_live.c — the job engine (src/job) with a fake host: no PostgreSQL, its
 * claim, lease, publish and failure records in memory, against a real S3+SQS
 * server (the test emulator) and the real vtp-transcode helper on a small
 * clip made with the ffmpeg CLI.
 *
 *   job_live ENDPOINT QUEUE_URL HELPER
 *
 * Credentials come from the environment, as in production.
 */
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "aws.h"
#include "creds.h"
#include "job.h"
#include "json.h"

int			unit_passed = 0;
int			unit_failed = 0;

#define TEMP "temp-video-bucket"
#define OUTPUT "output-video-bucket"

/* What the fake host was asked, and how it answers. */
typedef struct fake
{
	/* the answers */
	bool		exists;			/* the video is there to claim */
	char		key[256];		/* its source */
	bool		lose_when_uploading;	/* the lease is lost once an upload begins */
	bool		stop_when_transcoding;	/* the host stops once the helper runs */
	/* what happened */
	bool		lease_lost;
	bool		cancel;
	bool		stopping;
	char		seq[4096];		/* calls, in order: "claim progress facts publish ..." */
	int			claims;
	int			renewals;
	int			published;
	int			published_nr;
	int			failed;
	char		fail_code[64];
	int			released;
	char		release_code[64];
	bool		release_refund;
	int			trashed;
	char		trash_why[32];
	int			source_deleted;
	char		last_warning[2048];
} fake;

static fake F;

static void
note(const char *what)
{
	if (strlen(F.seq) + strlen(what) + 2 < sizeof(F.seq))
	{
		strcat(F.seq, what);
		strcat(F.seq, " ");
	}
}

static void
f_claim(void *host, const char *video_id, int lease_seconds, job_claim *out)
{
	note("claim");
	F.claims++;
	out->found = F.exists;
	out->claimed = F.exists;
	out->attempt = 1;
	snprintf(out->status, sizeof(out->status), "%s", F.exists ? "Processing" : "");
	if (F.exists)
	{
		out->bucket = strdup(TEMP);
		out->key = strdup(F.key);
		out->etag = strdup("");
	}
}

static bool
f_video_is(void *host, const char *video_id, const char *bucket, const char *key)
{
	note("video_is");
	return false;
}

static bool
f_renew(void *host, const job *j, int lease_seconds)
{
	F.renewals++;
	return !F.lease_lost;
}

static bool
f_take_cancel(void *host)
{
	bool		c = F.cancel;

	F.cancel = false;
	return c;
}

static void
f_phase(void *host, const job *j, const char *state, const char *activity)
{
	if (strcmp(state, "uploading") == 0 && F.lose_when_uploading && !F.lease_lost)
	{
		F.lease_lost = true;	/* vtp_cancel committed meanwhile */
		F.cancel = true;
	}
	if (strcmp(state, "transcoding") == 0 && F.stop_when_transcoding)
		F.stopping = true;		/* SIGTERM */
}

static void
f_progress(void *host, const job *j, const char *activity)
{
	if (activity && strstr(F.seq, "progress") == NULL)
		note("progress");
}

static void
f_facts(void *host, const job *j, const char *facts_json)
{
	json_value *js = json_parse(facts_json, strlen(facts_json), NULL, 0);

	CHECK(js != NULL);
	json_free(js);
	note("facts");
}

static bool
f_publish(void *host, const job *j)
{
	if (F.lease_lost)
		return false;			/* the catalog's compare-and-set */
	note("publish");
	F.published++;
	F.published_nr = j->nr;
	return true;
}

static void
f_fail(void *host, const job *j)
{
	note("fail");
	F.failed++;
	snprintf(F.fail_code, sizeof(F.fail_code), "%s", j->err_code);
}

static bool
f_release(void *host, const job *j, const char *code, const char *msg, bool refund, bool requeue)
{
	note("release");
	F.released++;
	snprintf(F.release_code, sizeof(F.release_code), "%s", code);
	F.release_refund = refund;
	return true;
}

static bool
f_video_status(void *host, const char *video_id, char *status, size_t len)
{
	return false;				/* deleted */
}

static void
f_trash(void *host, const job *j, const char *bucket, const char *const *keys, int n, const char *etag,
		const char *why)
{
	note("trash");
	F.trashed += n;
	snprintf(F.trash_why, sizeof(F.trash_why), "%s", why);
}

static void
f_source_deleted(void *host, const job *j)
{
	note("source_deleted");
	F.source_deleted++;
}

static void
f_wake_reconciler(void *host)
{
}

static void
f_wait(void *host, long timeout_ms, int fd1, int fd2)
{
	struct pollfd p[2];
	int			n = 0;

	if (fd1 >= 0)
		p[n++] = (struct pollfd) {.fd = fd1,.events = POLLIN};
	if (fd2 >= 0)
		p[n++] = (struct pollfd) {.fd = fd2,.events = POLLIN};
	if (timeout_ms > 0 || n > 0)
		(void) poll(p, n, (int) timeout_ms);
}

static bool
f_stopping(void *host)
{
	return F.stopping;
}

static void
f_log(void *host, job_level level, const char *msg, const char *detail, const char *hint)
{
	fprintf(stderr, "  %s: %s%s%s\n", level == JOB_WARNING ? "WARNING" : "LOG", msg,
			detail ? " DETAIL: " : "", detail ? detail : "");
	if (level == JOB_WARNING)
		snprintf(F.last_warning, sizeof(F.last_warning), "%s", msg);
}

static job_settings settings;
static job_host host = {
	.claim = f_claim,.video_is = f_video_is,.renew = f_renew,.take_cancel = f_take_cancel,
	.phase = f_phase,.progress = f_progress,.facts = f_facts,.publish = f_publish,.fail = f_fail,
	.release = f_release,.video_status = f_video_status,.trash = f_trash,
	.source_deleted = f_source_deleted,.wake_reconciler = f_wake_reconciler,.wait = f_wait,
	.stopping = f_stopping,.log = f_log,.host = NULL,.name = "job_live",.set = &settings,
};

static void
set_up(const char *queue, const char *helper, const char *scratch)
{
	snprintf(settings.catalog, sizeof(settings.catalog), "catalog-a");
	snprintf(settings.temp_bucket, sizeof(settings.temp_bucket), TEMP);
	snprintf(settings.output_bucket, sizeof(settings.output_bucket), OUTPUT);
	snprintf(settings.output_prefix, sizeof(settings.output_prefix), "videos/");
	snprintf(settings.tasks_queue_url, sizeof(settings.tasks_queue_url), "%s", queue);
	snprintf(settings.scratch_dir, sizeof(settings.scratch_dir), "%s", scratch);
	snprintf(settings.transcoder_path, sizeof(settings.transcoder_path), "%s", helper);
	snprintf(settings.renditions, sizeof(settings.renditions), "480p");
	snprintf(settings.x264_preset, sizeof(settings.x264_preset), "ultrafast");
	snprintf(settings.x264_hd_preset, sizeof(settings.x264_hd_preset), "ultrafast");
	settings.x264_crf = settings.x264_hd_crf = 30;
	settings.threads = 1;
	settings.max_width = 7680;
	settings.max_height = 4320;
	settings.max_duration_s = 3600;
	settings.max_streams = 8;
	settings.max_source_size_mb = 100;
	settings.nice = 0;
	settings.memory_mb = 4096;
	settings.transcode_timeout_s = 120;
	settings.visibility_timeout_s = 60;
	settings.storage_outage_timeout_s = 5;
	settings.sandbox_required = false;
	settings.sqs_max_visibility = 43200;
}

/* Messages in the queue, visible or not. */
static int
queued(aws_client *c)
{
	aws_error	err;
	json_value *a = sqs_get_attributes(c, settings.tasks_queue_url, &err);
	double		v = -1,
				nv = -1;

	if (a == NULL)
		return -1;
	(void) json_get_num(a, "ApproximateNumberOfMessages", &v);
	(void) json_get_num(a, "ApproximateNumberOfMessagesNotVisible", &nv);
	json_free(a);
	return (int) (v + nv);
}

/* Send a task, receive it and run it through the engine with a fresh fake. */
static job_outcome
run(aws_client *c, const char *body, sqs_message **msg)
{
	aws_error	err;
	sqs_message *msgs = NULL;
	int			n = 0;
	time_t		received_at;
	job_outcome out;

	CHECK(sqs_send(c, settings.tasks_queue_url, body, &err) == 0);
	received_at = time(NULL);
	CHECK(sqs_receive(c, settings.tasks_queue_url, 1, 5, 30, &msgs, &n, &err) == 0 && n == 1);
	if (n != 1)
		return JOB_SKIPPED;
	out = job_run_message(&host, c, &msgs[0], received_at);
	*msg = msgs;
	return out;
}

/* Receive and delete whatever a case left in the queue. */
static void
drain(aws_client *c)
{
	aws_error	err;
	sqs_message *msgs;
	int			i,
				n;

	while (sqs_receive(c, settings.tasks_queue_url, 10, 0, 30, &msgs, &n, &err) == 0 && n > 0)
	{
		for (i = 0; i < n; i++)
			(void) sqs_delete(c, settings.tasks_queue_url, msgs[i].receipt_handle, &err);
		sqs_messages_free(msgs, n);
	}
}

static void
fresh(const char *key)
{
	memset(&F, 0, sizeof(F));
	F.exists = true;
	snprintf(F.key, sizeof(F.key), "%s", key);
}

static const char *
task(const char *id, const char *catalog)
{
	static char body[512];

	snprintf(body, sizeof(body), "{\"video_id\":\"%s\",\"catalog\":\"%s\",\"bucket\":\"%s\",\"key\":\"uploads/x\"}",
			 id, catalog, TEMP);
	return body;
}

/* A job that publishes: renditions in the output bucket, the original and the message gone. */
static void
case_publish(aws_client *c, const char *clip)
{
	const char *id = "11111111-1111-4111-8111-111111111111";
	aws_error	err;
	s3_object_info info;
	sqs_message *m = NULL;

	fresh("uploads/job/publish.mp4");
	CHECK(s3_put_file(c, TEMP, F.key, clip, "video/mp4", &err) == 0);
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_OK);
	/* the plan (the facts) comes before the first progress line */
	CHECK_STR(F.seq, "claim facts progress publish source_deleted ");
	CHECK(F.published == 1 && F.published_nr == 1);
	CHECK(s3_head(c, OUTPUT, "videos/11111111-1111-4111-8111-111111111111/480p.mp4", &info, &err) == 0 &&
		  info.size > 1000);
	CHECK(s3_head(c, TEMP, F.key, &info, &err) == -1 && err.http_status == 404);
	CHECK(F.source_deleted == 1);
	CHECK(queued(c) == 0);		/* the task message was deleted */
	sqs_messages_free(m, 1);
}

/* The lease is lost while uploading: outcome lost, what was uploaded trashed, nothing published. */
static void
case_lost(aws_client *c, const char *clip)
{
	const char *id = "22222222-2222-4222-8222-222222222222";
	aws_error	err;
	sqs_message *m = NULL;

	fresh("uploads/job/lost.mp4");
	F.lose_when_uploading = true;
	CHECK(s3_put_file(c, TEMP, F.key, clip, "video/mp4", &err) == 0);
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_LOST);
	CHECK(F.published == 0);
	CHECK(F.trashed == 1);
	CHECK_STR(F.trash_why, "abandoned");
	CHECK(F.failed == 0 && F.released == 0);
	CHECK(F.source_deleted == 0);
	CHECK(queued(c) == 0);		/* the video is gone (deleted): so is its task */
	CHECK(s3_delete(c, TEMP, F.key, &err) == 0);
	drain(c);
	sqs_messages_free(m, 1);
}

/* The host stops while the helper runs: handed back at once, the attempt refunded. */
static void
case_shutdown(aws_client *c, const char *clip)
{
	const char *id = "33333333-3333-4333-8333-333333333333";
	aws_error	err;
	sqs_message *m = NULL,
			   *again = NULL;
	int			n = 0;

	fresh("uploads/job/shutdown.mp4");
	F.stop_when_transcoding = true;
	CHECK(s3_put_file(c, TEMP, F.key, clip, "video/mp4", &err) == 0);
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_SHUTDOWN);
	CHECK(F.released == 1 && F.release_refund);
	CHECK_STR(F.release_code, "interrupted");
	CHECK(F.published == 0 && F.failed == 0);
	/* handed back: visible again at once */
	CHECK(sqs_receive(c, settings.tasks_queue_url, 1, 2, 30, &again, &n, &err) == 0 && n == 1);
	if (n == 1)
	{
		CHECK(sqs_delete(c, settings.tasks_queue_url, again[0].receipt_handle, &err) == 0);
		sqs_messages_free(again, n);
	}
	CHECK(s3_delete(c, TEMP, F.key, &err) == 0);
	drain(c);
	sqs_messages_free(m, 1);
}

/* The source is not in S3: Failed now, source_missing, the message deleted. */
static void
case_missing(aws_client *c)
{
	const char *id = "44444444-4444-4444-8444-444444444444";
	sqs_message *m = NULL;

	fresh("uploads/job/never-uploaded.mp4");
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_PERMANENT);
	CHECK_STR(F.seq, "claim fail ");
	CHECK_STR(F.fail_code, "source_missing");
	CHECK(F.released == 0 && F.published == 0);
	CHECK(queued(c) == 0);
	sqs_messages_free(m, 1);
}

/* A task of another catalog: no claim, handed back (not deleted), counted, a WARNING. */
static void
case_foreign(aws_client *c)
{
	const char *id = "55555555-5555-4555-8555-555555555555";
	aws_error	err;
	sqs_message *m = NULL;

	fresh("uploads/x");
	CHECK(run(c, task(id, "catalog-b"), &m) == JOB_SKIPPED);
	CHECK(F.claims == 0);
	CHECK_STR(F.seq, "video_is ");
	CHECK(host.foreign_total == 1);
	CHECK(strstr(F.last_warning, "left alone 1 task(s) of another vtp catalog (the last for catalog \"catalog-b\"") != NULL);
	CHECK(queued(c) == 1);		/* still there, somebody's video */
	if (m)
	{
		CHECK(sqs_delete(c, settings.tasks_queue_url, m->receipt_handle, &err) == 0);
		sqs_messages_free(m, 1);
	}
}

int
main(int argc, char **argv)
{
	aws_client	c;
	char		cerr[256],
				cmd[1024],
				scratch[] = "/tmp/vtp-job-live-XXXXXX",
				clip[128];

	if (argc != 4)
	{
		fprintf(stderr, "usage: job_live ENDPOINT QUEUE_URL HELPER\n");
		return 2;
	}
	if (mkdtemp(scratch) == NULL)
		return 2;
	snprintf(clip, sizeof(clip), "%s-clip.mp4", scratch);
	snprintf(cmd, sizeof(cmd), "ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=854x480:rate=25 "
			 "-f lavfi -i sine=frequency=440 -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p "
			 "-c:a aac -shortest %s", clip);
	if (system(cmd) != 0)
		return 2;
	aws_client_defaults(&c);
	vtp_strlcpy(c.s3_endpoint, argv[1], sizeof(c.s3_endpoint));
	vtp_strlcpy(c.sqs_endpoint, argv[1], sizeof(c.sqs_endpoint));
	c.max_retries = 1;
	CHECK(aws_creds_load("default", &c.creds, cerr, sizeof(cerr)) == 0);
	set_up(argv[2], argv[3], scratch);
	drain(&c);

	case_publish(&c, clip);
	case_lost(&c, clip);
	case_shutdown(&c, clip);
	case_missing(&c);
	case_foreign(&c);

	aws_client_cleanup(&c);
	unlink(clip);
	job_remove_tree(scratch);
	printf("job_live: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
