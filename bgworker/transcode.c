/*
 * transcode.c — a transcode worker: the host of the job engine (src/job,
 * job.h) inside PostgreSQL. Its loop takes a task from the tasks queue and
 * hands it to job_run_message; what the engine asks of its host is done
 * here: the catalog (SPI, one short transaction per call; none is held
 * across HTTP or transcoding), the worker's slot and pg_stat_activity, the
 * latch waits with SIGHUP reloads and postmaster death, the log. At start it
 * puts back what a crash of this worker left (rows it owned, its scratch),
 * and before it takes tasks it checks the transcoder's sandbox.
 */
#include "worker.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "job.h"
#include "transcode_settings.h"

#define TASK_WAIT_SECONDS 20
#define SANDBOX_RECHECK_SECONDS 60

/*
 * SQS keeps a received message invisible at most 12 hours after the receive
 * (heartbeat.c gives a message up before). Tests lower the bound with the
 * environment variable VTP_TEST_SQS_MAX_VISIBILITY (seconds) of the server;
 * never set it in production.
 */
#define SQS_MAX_VISIBILITY 43200
#define TEST_MAX_VISIBILITY_ENV "VTP_TEST_SQS_MAX_VISIBILITY"

static int	sqs_max_visibility = SQS_MAX_VISIBILITY;
static char *owner_name;
static char *worker_dir;
static job_settings settings;

/* The transcoder's sandbox, as last checked (check_sandbox). */
static bool sandbox_ok = false;
static time_t sandbox_checked = 0;
static int	sandbox_mode_checked = -1;
static bool sandbox_warned = false;
static char sandbox_why[256];

/* A malloc'd copy for the engine (which frees it); NULL stays NULL. */
static char *
engine_strdup(const char *s)
{
	char	   *d;

	if (s == NULL)
		return NULL;
	d = strdup(s);
	if (d == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	return d;
}

/* The host interface (job.h), one catalog transaction per call. */
static void
host_claim(void *arg, const job *j, int lease_seconds, job_claim *out)
{
	vtp_claim	cl;

	catalog_begin();
	proto_claim(j->id, owner_name, j->token, lease_seconds, &cl);
	catalog_commit();
	out->found = cl.found;
	out->claimed = cl.claimed;
	out->held = cl.found && strcmp(cl.status, "Processing") == 0 && cl.lease_live;
	strlcpy(out->status, cl.status, sizeof(out->status));
	out->attempt = cl.attempts;
	if (!cl.claimed)
		return;
	out->bucket = engine_strdup(cl.bucket);
	out->key = engine_strdup(cl.key);
	out->etag = engine_strdup(cl.etag);
	vtp_slot_heartbeat();		/* the claim took the lease */
}

static bool
host_video_is(void *arg, const char *video_id, const char *bucket, const char *key)
{
	bool		ours;

	catalog_begin();
	ours = proto_video_is(video_id, bucket, key);
	catalog_commit();
	return ours;
}

static bool
host_renew(void *arg, const job *j, int lease_seconds)
{
	bool		owned;

	catalog_begin();
	owned = proto_heartbeat(j->id, j->token, lease_seconds, j->progress, j->eta_seconds);
	catalog_commit();
	vtp_slot_heartbeat();
	return owned;
}

static bool
host_take_cancel(void *arg)
{
	return vtp_slot_take_cancel();
}

static void
host_phase(void *arg, const job *j, const char *state, const char *activity)
{
	vtp_slot_state(state, j->id, j->attempt);
	if (activity)
		vtp_worker_activity("%s", activity);
}

static void
host_progress(void *arg, const job *j, const char *activity)
{
	vtp_slot_progress(j->progress, j->child_pid);
	if (activity)
		vtp_worker_activity("%s", activity);
}

static void
host_facts(void *arg, const job *j, const char *facts_json)
{
	catalog_begin();
	(void) proto_set_probe(j->id, j->token, facts_json);
	catalog_commit();
}

static bool
host_publish(void *arg, const job *j)
{
	vbuf		r = VBUF_INIT;
	bool		ok;

	Assert(j->nr <= LADDER_MAX_RUNGS && j->nuploaded == j->nr);
	job_renditions_json(j, &r);
	catalog_begin();
	ok = proto_publish(j->id, j->token, settings.output_bucket, j->out_key, vbuf_str(&r), j->cpu_seconds,
					   j->wall_seconds);
	catalog_commit();
	vbuf_free(&r);
	return ok;
}

static void
host_fail(void *arg, const job *j)
{
	catalog_begin();
	(void) proto_fail(j->id, j->token, j->err_code, j->err_msg);
	catalog_commit();
}

static bool
host_release(void *arg, const job *j, const char *code, const char *msg, bool refund, bool requeue)
{
	bool		retry;

	catalog_begin();
	retry = proto_release(j->id, j->token, code, msg, refund, requeue);	/* requeue: a fresh task at commit */
	catalog_commit();
	return retry;
}

static bool
host_video_status(void *arg, const char *video_id, char *status, size_t len)
{
	char	   *s;

	catalog_begin();
	s = proto_video_status(video_id);
	catalog_commit();
	if (s)
		strlcpy(status, s, len);
	return s != NULL;
}

static void
host_trash(void *arg, const job *j, const char *bucket, const char *const *keys, int n, const char *etag,
		   const char *why)
{
	int			i;

	catalog_begin();
	for (i = 0; i < n; i++)
		proto_trash(j->id, bucket, keys[i], etag, why);
	catalog_commit();
}

static void
host_source_deleted(void *arg, const job *j)
{
	catalog_begin();
	proto_source_deleted(j->id, j->token);
	catalog_commit();
}

static void
host_wake_reconciler(void *arg)
{
	vtp_wake_role("reconcile");
}

/* The latch, postmaster death and up to two pipes; then SIGHUP. */
static void
host_wait(void *arg, long timeout_ms, int fd1, int fd2)
{
	bool		reload;

	if (timeout_ms > 0 || fd1 >= 0 || fd2 >= 0)
	{
		WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, 4);
		WaitEvent	events[4];

		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		if (fd1 >= 0)
			AddWaitEventToSet(set, WL_SOCKET_READABLE, fd1, NULL, NULL);
		if (fd2 >= 0)
			AddWaitEventToSet(set, WL_SOCKET_READABLE, fd2, NULL, NULL);
		(void) WaitEventSetWait(set, timeout_ms, events, lengthof(events), PG_WAIT_EXTENSION);
		FreeWaitEventSet(set);
		ResetLatch(MyLatch);
	}
	reload = ConfigReloadPending;
	vtp_worker_reload_if_asked(NULL);
	if (reload)
		(void) vtp_transcode_fill_settings(&settings, worker_dir, sqs_max_visibility);	/* one that does not fit: the old value, until the next task */
}

static bool
host_stopping(void *arg)
{
	return ShutdownRequestPending;
}

static void
host_log(void *arg, job_level level, const char *msg, const char *detail, const char *hint)
{
	ereport(level == JOB_WARNING ? WARNING : LOG,
			(errmsg_internal("%s", msg),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0));
}

/* The host as the engine sees it. */
static job_host host = {
	.claim = host_claim, .video_is = host_video_is, .renew = host_renew, .take_cancel = host_take_cancel,
	.phase = host_phase, .progress = host_progress, .facts = host_facts, .publish = host_publish,
	.fail = host_fail, .release = host_release, .video_status = host_video_status, .trash = host_trash,
	.source_deleted = host_source_deleted, .wake_reconciler = host_wake_reconciler, .wait = host_wait,
	.stopping = host_stopping, .log = host_log, .host = NULL, .set = &settings,
};

/*
 * (Re)run the helper's sandbox check: at start, after vtp.sandbox changes on
 * SIGHUP, and every minute while it says no. While it says no (required
 * mode without Landlock), the worker takes no tasks: a WARNING once, the
 * reason in pg_stat_activity and vtp_workers.
 */
static bool
check_sandbox(bool force)
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
	(void) vtp_transcode_fill_settings(&settings, worker_dir, sqs_max_visibility);
	if (job_scratch_dir(dir, err, sizeof(err)) != 0)
	{
		strlcpy(why, err, sizeof(why));
		snprintf(state, sizeof(state), "unavailable: %s", err);
		sandbox_ok = false;
	}
	else
		sandbox_ok = job_check_sandbox(&host, dir, state, sizeof(state), why, sizeof(why));
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

/*
 * The scratch root and this worker's directory in it: made 0700 and checked
 * (a real directory of the server's user); a worker that cannot have them
 * ERRORs and is restarted (after its log line says why).
 */
static void
prepare_scratch(void)
{
	char	   *root = vtp_scratch_path();
	char		err[512];

	if (pg_mkdir_p(root, S_IRWXU) != 0 && errno != EEXIST)
		ereport(ERROR, (errcode_for_file_access(), errmsg("could not create scratch directory \"%s\": %m", root)));
	if (job_scratch_dir(root, err, sizeof(err)) != 0 || job_scratch_dir(worker_dir, err, sizeof(err)) != 0)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("vtp transcode: %s", err)));
}

/*
 * Once ready (the loop's start): reconcile what a crash of this worker left
 * behind, then check the sandbox. arg is the worker's index.
 */
static void
transcode_start(aws_client *c, void *arg)
{
	const char *lower = getenv(TEST_MAX_VISIBILITY_ENV);
	int			index = *(const int *) arg;
	int			n;

	catalog_begin();
	n = catalog_reset_owned(owner_name);
	catalog_commit();
	if (n > 0)
		ereport(LOG, (errmsg("%s: %d interrupted video(s) back to Pending (Failed once vtp.max_attempts attempts were interrupted)", owner_name, n)));
	if (lower && atoi(lower) > 0 && atoi(lower) < SQS_MAX_VISIBILITY)
	{
		sqs_max_visibility = atoi(lower);
		ereport(LOG, (errmsg("%s: SQS's visibility limit taken as %d s (%s, for tests only)",
							 owner_name, sqs_max_visibility, TEST_MAX_VISIBILITY_ENV)));
	}
	worker_dir = MemoryContextStrdup(TopMemoryContext, psprintf("%s/w%d", vtp_scratch_path(), index));
	if (access(worker_dir, F_OK) == 0)
		rmtree(worker_dir, true);	/* scratch a crash left behind */
	prepare_scratch();
	host.name = owner_name;
	(void) check_sandbox(true);
}

/*
 * Wait for one task and run it (or hand it back if the worker is told to
 * stop meanwhile): the loop's step. Returns how long to wait before the next.
 */
static long
receive_and_run(aws_client *c)
{
	sqs_message *msgs = NULL;
	aws_error	err;
	time_t		received_at;
	int			i,
				n;

	vtp_aws_set_abort_mode(VTP_ABORT_ON_INTERRUPT);
	if (host.foreign_total > 0)
		vtp_worker_activity("waiting for tasks (%ld task(s) of another vtp catalog left alone)", host.foreign_total);
	else
		vtp_worker_activity("waiting for tasks");
	vtp_slot_state("idle", NULL, 0);
	c->between = vtp_worker_reload_if_asked;
	received_at = time(NULL);	/* SQS's 12 h count starts no earlier */
	if (sqs_receive(c, vtp_tasks_queue_url, 1, TASK_WAIT_SECONDS, vtp_visibility_timeout,
					&msgs, &n, &err) != 0)
	{
		c->between = NULL;
		if (err.aborted)
			return 0;
		vtp_aws_ereport(WARNING, &err, "receive transcode tasks");
		return 5000;
	}
	c->between = NULL;
	if (ShutdownRequestPending)
	{
		/* received just as we were told to stop: hand it back at once */
		vtp_aws_set_abort_mode(VTP_ABORT_NEVER);
		c->max_retries = 0;
		for (i = 0; i < n; i++)
			sqs_change_visibility(c, vtp_tasks_queue_url, msgs[i].receipt_handle, 0, &err);
		vtp_worker_poll_signals();
	}
	for (i = 0; i < n; i++)
	{
		(void) vtp_transcode_fill_settings(&settings, worker_dir, sqs_max_visibility);	/* checked by the step just before */
		(void) job_run_message(&host, c, &msgs[i], received_at);
		vtp_slot_state("idle", NULL, 0);
	}
	sqs_messages_free(msgs, n);
	return 0;
}

/*
 * One round of the worker loop: no tasks while the sandbox says no (a
 * minute, or until a signal — SIGHUP: perhaps vtp.sandbox changed — then
 * it is checked again); else one receive.
 */
static long
transcode_step(aws_client *c, void *arg)
{
	static bool too_long_warned = false;

	if (!vtp_transcode_fill_settings(&settings, worker_dir, sqs_max_visibility))
	{
		/* a shorter copy would be another prefix or path: take no task */
		if (!too_long_warned)
			ereport(WARNING, (errmsg("%s: not taking transcode tasks: a setting is longer than a transcode job takes",
									 owner_name),
							  errdetail("vtp.output_prefix, vtp.renditions and vtp.tasks_queue_url take at most %d bytes, vtp.scratch_dir and vtp.transcoder_path at most %d.",
										(int) sizeof(settings.output_prefix) - 1, (int) sizeof(settings.scratch_dir) - 8)));
		too_long_warned = true;
		vtp_worker_activity("not taking tasks: a setting is too long");
		return SANDBOX_RECHECK_SECONDS * 1000L;
	}
	too_long_warned = false;
	if (!check_sandbox(false))
	{
		vtp_worker_activity("not taking tasks: transcoder sandbox unavailable (%s)", sandbox_why);
		vtp_slot_state("sandbox unavailable", NULL, 0);
		sandbox_checked = 0;	/* after the wait, look again */
		return SANDBOX_RECHECK_SECONDS * 1000L;
	}
	return receive_and_run(c);
}

void
vtp_transcode_main(Datum arg)
{
	int			index = DatumGetInt32(arg);
	vtp_worker_def def;

	vtp_worker_start("transcode", "starting");
	owner_name = MemoryContextStrdup(TopMemoryContext, MyBgworkerEntry->bgw_name);
	memset(&def, 0, sizeof(def));
	def.name = owner_name;		/* known at run time: a local definition */
	def.need_events = false;
	def.ready_check = VTP_READY_EVERY_ROUND;
	def.not_ready_ms = 2000;
	def.sock = PGINVALID_SOCKET;
	def.start = transcode_start;
	def.step = transcode_step;
	def.arg = &index;
	vtp_worker_loop(&def);
}
