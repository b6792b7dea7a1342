/*
 * transcode.c — a transcode worker: takes a task from the tasks queue, claims
 * the video (Pending → Processing, compare-and-set), downloads the source to
 * scratch, runs the transcoder child, uploads and verifies the renditions,
 * commits Published, deletes the original from the temp bucket and then the
 * task message. Each outcome is recorded in its own short transaction; no
 * transaction is held across HTTP or transcoding.
 */
#include "task.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "utils/memutils.h"

#include "../src/json.h"

#define TASK_WAIT_SECONDS 20

static char *owner_name;

void
task_heartbeat(task *t, bool force)
{
	time_t		now = time(NULL);
	aws_error	err;

	if (force || now - t->last_heartbeat >= vtp_visibility_timeout / 2)
	{
		if (sqs_change_visibility(t->c, vtp_tasks_queue_url, t->msg->receipt_handle,
								  vtp_visibility_timeout, &err) != 0 && !err.aborted)
			vtp_aws_ereport(WARNING, &err, "extend the task's visibility");
		t->last_heartbeat = now;
		t->last_progress = 0;	/* renew the lease below too */
	}
	if (force || now - t->last_progress >= 5)
	{
		catalog_begin();
		catalog_extend_lease(t->id, t->attempts, vtp_visibility_timeout, t->progress, t->eta_seconds);
		catalog_commit();
		t->last_progress = now;
	}
}

static task_outcome
classify_aws(task *t, const aws_error *err, const char *what)
{
	if (err->aborted)
		return TASK_SHUTDOWN;
	task_set_error(t, err->http_status == 404 ? "source_missing" :
				   strcmp(err->code, "TooLarge") == 0 ? "too_large" :
				   err->transient ? "storage_unavailable" : "storage_error",
				   "could not %s: %s (%s)", what, err->message, err->code);
	return err->transient ? TASK_TRANSIENT : TASK_PERMANENT;
}

static task_outcome
download(task *t)
{
	aws_error	err;

	vtp_worker_activity("downloading %s", t->id);
	if (pg_mkdir_p(t->dir, S_IRWXU) != 0 && errno != EEXIST)
	{
		task_set_error(t, "scratch_unavailable", "could not create \"%s\": %m", t->dir);
		return TASK_TRANSIENT;
	}
	if (s3_get_to_file(t->c, t->bucket, t->key, t->source,
					   (int64) vtp_max_source_size_mb * 1024 * 1024, &err) != 0)
		return classify_aws(t, &err, "download the source");
	return TASK_OK;
}

static task_outcome
upload(task *t, const char *out_key)
{
	int			i;

	for (i = 0; i < t->nr; i++)
	{
		vtp_rendition *r = &t->r[i];
		char	   *path = psprintf("%s/%s", t->dir, r->file);
		s3_object_info info;
		struct stat st;
		aws_error	err;

		r->key = psprintf("%s%s.mp4", out_key, r->name);
		vtp_worker_activity("uploading %s %s", t->id, r->name);
		if (stat(path, &st) != 0)
		{
			task_set_error(t, "transcoder_crashed", "rendition file %s is missing", r->file);
			return TASK_TRANSIENT;
		}
		r->bytes = st.st_size;
		if (s3_put_file(t->c, vtp_output_bucket, r->key, path, "video/mp4", &err) != 0)
			return classify_aws(t, &err, "upload a rendition");
		/* verify before anything is deleted */
		if (s3_head(t->c, vtp_output_bucket, r->key, &info, &err) != 0)
			return classify_aws(t, &err, "verify an uploaded rendition");
		if (info.size != st.st_size)
		{
			task_set_error(t, "upload_mismatch", "rendition %s has %lld bytes in S3, %lld on disk",
						   r->name, (long long) info.size, (long long) st.st_size);
			return TASK_TRANSIENT;
		}
		task_heartbeat(t, false);
	}
	return TASK_OK;
}

static void
delete_message(task *t)
{
	aws_error	err;

	if (sqs_delete(t->c, vtp_tasks_queue_url, t->msg->receipt_handle, &err) != 0)
		vtp_aws_ereport(WARNING, &err, "delete a task message");
}

/* Record an outcome other than success, and settle the message. */
static void
settle_failure(task *t, task_outcome out)
{
	aws_error	err;
	bool		retry;

	if (out == TASK_PERMANENT)
	{
		catalog_begin();
		catalog_fail(t->id, t->attempts, t->err_code, t->err_msg);
		catalog_commit();
		ereport(LOG, (errmsg("vtp transcode: video %s Failed: %s (%s)", t->id, t->err_msg, t->err_code)));
		delete_message(t);
		return;
	}
	if (out == TASK_SHUTDOWN)
	{
		/* hand it back at once; this attempt does not count */
		vtp_aws_set_abort_mode(VTP_ABORT_NEVER);
		t->c->max_retries = 0;
		t->c->timeout_ms = 2000;
		catalog_begin();
		catalog_release(t->id, t->attempts, "interrupted", "the worker stopped during the transcode", true);
		catalog_commit();
		if (sqs_change_visibility(t->c, vtp_tasks_queue_url, t->msg->receipt_handle, 0, &err) != 0)
			vtp_aws_ereport(LOG, &err, "hand the task back");
		return;
	}
	catalog_begin();
	retry = catalog_release(t->id, t->attempts, t->err_code, t->err_msg, false);
	catalog_commit();
	if (retry)
	{
		int			delay = 10 << (t->attempts > 7 ? 7 : t->attempts - 1);

		ereport(LOG, (errmsg("vtp transcode: video %s attempt %d failed, retrying in %d s: %s",
							 t->id, t->attempts, delay > 900 ? 900 : delay, t->err_msg)));
		if (sqs_change_visibility(t->c, vtp_tasks_queue_url, t->msg->receipt_handle,
								  delay > 900 ? 900 : delay, &err) != 0 && !err.aborted)
			vtp_aws_ereport(WARNING, &err, "delay the task's retry");
	}
	else
	{
		ereport(LOG, (errmsg("vtp transcode: video %s Failed after %d attempts: %s",
							 t->id, t->attempts, t->err_msg)));
		delete_message(t);
	}
}

static void
run_task(aws_client *c, const sqs_message *m, const char *worker_dir)
{
	task		t;
	vtp_claim	claim;
	json_value *j;
	const char *vid;
	task_outcome out;
	char	   *out_key;
	aws_error	err;

	memset(&t, 0, sizeof(t));
	t.eta_seconds = -1;
	t.c = c;
	t.msg = m;
	j = json_parse(m->body, strlen(m->body), NULL, 0);
	vid = json_get_str(j, "video_id");
	if (vid == NULL || strlen(vid) != 36 || strspn(vid, "0123456789abcdef-") != 36)
	{
		ereport(WARNING, (errmsg("vtp transcode: dropping a task that names no video: %.200s", m->body)));
		json_free(j);
		delete_message(&t);
		return;
	}
	strlcpy(t.id, vid, sizeof(t.id));
	json_free(j);

	catalog_begin();
	catalog_claim(t.id, owner_name, vtp_visibility_timeout, &claim);
	catalog_commit();
	if (!claim.claimed)
	{
		if (claim.found && strcmp(claim.status, "Processing") == 0 && claim.lease_live)
			return;				/* another worker holds it; the message returns later */
		ereport(LOG, (errmsg("vtp transcode: dropping task for video %s (%s)", t.id,
							 claim.found ? claim.status : "no such video")));
		delete_message(&t);
		return;
	}
	t.attempts = claim.attempts;
	t.bucket = claim.bucket;
	t.key = claim.key;
	t.dir = psprintf("%s/%s", worker_dir, t.id);
	t.source = psprintf("%s/source", t.dir);
	t.last_heartbeat = time(NULL);
	t.last_progress = time(NULL);
	ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: s3://%s/%s", t.id, t.attempts, t.bucket, t.key)));

	out = download(&t);
	if (out == TASK_OK)
		out = task_transcode(&t);
	out_key = psprintf("%s%s/", vtp_output_prefix, t.id);
	if (out == TASK_OK)
		out = upload(&t, out_key);
	vbuf_free(&t.facts);
	rmtree(t.dir, true);

	if (out != TASK_OK)
	{
		settle_failure(&t, out);
		return;
	}
	catalog_begin();
	if (!catalog_publish(t.id, t.attempts, vtp_output_bucket, out_key, t.r, t.nr, t.cpu_seconds, t.wall_seconds))
	{
		catalog_commit();
		ereport(LOG, (errmsg("vtp transcode: video %s attempt %d is stale; another attempt owns it",
							 t.id, t.attempts)));
		return;
	}
	catalog_commit();
	ereport(LOG, (errmsg("vtp transcode: video %s Published: %d rendition(s) at s3://%s/%s",
						 t.id, t.nr, vtp_output_bucket, out_key)));
	/* the original goes only after the commit, and only from the temp bucket */
	if (strcmp(t.bucket, vtp_temp_bucket) == 0 && s3_delete(c, t.bucket, t.key, &err) != 0)
		vtp_aws_ereport(WARNING, &err, "delete the original");
	delete_message(&t);
}

void
vtp_transcode_main(Datum arg)
{
	int			index = DatumGetInt32(arg);
	MemoryContext loop_cxt;
	aws_client	c;
	char	   *worker_dir;
	int			n;

	vtp_worker_start("starting");
	owner_name = MemoryContextStrdup(TopMemoryContext, MyBgworkerEntry->bgw_name);
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "vtp transcode loop", ALLOCSET_DEFAULT_SIZES);
	memset(&c, 0, sizeof(c));

	/* reconcile what a crash of this worker left behind */
	while (!vtp_worker_ready(owner_name, false, &c))
		vtp_worker_wait(2000);
	catalog_begin();
	n = catalog_reset_owned(owner_name);
	catalog_commit();
	if (n > 0)
		ereport(LOG, (errmsg("%s: %d interrupted video(s) back to Pending", owner_name, n)));
	worker_dir = MemoryContextStrdup(TopMemoryContext, psprintf("%s/w%d", vtp_scratch_path(), index));
	if (access(worker_dir, F_OK) == 0)
		rmtree(worker_dir, true);	/* scratch a crash left behind */

	for (;;)
	{
		sqs_message *msgs = NULL;
		aws_error	err;
		int			i;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		ResetLatch(MyLatch);
		vtp_worker_poll_signals();
		if (!vtp_worker_ready(owner_name, false, &c))
		{
			vtp_worker_wait(2000);
			continue;
		}
		vtp_aws_set_abort_mode(VTP_ABORT_ON_INTERRUPT);
		vtp_worker_activity("waiting for tasks");
		c.between = vtp_worker_reload_if_asked;
		if (sqs_receive(&c, vtp_tasks_queue_url, 1, TASK_WAIT_SECONDS, vtp_visibility_timeout,
						&msgs, &n, &err) != 0)
		{
			if (!err.aborted)
			{
				vtp_aws_ereport(WARNING, &err, "receive transcode tasks");
				vtp_worker_wait(5000);
			}
			continue;
		}
		c.between = NULL;
		if (ShutdownRequestPending)
		{
			/* received just as we were told to stop: hand it back at once */
			vtp_aws_set_abort_mode(VTP_ABORT_NEVER);
			c.max_retries = 0;
			for (i = 0; i < n; i++)
				sqs_change_visibility(&c, vtp_tasks_queue_url, msgs[i].receipt_handle, 0, &err);
			vtp_worker_poll_signals();
		}
		for (i = 0; i < n; i++)
			run_task(&c, &msgs[i], worker_dir);
		sqs_messages_free(msgs, n);
	}
}
