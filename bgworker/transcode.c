/*
 * transcode.c — a transcode worker: takes a task from the tasks queue, claims
 * the video (Pending → Processing, compare-and-set), downloads the source to
 * scratch, runs the transcoder child, uploads and verifies the renditions,
 * commits Published, deletes the original from the temp bucket and then the
 * task message. Each outcome is recorded in its own short transaction; no
 * transaction is held across HTTP or transcoding. A heartbeat keeps the
 * message invisible and the lease live; when the lease cannot be renewed
 * (cancelled, deleted, taken over) the attempt stops and what it uploaded
 * goes to the trash.
 */
#include "job.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "utils/memutils.h"

#include "backoff.h"
#include "json.h"
#include "names.h"

#define TASK_WAIT_SECONDS 20
#define SANDBOX_RECHECK_SECONDS 60

/*
 * SQS keeps a received message invisible at most 12 hours after the receive
 * (ChangeMessageVisibility beyond that is refused), while a transcode may
 * run up to vtp.transcode_timeout (7 days). Before the heartbeat would have
 * to go past it, the worker deletes its message and goes on under its lease
 * alone: the message is only a redelivery for a worker that dies, and for
 * that the lease is enough (the reconciler sends a fresh task once it runs
 * out; catalog_reset_owned does at the worker's restart). Re-sending a copy
 * instead would not help: idle workers would receive it, find the video
 * held, and hand it back every visibility timeout until it dead-letters.
 * Tests lower the bound with the environment variable
 * VTP_TEST_SQS_MAX_VISIBILITY (seconds) of the server; never set it in
 * production.
 */
#define SQS_MAX_VISIBILITY 43200
#define SQS_VISIBILITY_MARGIN 5	/* time() is whole seconds, and the request takes a while to arrive */
#define TEST_MAX_VISIBILITY_ENV "VTP_TEST_SQS_MAX_VISIBILITY"

/* A task of another catalog is handed back after this, and reported at most once per interval. */
#define FOREIGN_HIDE_SECONDS 10
#define FOREIGN_WARN_INTERVAL 60

static int	sqs_max_visibility = SQS_MAX_VISIBILITY;
static time_t receive_started;	/* of the receive that got the message in hand */

/* Tasks of other catalogs seen (shown in pg_stat_activity), and since the last WARNING. */
static long foreign_total = 0;
static long foreign_unreported = 0;
static time_t foreign_warned = 0;

static char *owner_name;

static void foreign_task(task *t, const char *catalog);

/* The transcoder's sandbox, as last checked (check_sandbox). */
static bool sandbox_ok = false;
static time_t sandbox_checked = 0;
static int	sandbox_mode_checked = -1;
static bool sandbox_warned = false;
static char sandbox_why[256];

/* Create or check one scratch directory (see task.h). */
int
task_scratch_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, S_IRWXU) != 0 && errno != EEXIST)
	{
		snprintf(err, errlen, "could not create scratch directory \"%s\": %m", dir);
		return -1;
	}
	if (lstat(dir, &st) != 0)
	{
		snprintf(err, errlen, "could not stat scratch directory \"%s\": %m", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
	{
		snprintf(err, errlen, "scratch directory \"%s\" is not a directory (a symlink or a file): refusing it", dir);
		return -1;
	}
	if (st.st_uid != geteuid())
	{
		snprintf(err, errlen, "scratch directory \"%s\" is owned by uid %d, not the server's user: refusing it",
				 dir, (int) st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
	{
		snprintf(err, errlen, "scratch directory \"%s\" is writable by others (mode %04o): refusing it",
				 dir, (unsigned int) (st.st_mode & 07777));
		return -1;
	}
	if ((st.st_mode & 07777) != S_IRWXU && chmod(dir, S_IRWXU) != 0)
	{
		snprintf(err, errlen, "could not chmod scratch directory \"%s\": %m", dir);
		return -1;
	}
	return 0;
}

/*
 * (Re)run the helper's sandbox check: at start, after vtp.sandbox changes on
 * SIGHUP, and every minute while it says no. While it says no (required
 * mode without Landlock), the worker takes no tasks: a WARNING once, the
 * reason in pg_stat_activity and vtp_workers.
 */
static bool
check_sandbox(const char *worker_dir, bool force)
{
	char		state[64],
				why[256],
				err[256];
	char	   *dir = psprintf("%s/sandbox-check", worker_dir);

	if (!force && sandbox_mode_checked == vtp_sandbox &&
		(sandbox_ok || time(NULL) - sandbox_checked < SANDBOX_RECHECK_SECONDS))
		return sandbox_ok;
	sandbox_checked = time(NULL);
	sandbox_mode_checked = vtp_sandbox;
	if (task_scratch_dir(dir, err, sizeof(err)) != 0)
	{
		strlcpy(why, err, sizeof(why));
		snprintf(state, sizeof(state), "unavailable: %s", err);
		sandbox_ok = false;
	}
	else
		sandbox_ok = task_check_sandbox(dir, state, sizeof(state), why, sizeof(why));
	rmtree(dir, true);
	vtp_slot_sandbox(state);
	if (sandbox_ok)
	{
		ereport(LOG, (errmsg("%s: transcoder sandbox: %s (vtp.sandbox = %s)", owner_name, state,
							 vtp_sandbox == VTP_SANDBOX_REQUIRED ? "required" : "best_effort")));
		sandbox_warned = false;
	}
	else if (!sandbox_warned || strcmp(why, sandbox_why) != 0)
	{
		ereport(WARNING, (errmsg("%s: not taking transcode tasks: %s", owner_name, why),
						  errhint("Set vtp.sandbox = 'best_effort' to transcode without Landlock, or use a kernel with Landlock.")));
		sandbox_warned = true;
	}
	strlcpy(sandbox_why, why, sizeof(sandbox_why));
	return sandbox_ok;
}

bool
task_heartbeat(task *t, bool force)
{
	time_t		now = time(NULL);
	aws_error	err;
	bool		owned;

	if (t->lost)
		return false;
	if (vtp_slot_take_cancel())
		force = true;			/* vtp_cancel or vtp_delete committed: look now */
	if (force || now - t->last_heartbeat >= vtp_visibility_timeout / 2)
	{
		if (t->msg_gone)
			;					/* the lease alone now */
		else if (task_message_must_go(t->received_at, now, vtp_visibility_timeout, sqs_max_visibility))
		{
			if (sqs_delete(&t->hb, vtp_tasks_queue_url, t->msg->receipt_handle, &err) == 0)
			{
				t->msg_gone = true;
				ereport(LOG, (errmsg("vtp transcode: video %s attempt %d has run %ld s: its task message is given up before SQS's %d s visibility limit; the lease holds the video",
									 t->id, t->attempts, (long) (now - t->received_at), sqs_max_visibility)));
			}
			else if (!err.aborted)
				vtp_aws_ereport(WARNING, &err, "give up the task message before SQS's visibility limit");
		}
		else if (sqs_change_visibility(&t->hb, vtp_tasks_queue_url, t->msg->receipt_handle,
									   vtp_visibility_timeout, &err) != 0 && !err.aborted)
			vtp_aws_ereport(WARNING, &err, "extend the task's visibility");
		t->last_heartbeat = now;
		t->last_progress = 0;	/* renew the lease below too */
	}
	if (force || now - t->last_progress >= 5)
	{
		catalog_begin();
		owned = catalog_extend_lease(t->id, t->attempts, vtp_visibility_timeout, t->progress, t->eta_seconds);
		catalog_commit();
		t->last_progress = now;
		vtp_slot_heartbeat();
		if (!owned)
		{
			t->lost = true;
			vtp_aws_request_abort(true);	/* cut transfers in flight */
			ereport(LOG, (errmsg("vtp transcode: video %s attempt %d is no longer this worker's (cancelled, deleted or taken over): stopping",
								 t->id, t->attempts)));
			return false;
		}
	}
	return true;
}

/*
 * Would keeping the message invisible for another visibility seconds from
 * now go past SQS's limit, counted from the receive? Then it must go now.
 */
bool
task_message_must_go(time_t received_at, time_t now, int visibility, int max_visibility)
{
	return (long) (now - received_at) + visibility + SQS_VISIBILITY_MARGIN > max_visibility;
}

static void
delete_message(task *t)
{
	aws_error	err;

	if (t->msg_gone)
		return;					/* deleted already, before SQS's limit */
	if (sqs_delete(t->c, vtp_tasks_queue_url, t->msg->receipt_handle, &err) != 0)
		vtp_aws_ereport(WARNING, &err, "delete a task message");
}

/*
 * Renditions this attempt uploaded go to the trash: the reconciler deletes
 * them if the video ends Failed or removed, forgets them if another attempt
 * publishes the same keys, and waits while the video is still in flight.
 */
static void
trash_uploads(task *t, const char *why)
{
	int			i;

	if (t->nuploaded == 0)
		return;
	catalog_begin();
	for (i = 0; i < t->nuploaded; i++)
		catalog_trash(vtp_output_bucket, t->r[i].key, NULL, t->id, why);
	catalog_commit();
	vtp_wake_role("reconcile");
}

/* The next attempt's delay: 10 s doubling to 15 min, with jitter (half to all of it). */
static int
retry_delay(int attempts)
{
	return (int) vtp_backoff_delay(&VTP_BACKOFF_ATTEMPT, attempts - 1);
}

/* Record an outcome other than success, and settle the message. */
static void
settle_failure(task *t, task_outcome out)
{
	aws_error	err;
	bool		retry;
	char	   *status;

	switch (out)
	{
		case TASK_OK:
			return;
		case TASK_PERMANENT:
			catalog_begin();
			catalog_fail(t->id, t->attempts, t->err_code, t->err_msg);
			catalog_commit();
			trash_uploads(t, "failed");
			ereport(LOG, (errmsg("vtp transcode: video %s Failed: %s (%s)", t->id, t->err_msg, t->err_code)));
			delete_message(t);
			return;
		case TASK_SHUTDOWN:
			/* hand it back at once; this attempt does not count */
			vtp_aws_set_abort_mode(VTP_ABORT_NEVER);
			t->c->max_retries = 0;
			t->c->timeout_ms = 2000;
			catalog_begin();
			catalog_release(t->id, t->attempts, "interrupted", "the worker stopped during the transcode", true);
			if (t->msg_gone)
				catalog_requeue(t->id); /* no message to hand back: a fresh task */
			catalog_commit();
			if (!t->msg_gone && sqs_change_visibility(t->c, vtp_tasks_queue_url, t->msg->receipt_handle, 0, &err) != 0)
				vtp_aws_ereport(LOG, &err, "hand the task back");
			return;
		case TASK_LOST:
			vtp_aws_request_abort(false);
			trash_uploads(t, "abandoned");
			catalog_begin();
			status = catalog_video_status(t->id);
			catalog_commit();
			ereport(LOG, (errmsg("vtp transcode: video %s attempt %d abandoned (the video is %s now)",
								 t->id, t->attempts, status ? status : "deleted")));
			/* cancelled or deleted: the task is done; otherwise its new owner has it */
			if (status == NULL || strcmp(status, "Failed") == 0)
				delete_message(t);
			return;
		case TASK_TRANSIENT:
			break;
	}
	catalog_begin();
	retry = catalog_release(t->id, t->attempts, t->err_code, t->err_msg, false);
	if (retry && t->msg_gone)
		catalog_requeue(t->id); /* a fresh task, at once: no message to delay */
	catalog_commit();
	trash_uploads(t, retry ? "retried" : "failed");
	if (retry)
	{
		int			delay = t->msg_gone ? 0 : retry_delay(t->attempts);

		ereport(LOG, (errmsg("vtp transcode: video %s attempt %d failed, retrying in %d s: %s",
							 t->id, t->attempts, delay, t->err_msg)));
		if (!t->msg_gone && sqs_change_visibility(t->c, vtp_tasks_queue_url, t->msg->receipt_handle, delay, &err) != 0 &&
			!err.aborted)
			vtp_aws_ereport(WARNING, &err, "delay the task's retry");
	}
	else
	{
		ereport(LOG, (errmsg("vtp transcode: video %s Failed after %d attempts: %s",
							 t->id, t->attempts, t->err_msg)));
		delete_message(t);
	}
}

/*
 * A task of another catalog: another vtp installation uses this tasks queue.
 * Never deleted (it is somebody's video), handed back after a few seconds so
 * that its own workers get it soon; counted and reported, a WARNING at most
 * once per FOREIGN_WARN_INTERVAL per worker.
 */
static void
foreign_task(task *t, const char *catalog)
{
	aws_error	err;
	time_t		now = time(NULL);
	char		shown[64];

	if (sqs_change_visibility(t->c, vtp_tasks_queue_url, t->msg->receipt_handle, FOREIGN_HIDE_SECONDS, &err) != 0 &&
		!err.aborted)
		vtp_aws_ereport(LOG, &err, "hand back a task of another catalog");
	foreign_total++;
	foreign_unreported++;
	if (now - foreign_warned >= FOREIGN_WARN_INTERVAL)
	{
		vtp_escape_name(catalog, shown, sizeof(shown));
		ereport(WARNING,
				(errmsg("%s: left alone %ld task(s) of another vtp catalog (the last for catalog \"%s\"; this one is \"%s\"): another installation uses vtp.tasks_queue_url",
						owner_name, foreign_unreported, shown, vtp_catalog_identity()),
				 errdetail("%ld such task(s) since this worker started; they are handed back, never deleted.", foreign_total),
				 errhint("Give each vtp installation its own events and tasks queues: installations sharing them take each other's S3 events and dead-letter each other's tasks.")));
		foreign_warned = now;
		foreign_unreported = 0;
	}
}

/* Claim the video a task names; false if there is nothing to do (the message is settled). */
static bool
claim(task *t)
{
	vtp_claim	cl;
	json_value *j = json_parse(t->msg->body, strlen(t->msg->body), NULL, 0);
	const char *vid = json_get_str(j, "video_id");
	const char *cat = json_get_str(j, "catalog");
	char	   *catalog = NULL;

	if (vid == NULL || !vtp_is_uuid(vid))
	{
		/* another catalog's, perhaps, in a shape this version does not know: not ours to drop */
		if (cat && strcmp(cat, vtp_catalog_identity()) != 0)
		{
			catalog = pstrdup(cat);
			json_free(j);
			foreign_task(t, catalog);
			return false;
		}
		ereport(WARNING, (errmsg("vtp transcode: dropping a task that names no video: %.200s", t->msg->body)));
		json_free(j);
		delete_message(t);
		return false;
	}
	strlcpy(t->id, vid, sizeof(t->id));
	if (cat && strcmp(cat, vtp_catalog_identity()) != 0)
	{
		/* (a task without a catalog comes from an earlier version: ours, as it always was) */
		const char *b = json_get_str(j, "bucket");
		const char *k = json_get_str(j, "key");
		bool		ours;

		catalog = pstrdup(cat);
		catalog_begin();
		ours = b && k && catalog_video_is(t->id, b, k);
		catalog_commit();
		if (!ours)
		{
			json_free(j);
			foreign_task(t, catalog);
			return false;
		}
		ereport(LOG, (errmsg("vtp transcode: the task of video %s names catalog \"%s\" but this catalog (\"%s\") has the video: taking it (its identity changed: pg_upgrade, or a restore onto a new cluster)",
							 t->id, catalog, vtp_catalog_identity())));
	}
	json_free(j);

	catalog_begin();
	catalog_claim(t->id, owner_name, vtp_visibility_timeout, &cl);
	catalog_commit();
	if (!cl.claimed)
	{
		if (cl.found && strcmp(cl.status, "Processing") == 0 && cl.lease_live)
			return false;		/* another worker holds it; the message returns later */
		ereport(LOG, (errmsg("vtp transcode: dropping task for video %s (%s)", t->id,
							 cl.found ? cl.status : "no such video")));
		delete_message(t);
		return false;
	}
	t->attempts = cl.attempts;
	t->bucket = cl.bucket;
	t->key = cl.key;
	t->etag = cl.etag ? cl.etag : "";
	return true;
}

/*
 * The scratch root and this worker's directory in it: made 0700 and checked
 * (a real directory of the server's user); a worker that cannot have them
 * ERRORs and is restarted (after its log line says why).
 */
static void
prepare_scratch(const char *worker_dir)
{
	char	   *root = vtp_scratch_path();
	char		err[512];

	if (pg_mkdir_p(root, S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create scratch directory \"%s\": %m", root)));
	if (task_scratch_dir(root, err, sizeof(err)) != 0 || task_scratch_dir(worker_dir, err, sizeof(err)) != 0)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("vtp transcode: %s", err)));
}

static void
run_task(aws_client *c, const sqs_message *m, const char *worker_dir)
{
	task		t;
	task_outcome out;

	memset(&t, 0, sizeof(t));
	t.eta_seconds = -1;
	t.c = c;
	t.msg = m;
	t.received_at = receive_started;
	if (!claim(&t))
		return;
	t.hb = *c;					/* same settings and credentials, its own connection */
	t.hb.curl = NULL;
	t.hb.between = NULL;
	t.dir = psprintf("%s/%s", worker_dir, t.id);
	t.source = psprintf("%s/source", t.dir);
	t.out_key = psprintf("%s%s/", vtp_output_prefix, t.id);
	t.last_heartbeat = t.last_progress = time(NULL);
	vtp_slot_state("claimed", t.id, t.attempts);
	vtp_slot_heartbeat();		/* the claim took the lease */
	ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: s3://%s/%s", t.id, t.attempts, t.bucket, t.key)));

	out = task_download(&t);
	if (out == TASK_OK)
		out = task_transcode(&t);
	if (out == TASK_OK)
		out = task_upload(&t);
	vbuf_free(&t.facts);
	rmtree(t.dir, true);

	if (out == TASK_OK)
	{
		vtp_slot_state("publishing", t.id, t.attempts);
		catalog_begin();
		if (!catalog_publish(t.id, t.attempts, vtp_output_bucket, t.out_key, t.r, t.nr, t.cpu_seconds,
							 t.wall_seconds))
			out = TASK_LOST;
		catalog_commit();
	}
	if (out != TASK_OK)
		settle_failure(&t, out);
	else
	{
		ereport(LOG, (errmsg("vtp transcode: video %s Published: %d rendition(s) at s3://%s/%s",
							 t.id, t.nr, vtp_output_bucket, t.out_key)));
		/* the original goes only after the commit */
		task_remove_original(&t);
		delete_message(&t);
	}
	vtp_aws_request_abort(false);
	aws_client_cleanup(&t.hb);
	vtp_slot_state("idle", NULL, 0);
}

void
vtp_transcode_main(Datum arg)
{
	int			index = DatumGetInt32(arg);
	MemoryContext loop_cxt;
	aws_client	c;
	char	   *worker_dir;
	int			n;

	vtp_worker_start("transcode", "starting");
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
		ereport(LOG, (errmsg("%s: %d interrupted video(s) back to Pending (Failed once vtp.max_attempts attempts were interrupted)", owner_name, n)));
	{
		const char *lower = getenv(TEST_MAX_VISIBILITY_ENV);

		if (lower && atoi(lower) > 0 && atoi(lower) < SQS_MAX_VISIBILITY)
		{
			sqs_max_visibility = atoi(lower);
			ereport(LOG, (errmsg("%s: SQS's visibility limit taken as %d s (%s, for tests only)",
								 owner_name, sqs_max_visibility, TEST_MAX_VISIBILITY_ENV)));
		}
	}
	worker_dir = MemoryContextStrdup(TopMemoryContext, psprintf("%s/w%d", vtp_scratch_path(), index));
	if (access(worker_dir, F_OK) == 0)
		rmtree(worker_dir, true);	/* scratch a crash left behind */
	prepare_scratch(worker_dir);
	(void) check_sandbox(worker_dir, true);

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
		if (!check_sandbox(worker_dir, false))
		{
			vtp_worker_activity("not taking tasks: transcoder sandbox unavailable (%s)", sandbox_why);
			vtp_slot_state("sandbox unavailable", NULL, 0);
			/* a minute, or until a signal (SIGHUP: perhaps vtp.sandbox changed): then look again */
			vtp_worker_wait(SANDBOX_RECHECK_SECONDS * 1000L);
			sandbox_checked = 0;
			continue;
		}
		vtp_aws_set_abort_mode(VTP_ABORT_ON_INTERRUPT);
		if (foreign_total > 0)
			vtp_worker_activity("waiting for tasks (%ld task(s) of another vtp catalog left alone)", foreign_total);
		else
			vtp_worker_activity("waiting for tasks");
		vtp_slot_state("idle", NULL, 0);
		c.between = vtp_worker_reload_if_asked;
		receive_started = time(NULL);	/* SQS's 12 h count starts no earlier */
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
