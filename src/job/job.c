/*
 * job.c — one task message, end to end: read the task, leave another
 * catalog's alone, claim the video through the host (Pending → Processing,
 * compare-and-set), download the source to scratch, run the transcoder
 * child, upload and verify the renditions, publish through the host, remove
 * the original from the temp bucket and then delete the task message. Any
 * other outcome is settled here: recorded through the host (Failed, or
 * handed back for a retry), what this attempt uploaded trashed, and the
 * message deleted, delayed or handed back. When the lease cannot be renewed
 * (cancelled, deleted, taken over) the attempt stops and publishes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "job_int.h"
#include "json.h"

/* A task of another catalog is handed back after this, and reported at most once per interval. */
#define FOREIGN_HIDE_SECONDS 10
#define FOREIGN_WARN_INTERVAL 60

/* Delete the task message (unless it is gone already, before SQS's limit). */
static void
delete_message(job *j)
{
	aws_error	err;

	if (j->msg_gone)
		return;
	if (sqs_delete(j->c, j->h->set->tasks_queue_url, j->receipt, &err) != 0)
		job_log_aws(j->h, JOB_WARNING, &err, "delete a task message");
}

/*
 * Renditions this attempt uploaded go to the trash: the reconciler deletes
 * them if the video ends Failed or removed, forgets them if another attempt
 * publishes the same keys, and waits while the video is still in flight.
 */
static void
trash_uploads(job *j, const char *why)
{
	const char *keys[LADDER_MAX_RUNGS];
	int			i;

	VTP_ASSERT(j->nuploaded >= 0 && j->nuploaded <= j->nr && j->nr <= LADDER_MAX_RUNGS);
	if (j->nuploaded == 0)
		return;
	for (i = 0; i < j->nuploaded; i++)
		keys[i] = j->r[i].key;
	j->h->trash(j->h->host, j, j->h->set->output_bucket, keys, j->nuploaded, NULL, why);
	j->h->wake_reconciler(j->h->host);
}

/* The worker stops: hand the task back at once; this attempt does not count. */
static void
settle_shutdown(job *j)
{
	aws_error	err;

	job_never_abort(true);
	j->c->max_retries = 0;
	j->c->timeout_ms = 2000;
	(void) j->h->release(j->h->host, j, "interrupted", "the worker stopped during the transcode", true,
						 j->msg_gone);	/* no message to hand back: a fresh task */
	if (!j->msg_gone && sqs_change_visibility(j->c, j->h->set->tasks_queue_url, j->receipt, 0, &err) != 0)
		job_log_aws(j->h, JOB_LOG, &err, "hand the task back");
}

/* The video is no longer this attempt's: cancelled or deleted (the task is done), or taken over. */
static void
settle_lost(job *j)
{
	char		status[16];
	bool		found;

	job_abort_transfers(false);
	trash_uploads(j, "abandoned");
	found = j->h->video_status(j->h->host, j->id, status, sizeof(status));
	job_logf(j->h, JOB_LOG, "vtp transcode: video %s attempt %d abandoned (the video is %s now)",
			 j->id, j->attempt, found ? status : "deleted");
	/* otherwise its new owner has it */
	if (!found || strcmp(status, "Failed") == 0)
		delete_message(j);
}

/* A failure that may pass: back to Pending with a delay, or Failed once out of attempts. */
static void
settle_transient(job *j)
{
	aws_error	err;
	bool		retry;

	/* without a message to delay, a fresh task at once */
	retry = j->h->release(j->h->host, j, j->err_code, j->err_msg, false, j->msg_gone);
	trash_uploads(j, retry ? "retried" : "failed");
	if (retry)
	{
		/* the next attempt's delay: 10 s doubling to 15 min, with jitter (half to all of it) */
		int			delay = j->msg_gone ? 0 : (int) vtp_backoff_delay(&VTP_BACKOFF_ATTEMPT, j->attempt - 1);

		job_logf(j->h, JOB_LOG, "vtp transcode: video %s attempt %d failed, retrying in %d s: %s",
				 j->id, j->attempt, delay, j->err_msg);
		if (!j->msg_gone && sqs_change_visibility(j->c, j->h->set->tasks_queue_url, j->receipt, delay, &err) != 0 &&
			!err.aborted)
			job_log_aws(j->h, JOB_WARNING, &err, "delay the task's retry");
	}
	else
	{
		job_logf(j->h, JOB_LOG, "vtp transcode: video %s Failed after %d attempts: %s",
				 j->id, j->attempt, j->err_msg);
		delete_message(j);
	}
}

/* Record an outcome other than success, and settle the message. */
static void
settle_failure(job *j, job_outcome out)
{
	VTP_ASSERT(j->claimed);
	switch (out)
	{
		case JOB_OK:
		case JOB_SKIPPED:
			VTP_ASSERT(false);
			return;
		case JOB_PERMANENT:
			j->h->fail(j->h->host, j);
			trash_uploads(j, "failed");
			job_logf(j->h, JOB_LOG, "vtp transcode: video %s Failed: %s (%s)", j->id, j->err_msg, j->err_code);
			delete_message(j);
			return;
		case JOB_SHUTDOWN:
			settle_shutdown(j);
			return;
		case JOB_LOST:
			settle_lost(j);
			return;
		case JOB_TRANSIENT:
			settle_transient(j);
			return;
	}
}

/*
 * A task of another catalog: another vtp installation uses this tasks queue.
 * Never deleted (it is somebody's video), handed back after a few seconds so
 * that its own workers get it soon; counted and reported, a WARNING at most
 * once per FOREIGN_WARN_INTERVAL per worker.
 */
static void
foreign_task(job *j, const char *catalog)
{
	job_host   *h = j->h;
	aws_error	err;
	time_t		now = time(NULL);
	char		shown[64],
				msg[1024],
				detail[256];

	if (sqs_change_visibility(j->c, h->set->tasks_queue_url, j->receipt, FOREIGN_HIDE_SECONDS, &err) != 0 &&
		!err.aborted)
		job_log_aws(h, JOB_LOG, &err, "hand back a task of another catalog");
	h->foreign_total++;
	h->foreign_unreported++;
	if (now - h->foreign_warned >= FOREIGN_WARN_INTERVAL)
	{
		vtp_escape_name(catalog, shown, sizeof(shown));
		snprintf(msg, sizeof(msg), "%s: left alone %ld task(s) of another vtp catalog (the last for catalog \"%s\"; this one is \"%s\"): another installation uses vtp.tasks_queue_url",
				 h->name, h->foreign_unreported, shown, h->set->catalog);
		snprintf(detail, sizeof(detail), "%ld such task(s) since this worker started; they are handed back, never deleted.",
				 h->foreign_total);
		h->log(h->host, JOB_WARNING, msg, detail,
			   "Give each vtp installation its own events and tasks queues: installations sharing them take each other's S3 events and dead-letter each other's tasks.");
		h->foreign_warned = now;
		h->foreign_unreported = 0;
	}
}

/*
 * Read the task: the video it names into j->id, true if it is this
 * catalog's to claim. A task of another catalog is left alone, one that
 * names no video is dropped (the message settled either way).
 */
static bool
read_task(job *j, const char *body)
{
	json_value *js = json_parse(body, strlen(body), NULL, 0);
	const char *vid = json_get_str(js, "video_id");
	const char *cat = json_get_str(js, "catalog");
	const char *b = json_get_str(js, "bucket");
	const char *k = json_get_str(js, "key");
	bool		ours = true;

	if (vid == NULL || !vtp_is_uuid(vid))
	{
		/* another catalog's, perhaps, in a shape this version does not know: not ours to drop */
		if (cat && strcmp(cat, j->h->set->catalog) != 0)
			foreign_task(j, cat);
		else
		{
			job_logf(j->h, JOB_WARNING, "vtp transcode: dropping a task that names no video: %.200s", body);
			delete_message(j);
		}
		json_free(js);
		return false;
	}
	vtp_strlcpy(j->id, vid, sizeof(j->id));
	/* (a task without a catalog comes from an earlier version: ours, as it always was) */
	if (cat && strcmp(cat, j->h->set->catalog) != 0)
	{
		ours = b && k && j->h->video_is(j->h->host, j->id, b, k);
		if (!ours)
			foreign_task(j, cat);
		else
			job_logf(j->h, JOB_LOG, "vtp transcode: the task of video %s names catalog \"%s\" but this catalog (\"%s\") has the video: taking it (its identity changed: pg_upgrade, or a restore onto a new cluster)",
					 j->id, cat, j->h->set->catalog);
	}
	json_free(js);
	return ours;
}

/* Claim the video the task names; false if there is nothing to do (the message is settled). */
static bool
claim(job *j)
{
	job_claim	cl;

	memset(&cl, 0, sizeof(cl));
	vtp_uuid_v4(j->token);		/* this claim's lease: nobody else knows it */
	j->h->claim(j->h->host, j, j->h->set->visibility_timeout_s, &cl);
	if (!cl.claimed)
	{
		free(cl.bucket);
		free(cl.key);
		free(cl.etag);
		if (cl.unanswered || (cl.found && cl.held))
			return false;		/* no answer, or another worker holds it: the message returns later */
		job_logf(j->h, JOB_LOG, "vtp transcode: dropping task for video %s (%s)", j->id,
				 cl.found ? cl.status : "no such video");
		delete_message(j);
		return false;
	}
	VTP_ASSERT(cl.bucket != NULL && cl.key != NULL);
	j->claimed = true;
	j->attempt = cl.attempt;
	j->bucket = cl.bucket;
	j->key = cl.key;
	j->etag = cl.etag ? cl.etag : vtp_strdup(NULL);	/* "" */
	return true;
}

/* The job's scratch names and its heartbeat client; false out of memory. */
static bool
prepare(job *j)
{
	j->hb = *j->c;				/* same settings and credentials, its own connection */
	j->hb.curl = NULL;
	j->hb.between = NULL;
	j->dir = job_sprintf("%s/%s", j->h->set->scratch_dir, j->id);
	j->source = job_sprintf("%s/source", j->dir ? j->dir : "");
	j->out_key = job_sprintf("%s%s/", j->h->set->output_prefix, j->id);
	j->last_heartbeat = j->last_progress = time(NULL);
	return j->dir && j->source && j->out_key && j->etag;
}

/* Download, transcode, upload, publish: the steps of a claimed job. */
static job_outcome
run_steps(job *j)
{
	job_outcome out;

	out = job_download(j);
	if (out == JOB_OK)
		out = job_transcode(j);
	if (out == JOB_OK)
		out = job_upload(j);
	vbuf_free(&j->facts);
	job_remove_tree(j->dir);
	if (out == JOB_OK)
	{
		j->h->phase(j->h->host, j, "publishing", NULL);
		if (!j->h->publish(j->h->host, j))
			out = JOB_LOST;
	}
	return out;
}

/* Free what the job allocated. */
static void
job_free(job *j)
{
	int			i;

	for (i = 0; i < LADDER_MAX_RUNGS; i++)
		free(j->r[i].key);
	free(j->bucket);
	free(j->key);
	free(j->etag);
	free(j->dir);
	free(j->source);
	free(j->out_key);
	vbuf_free(&j->facts);
	aws_client_cleanup(&j->hb);
}

/* Run one task message to its end (see job.h). */
job_outcome
job_run_message(job_host *h, aws_client *c, const sqs_message *m, time_t received_at)
{
	job			j;
	job_outcome out = JOB_SKIPPED;

	memset(&j, 0, sizeof(j));
	j.eta_seconds = -1;
	j.h = h;
	j.c = c;
	j.receipt = m->receipt_handle;
	j.received_at = received_at;
	job_abort_transfers(false);
	job_never_abort(false);
	job_hooks_begin(&j, c);
	if (read_task(&j, m->body) && claim(&j))
	{
		h->phase(h->host, &j, "claimed", NULL);
		job_logf(h, JOB_LOG, "vtp transcode: video %s attempt %d: s3://%s/%s", j.id, j.attempt, j.bucket, j.key);
		if (!prepare(&j))
		{
			job_set_error(&j, "internal", "out of memory");
			out = JOB_TRANSIENT;
		}
		else
			out = run_steps(&j);
		if (out != JOB_OK)
			settle_failure(&j, out);
		else
		{
			job_logf(h, JOB_LOG, "vtp transcode: video %s Published: %d rendition(s) at s3://%s/%s",
					 j.id, j.nr, h->set->output_bucket, j.out_key);
			/* the original goes only after the commit */
			job_remove_original(&j);
			delete_message(&j);
		}
	}
	job_abort_transfers(false);
	job_never_abort(false);
	job_hooks_end(c);
	job_free(&j);
	VTP_ASSERT(out >= JOB_OK && out <= JOB_SKIPPED);
	return out;
}
