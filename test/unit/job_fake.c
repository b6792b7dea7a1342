/*
 * job_fake.c — a host for the job engine with no PostgreSQL: claims, leases,
 * publishes and failures are recorded in memory (F) for job_live.c to
 * check, waits are poll(2), the log goes to stderr and into F.logs.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job_fake.h"
#include "json.h"
#include "unit.h"

fake		F;


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
f_claim(void *host, const job *j, int lease_seconds, job_claim *out)
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
	if (F.lose_at_publish)
		F.lease_lost = true;	/* taken over since the last renewal */
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
	if (strlen(F.logs) + strlen(msg) + 2 < sizeof(F.logs))
	{
		strcat(F.logs, msg);
		strcat(F.logs, "\n");
	}
}

job_settings settings;
job_host host = {
	.claim = f_claim,.video_is = f_video_is,.renew = f_renew,.take_cancel = f_take_cancel,
	.phase = f_phase,.progress = f_progress,.facts = f_facts,.publish = f_publish,.fail = f_fail,
	.release = f_release,.video_status = f_video_status,.trash = f_trash,
	.source_deleted = f_source_deleted,.wake_reconciler = f_wake_reconciler,.wait = f_wait,
	.stopping = f_stopping,.log = f_log,.host = NULL,.name = "job_live",.set = &settings,
};

void
fake_set_up(const char *queue, const char *helper, const char *scratch)
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

void
fake_reset(const char *key)
{
	memset(&F, 0, sizeof(F));
	F.exists = true;
	snprintf(F.key, sizeof(F.key), "%s", key);
}

