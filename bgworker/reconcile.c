/*
 * reconcile.c — the reconciler worker: a periodic pass over what crashes,
 * lost messages and outages leave behind.
 *   - Processing rows whose lease ran out go back to Pending (or Failed);
 *   - Pending rows whose task was lost get a new one (only while the tasks
 *     queue has nothing waiting, so a backlog is never flooded);
 *   - objects under the temp bucket's upload prefix that no row knows (a lost
 *     notification) are registered; originals of Published videos still
 *     there go to the trash;
 *   - originals of videos Failed longer than vtp.failed_retention go too;
 *   - multipart uploads older than vtp.stale_upload_age are aborted;
 *   - scratch directories no running transcode owns are removed;
 *   - the trash is emptied: each object is deleted only if no live video
 *     still uses it (and, for originals, only the version meant);
 *   - once per queue, a missing dead-letter queue is warned about.
 * Woken at commit by vtp_delete() and by workers that trash objects, it
 * empties the trash at once; the full pass runs every vtp.reconcile_interval.
 */
#include "worker.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "backoff.h"
#include "json.h"

#define TRASH_BATCH 100
#define SCRATCH_MIN_AGE 600		/* a directory younger than this may be a claim in progress */

/* The reconciler's GUCs (vtp_reconcile_init, at the end). */
static int	vtp_reconcile_interval_s = 60;
static int	vtp_task_resend_after_s = 15 * 60;
static int	vtp_orphan_object_age_s = 10 * 60;
static int	vtp_stale_upload_age_s = 24 * 3600;
static int	vtp_failed_retention_s = 7 * 86400;

static void
expire_leases(void)
{
	int			n;

	catalog_begin();
	n = catalog_expire_leases();
	(void) catalog_forget_runners();	/* runner job slots silent for an hour */
	catalog_commit();
	if (n > 0)
	{
		ereport(LOG, (errmsg("vtp reconcile: %d video(s) whose worker stopped renewing its lease are retried", n)));
		vtp_wake_ingest();
	}
}

static void
resend_lost(aws_client *c)
{
	aws_error	err;
	json_value *attrs = sqs_get_attributes(c, vtp_tasks_queue_url, &err);
	double		waiting = -1;
	int			n;

	if (attrs == NULL)
	{
		if (!err.aborted)
			vtp_aws_ereport(WARNING, &err, "read the tasks queue's attributes");
		return;
	}
	if (!json_get_num(attrs, "ApproximateNumberOfMessages", &waiting))
		waiting = -1;
	json_free(attrs);
	if (waiting != 0)
		return;					/* tasks are waiting: Pending rows are not stuck yet */
	catalog_begin();
	n = catalog_resend_lost(vtp_task_resend_after_s);
	catalog_commit();
	if (n > 0)
	{
		ereport(LOG, (errmsg("vtp reconcile: %d Pending video(s) had no task in the queue; sending new ones", n)));
		vtp_wake_ingest();
	}
}

static void
expire_failed(void)
{
	int			n;

	if (vtp_failed_retention_s <= 0)
		return;
	catalog_begin();
	n = catalog_expire_failed(vtp_failed_retention_s);
	catalog_commit();
	if (n > 0)
		ereport(LOG, (errmsg("vtp reconcile: removing the originals of %d video(s) Failed longer than vtp.failed_retention", n)));
}

/* Objects under the upload prefix: register the unknown, trash the done. */
static void
scan_uploads(aws_client *c)
{
	char		token[1024] = "";
	long		now = (long) time(NULL);
	int			found = 0;

	do
	{
		s3_page		page;
		aws_error	err;
		int			i;

		if (s3_list_objects(c, vtp_temp_bucket, vtp_upload_prefix, token, &page, &err) != 0)
		{
			if (!err.aborted)
				vtp_aws_ereport(WARNING, &err, "list the temp bucket");
			return;
		}
		catalog_begin();
		for (i = 0; i < page.n; i++)
		{
			s3_entry   *e = &page.e[i];
			char		id[VTP_UUID_SIZE],
						shown[VTP_LOG_NAME];
			vtp_reg		reg;

			switch (catalog_object_state(vtp_temp_bucket, e->key, e->id))
			{
				case VTP_OBJ_LIVE:
					break;
				case VTP_OBJ_DONE:
					catalog_trash(vtp_temp_bucket, e->key, e->id[0] ? e->id : NULL, NULL, "published");
					break;
				case VTP_OBJ_UNKNOWN:
					if (e->time == 0 || now - e->time < vtp_orphan_object_age_s)
						break;	/* its notification may be on the way */
					vtp_escape_name(e->key, shown, sizeof(shown));
					if (vtp_key_error(e->key, strlen(e->key)) != NULL)
					{
						/* a key the ingest worker would refuse too (control bytes) */
						ereport(DEBUG1, (errmsg("vtp reconcile: not registering s3://%s/%s: %s",
												vtp_temp_bucket, shown, vtp_key_error(e->key, strlen(e->key)))));
						break;
					}
					reg = catalog_register(vtp_temp_bucket, e->key, e->id, e->size, "", id);
					if (reg == VTP_REG_CREATED || reg == VTP_REG_REPLACED)
					{
						found++;
						ereport(LOG, (errmsg("vtp reconcile: video %s registered for s3://%s/%s, whose notification never came",
											 id, vtp_temp_bucket, shown)));
					}
					break;
			}
		}
		catalog_commit();
		strlcpy(token, page.next, sizeof(token));
		s3_page_free(&page);
	} while (token[0] && !ShutdownRequestPending);
	if (found > 0)
		vtp_wake_ingest();
}

static void
abort_stale_uploads(aws_client *c, const char *bucket)
{
	char		token[1024] = "";
	long		now = (long) time(NULL);

	do
	{
		s3_page		page;
		aws_error	err;
		int			i;

		if (s3_list_uploads(c, bucket, token, &page, &err) != 0)
		{
			if (!err.aborted)
				vtp_aws_ereport(WARNING, &err, "list incomplete multipart uploads");
			return;
		}
		for (i = 0; i < page.n; i++)
		{
			s3_entry   *e = &page.e[i];

			if (e->time == 0 || now - e->time < vtp_stale_upload_age_s)
				continue;
			if (s3_abort_upload(c, bucket, e->key, e->id, &err) == 0)
				ereport(LOG, (errmsg("vtp reconcile: aborted a multipart upload of s3://%s/%s left unfinished since %ld s",
									 bucket, e->key, now - e->time)));
			else if (!err.aborted)
				vtp_aws_ereport(WARNING, &err, "abort a stale multipart upload");
		}
		strlcpy(token, page.next, sizeof(token));
		s3_page_free(&page);
	} while (token[0] && !ShutdownRequestPending);
}

/* Scratch of transcodes that are gone: <scratch>/w<N>/<video id>. */
static void
clean_scratch(void)
{
	char	   *root = vtp_scratch_path();
	DIR		   *d = opendir(root);
	struct dirent *w;
	time_t		now = time(NULL);

	if (d == NULL)
		return;
	while ((w = readdir(d)) != NULL)
	{
		char	   *wdir;
		DIR		   *wd;
		struct dirent *v;

		if (w->d_name[0] != 'w')
			continue;
		wdir = psprintf("%s/%s", root, w->d_name);
		if ((wd = opendir(wdir)) == NULL)
			continue;
		while ((v = readdir(wd)) != NULL)
		{
			char	   *path;
			struct stat st;
			char	   *status;

			if (!vtp_is_uuid(v->d_name))
				continue;
			path = psprintf("%s/%s", wdir, v->d_name);
			if (stat(path, &st) != 0 || now - st.st_mtime < SCRATCH_MIN_AGE)
				continue;
			catalog_begin();
			status = catalog_video_status(v->d_name);
			catalog_commit();
			if (status && strcmp(status, "Processing") == 0)
				continue;
			rmtree(path, true);
			ereport(LOG, (errmsg("vtp reconcile: removed scratch %s of a transcode that is gone", path)));
		}
		closedir(wd);
	}
	closedir(d);
}

/* Delete what the trash holds, when nothing live uses it. */
static void
empty_trash(aws_client *c)
{
	vtp_trash_row *rows;
	int			n,
				i;

	do
	{
		catalog_begin();
		n = catalog_trash_due(TRASH_BATCH, &rows);
		catalog_commit();
		for (i = 0; i < n && !ShutdownRequestPending; i++)
		{
			vtp_trash_row *r = &rows[i];
			s3_object_info info;
			aws_error	err;
			bool		deleted = false,
						failed = false;

			if (r->action == VTP_TRASH_DELETE)
			{
				if (r->etag && s3_head(c, r->bucket, r->key, &info, &err) != 0)
				{
					if (err.http_status == 404)
						deleted = true;
					else
						failed = true;
				}
				else if (r->etag && strcmp(info.etag, r->etag) != 0)
					ereport(LOG, (errmsg("vtp reconcile: s3://%s/%s is a newer version than the one to delete; keeping it",
										 r->bucket, r->key)));
				else if (s3_delete(c, r->bucket, r->key, &err) == 0)
					deleted = true;
				else
					failed = true;
			}
			catalog_begin();
			if (r->action == VTP_TRASH_WAIT)
				catalog_trash_later(r->id, vtp_reconcile_interval_s, NULL);
			else if (failed)
				catalog_trash_later(r->id, vtp_backoff_step(&VTP_BACKOFF_TRASH, r->tries), err.message);
			else
				catalog_trash_done(r, deleted);
			catalog_commit();
			if (failed && !err.aborted)
				vtp_aws_ereport(WARNING, &err, "delete a trashed object");
			else if (deleted)
				ereport(DEBUG1, (errmsg("vtp reconcile: deleted s3://%s/%s", r->bucket, r->key)));
		}
	} while (n == TRASH_BATCH && !ShutdownRequestPending);
}

/*
 * Once per queue URL: say whether the queue has a dead-letter queue, and warn
 * when it has none or dead-letters before vtp.max_attempts could be used.
 */
static void
check_redrive(aws_client *c, const char *what, const char *url, char *checked, size_t len)
{
	aws_error	err;
	json_value *attrs,
			   *policy = NULL;
	const char *rp;
	int64_t		max_receives = 0;

	if (url[0] == '\0' || strcmp(checked, url) == 0)
		return;
	if ((attrs = sqs_get_attributes(c, url, &err)) == NULL)
		return;					/* try again next pass */
	rp = json_get_str(attrs, "RedrivePolicy");
	if (rp)
		policy = json_parse(rp, strlen(rp), NULL, 0);
	if (rp == NULL || !json_get_int(policy, "maxReceiveCount", 1, 1000, &max_receives))
		ereport(WARNING,
				(errmsg("vtp reconcile: the %s queue has no dead-letter queue", what),
				 errdetail("Queue %s has no RedrivePolicy: a message that keeps failing goes round until its retention ends.", url),
				 errhint("Give it a dead-letter queue with maxReceiveCount of at least 3 and above vtp.max_attempts (see docs/aws-setup.md).")));
	else if (max_receives < 3 || max_receives <= vtp_max_attempts)
		ereport(WARNING,
				(errmsg("vtp reconcile: the %s queue dead-letters after %d receive(s), before vtp.max_attempts (%d) can be used",
						what, (int) max_receives, vtp_max_attempts),
				 errhint("Raise its maxReceiveCount to at least 3 and above vtp.max_attempts.")));
	else
		ereport(LOG, (errmsg("vtp reconcile: the %s queue dead-letters after %d receives", what, (int) max_receives)));
	json_free(policy);
	json_free(attrs);
	strlcpy(checked, url, len);
}

static void
full_pass(aws_client *c)
{
	static char events_checked[1024] = "",
				tasks_checked[1024] = "";

	vtp_slot_state("reconciling", NULL, 0);
	vtp_worker_activity("reconciling: queue set-up");
	check_redrive(c, "events", vtp_events_queue_url, events_checked, sizeof(events_checked));
	check_redrive(c, "tasks", vtp_tasks_queue_url, tasks_checked, sizeof(tasks_checked));
	vtp_worker_activity("reconciling: leases");
	expire_leases();
	vtp_worker_activity("reconciling: lost tasks");
	resend_lost(c);
	vtp_worker_activity("reconciling: failed retention");
	expire_failed();
	vtp_worker_activity("reconciling: objects no video knows");
	scan_uploads(c);
	vtp_worker_activity("reconciling: stale multipart uploads");
	abort_stale_uploads(c, vtp_temp_bucket);
	abort_stale_uploads(c, vtp_output_bucket);
	vtp_worker_activity("reconciling: scratch");
	clean_scratch();
}

/* One round: the trash, the full pass when it is due. Returns the wait until the next pass. */
static long
reconcile_step(aws_client *c, void *arg)
{
	static time_t last_pass = 0;
	long		wait_ms;

	vtp_aws_set_abort_mode(VTP_ABORT_ON_INTERRUPT);
	/* the trash first: what vtp_delete removed must not look like a lost upload */
	vtp_worker_activity("emptying the trash");
	vtp_slot_state("emptying the trash", NULL, 0);
	empty_trash(c);
	if (time(NULL) - last_pass >= vtp_reconcile_interval_s)
	{
		full_pass(c);
		last_pass = time(NULL);
		empty_trash(c);
	}

	vtp_worker_activity("waiting");
	vtp_slot_state("idle", NULL, 0);
	wait_ms = (vtp_reconcile_interval_s - (long) (time(NULL) - last_pass)) * 1000L;
	return wait_ms < 1000 ? 1000 : wait_ms;
}

void
vtp_reconcile_main(Datum arg)
{
	static const vtp_worker_def def = {
		.name = "vtp reconcile",
		.need_events = false,
		.ready_check = VTP_READY_EVERY_ROUND,
		.not_ready_ms = 2000,
		.sock = PGINVALID_SOCKET,
		.step = reconcile_step,
	};

	vtp_worker_start("reconcile", "starting");
	vtp_worker_loop(&def);
}

void
vtp_reconcile_init(void)
{
	DefineCustomIntVariable("vtp.reconcile_interval", "How often the reconciler looks for stuck, lost and orphaned work.",
							NULL, &vtp_reconcile_interval_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.task_resend_after", "A Pending video whose task went out this long ago, untouched since, gets a new task when the tasks queue has none waiting.",
							NULL, &vtp_task_resend_after_s, 15 * 60, 1, 86400 * 7, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.orphan_object_age", "An object under the upload prefix that no video knows is ingested once it is this old (its notification was lost).",
							NULL, &vtp_orphan_object_age_s, 10 * 60, 1, 86400 * 30, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.stale_upload_age", "Incomplete multipart uploads older than this are aborted in the temp and output buckets.",
							NULL, &vtp_stale_upload_age_s, 24 * 3600, 1, 86400 * 30, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.failed_retention", "How long the original of a Failed video is kept for vtp_retry (0 = for ever).",
							NULL, &vtp_failed_retention_s, 7 * 86400, 0, INT_MAX, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}
