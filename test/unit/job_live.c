/*
 * job_live.c — the job engine (src/job) with a fake host (job_fake.c): no
 * PostgreSQL, its claim, lease, publish and failure records in memory,
 * against a real S3+SQS server (the test emulator) and the real
 * vtp-transcode helper on a small clip made with the ffmpeg CLI.
 *
 *   job_live ENDPOINT QUEUE_URL HELPER
 *
 * Credentials come from the environment, as in production.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "aws.h"
#include "creds.h"
#include "job_fake.h"
#include "json.h"

int			unit_passed = 0;
int			unit_failed = 0;

static const char *endpoint;

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	return size * n;
}

/* Make the emulator lose the answers to the next count requests of method under path (the emulator's hook). */
static void
inject_failure(const char *method, const char *path, int count)
{
	CURL	   *h = curl_easy_init();
	char		url[512];
	long		status = 0;

	snprintf(url, sizeof(url), "%s/__vtp/fail?method=%s&path=%s&count=%d&after=1", endpoint, method, path, count);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	CHECK(curl_easy_perform(h) == CURLE_OK);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	CHECK(status == 200);
	curl_easy_cleanup(h);
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

	fake_reset("uploads/job/publish.mp4");
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

/*
 * The lease is lost while uploading (a cancel committed; S3 loses the PUT's
 * answers, so the heartbeat runs while the upload waits for S3): outcome
 * lost, what was uploaded trashed, nothing published.
 */
static void
case_lost(aws_client *c, const char *clip)
{
	const char *id = "22222222-2222-4222-8222-222222222222";
	aws_error	err;
	sqs_message *m = NULL;

	fake_reset("uploads/job/lost.mp4");
	F.lose_when_uploading = true;
	CHECK(s3_put_file(c, TEMP, F.key, clip, "video/mp4", &err) == 0);
	inject_failure("PUT", "/" OUTPUT "/videos/22222222-", 2);
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_LOST);
	CHECK(strstr(F.logs, "is no longer this worker's (cancelled, deleted or taken over): stopping") != NULL);
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

/* The lease is gone when the job publishes (no renewal saw it): lost, trashed, nothing published. */
static void
case_lost_at_publish(aws_client *c, const char *clip)
{
	const char *id = "66666666-6666-4666-8666-666666666666";
	aws_error	err;
	sqs_message *m = NULL;

	fake_reset("uploads/job/lost-at-publish.mp4");
	F.lose_at_publish = true;
	CHECK(s3_put_file(c, TEMP, F.key, clip, "video/mp4", &err) == 0);
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_LOST);
	CHECK(F.published == 0 && F.trashed == 1);
	CHECK_STR(F.trash_why, "abandoned");
	CHECK(F.source_deleted == 0);
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

	fake_reset("uploads/job/shutdown.mp4");
	F.stop_when_transcoding = true;
	CHECK(s3_put_file(c, TEMP, F.key, clip, "video/mp4", &err) == 0);
	CHECK(run(c, task(id, "catalog-a"), &m) == JOB_SHUTDOWN);
	CHECK(F.released == 1 && F.release_refund);
	CHECK_STR(F.release_code, "interrupted");
	CHECK(F.published == 0 && F.failed == 0 && F.trashed == 0);
	/* the helper was stopped, not waited for */
	CHECK(strstr(F.logs, "transcoder pid") != NULL && strstr(F.logs, "rendition(s), ") == NULL);
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

	fake_reset("uploads/job/never-uploaded.mp4");
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

	fake_reset("uploads/x");
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
	endpoint = argv[1];
	fake_set_up(argv[2], argv[3], scratch);
	drain(&c);

	case_publish(&c, clip);
	case_lost(&c, clip);
	case_lost_at_publish(&c, clip);
	case_shutdown(&c, clip);
	case_missing(&c);
	case_foreign(&c);

	aws_client_cleanup(&c);
	unlink(clip);
	job_remove_tree(scratch);
	printf("job_live: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
