/*
 * transfer.c — a task's S3 steps: download the announced version of the
 * source (If-Match its ETag), upload and HEAD-verify each rendition, and
 * remove the original once Published (only that version, only from the temp
 * bucket). While a transfer runs, the heartbeat goes on between socket polls;
 * an S3 outage is waited out, with capped backoff and jitter, for up to
 * vtp.storage_outage_timeout before the attempt counts as failed.
 */
#include "job.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/wait_event.h"

#include "backoff.h"

/* Called between socket polls of a transfer, outside any libcurl callback. */
static void
transfer_tick(void *arg)
{
	task	   *t = arg;

	vtp_worker_reload_if_asked(NULL);
	if (!ShutdownRequestPending)
		(void) task_heartbeat(t, false);
}

static void
transfers_begin(task *t)
{
	t->c->between = transfer_tick;
	t->c->cb_arg = t;
}

static void
transfers_end(task *t)
{
	t->c->between = NULL;
	t->c->cb_arg = NULL;
}

static task_outcome
classify_aws(task *t, const aws_error *err, const char *what)
{
	if (t->lost)
		return TASK_LOST;
	if (err->aborted || ShutdownRequestPending)
		return TASK_SHUTDOWN;	/* hand it back: this attempt does not count */
	if (err->http_status == 412)
	{
		task_set_error(t, "source_changed",
					   "the object was replaced after it was announced (ETag %s is no longer there); the newer version is a video of its own",
					   t->etag);
		return TASK_PERMANENT;
	}
	task_set_error(t, err->http_status == 404 ? "source_missing" :
				   strcmp(err->code, "TooLarge") == 0 ? "too_large" :
				   err->transient ? "storage_unavailable" : "storage_error",
				   "could not %s: %s (%s)", what, err->message, err->code);
	return err->transient ? TASK_TRANSIENT : TASK_PERMANENT;
}

/*
 * After a transient error: wait (1 s doubling to 30 s, half jitter: VTP_BACKOFF_STORAGE) while
 * heartbeating, and say whether to try again. False once the outage has
 * lasted vtp.storage_outage_timeout, or on shutdown or a lost video.
 */
static bool
wait_for_storage(task *t, time_t since, int *waits, const aws_error *err, const char *what)
{
	long		ms;

	if (!err->transient || err->aborted || t->lost)
		return false;
	if (time(NULL) - since >= vtp_storage_outage_timeout_s)
		return false;
	ms = vtp_backoff_delay(&VTP_BACKOFF_STORAGE, *waits);
	if (*waits == 0)
		ereport(LOG, (errmsg("vtp transcode: video %s: could not %s (%s); waiting for S3 (up to %d s)",
							 t->id, what, err->message, vtp_storage_outage_timeout_s)));
	(*waits)++;
	vtp_slot_state("waiting for storage", t->id, t->attempts);
	while (ms > 0)
	{
		long		step = ms > 1000 ? 1000 : ms;

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, step, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		vtp_worker_reload_if_asked(NULL);
		if (ShutdownRequestPending || !task_heartbeat(t, false))
			return false;
		ms -= step;
	}
	return true;
}

task_outcome
task_download(task *t)
{
	aws_error	err;
	time_t		since = time(NULL);
	int			waits = 0,
				rc;
	char		why[512];

	vtp_worker_activity("downloading %s", t->id);
	vtp_slot_state("downloading", t->id, t->attempts);

	if (task_scratch_dir(t->dir, why, sizeof(why)) != 0)
	{
		task_set_error(t, "scratch_unavailable", "%s", why);
		return TASK_TRANSIENT;
	}
	transfers_begin(t);
	while ((rc = s3_get_to_file(t->c, t->bucket, t->key, t->source,
								(int64) vtp_max_source_size_mb * 1024 * 1024, t->etag, &err)) != 0 &&
		   wait_for_storage(t, since, &waits, &err, "download the source"))
		vtp_slot_state("downloading", t->id, t->attempts);
	transfers_end(t);
	return rc == 0 ? TASK_OK : classify_aws(t, &err, "download the source");
}

/* Upload one rendition from its checked fd and check its size in S3. */
static int
put_verified(task *t, vtp_rendition *r, int fd, off_t size, aws_error *err, bool *mismatch)
{
	s3_object_info info;

	*mismatch = false;
	if (lseek(fd, 0, SEEK_SET) != 0)
	{
		memset(err, 0, sizeof(*err));
		strlcpy(err->code, "LocalFile", sizeof(err->code));
		snprintf(err->message, sizeof(err->message), "could not rewind %s: %m", r->file);
		return -1;
	}
	if (s3_put_fd(t->c, vtp_output_bucket, r->key, fd, size, r->file, "video/mp4", err) != 0)
		return -1;
	if (s3_head(t->c, vtp_output_bucket, r->key, &info, err) != 0)
		return -1;
	if (info.size != size)
	{
		*mismatch = true;
		task_set_error(t, "upload_mismatch", "rendition %s has %lld bytes in S3, %lld on disk",
					   r->name, (long long) info.size, (long long) size);
		return -1;
	}
	return 0;
}

/*
 * The most bytes a rendition may have: twice its planned maxrate over its
 * duration (at most vtp.max_duration) plus 16 MB for audio and the
 * container, and never more than 4 × vtp.max_source_size. The check of
 * each file after the helper is gone, and the watch over its scratch while
 * it runs (supervise.c), both use this.
 */
int64
task_rendition_cap(int64 maxrate, double duration)
{
	double		d = duration > 0 && duration < vtp_max_duration_s ? duration : vtp_max_duration_s;
	double		cap = (double) maxrate / 8 * (d + 2) * 2 + 16.0 * 1024 * 1024;
	double		hard = 4.0 * vtp_max_source_size_mb * 1024 * 1024;

	return (int64) (cap < hard ? cap : hard);
}

/*
 * Open rendition i in the task's directory without following links and
 * check it is what the plan allows: a regular file with one link, not
 * empty, of the size the helper reported and within task_rendition_cap. The fd,
 * or -1 with the reason set (bad_output).
 */
static int
open_rendition(task *t, int dirfd, int i, off_t *size)
{
	vtp_rendition *r = &t->r[i];
	struct stat st;
	int			fd;
	int64		cap = task_rendition_cap(t->maxrate[i], t->r[i].duration);

	fd = openat(dirfd, r->file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
	{
		task_set_error(t, "bad_output", "rendition file %s %s", r->file,
					   errno == ELOOP ? "is a symbolic link: refused" :
					   errno == ENOENT ? "is missing" : "cannot be opened");
		return -1;
	}
	if (fstat(fd, &st) != 0)
		task_set_error(t, "bad_output", "rendition file %s cannot be examined: %m", r->file);
	else if (!S_ISREG(st.st_mode))
		task_set_error(t, "bad_output", "rendition file %s is not a regular file (%s): refused", r->file,
					   S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" :
					   S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	else if (st.st_nlink != 1)
		task_set_error(t, "bad_output", "rendition file %s has %lu links (a hard link to another file): refused",
					   r->file, (unsigned long) st.st_nlink);
	else if (st.st_uid != geteuid())
		task_set_error(t, "bad_output", "rendition file %s is not owned by the server's user: refused", r->file);
	else if (st.st_size <= 0)
		task_set_error(t, "bad_output", "rendition file %s is empty", r->file);
	else if (st.st_size > cap)
		task_set_error(t, "bad_output", "rendition file %s has %lld bytes, more than its plan allows (%lld): refused",
					   r->file, (long long) st.st_size, (long long) cap);
	else if (st.st_size != r->bytes)
		task_set_error(t, "bad_output", "rendition file %s has %lld bytes, the transcoder reported %lld: refused",
					   r->file, (long long) st.st_size, (long long) r->bytes);
	else
	{
		*size = st.st_size;
		return fd;
	}
	close(fd);
	return -1;
}

/* Close the fds of the renditions and the directory. */
static void
close_outputs(int *fds, int n, int dirfd)
{
	int			i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (dirfd >= 0)
		close(dirfd);
}

task_outcome
task_upload(task *t)
{
	int			i,
				dirfd,
				fds[LADDER_MAX_RUNGS];
	off_t		sizes[LADDER_MAX_RUNGS];

	/* every output is opened and checked before anything is uploaded */
	dirfd = open(t->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
	{
		task_set_error(t, "scratch_unavailable", "could not open scratch directory \"%s\": %m", t->dir);
		return TASK_TRANSIENT;
	}
	for (i = 0; i < t->nr; i++)
	{
		fds[i] = open_rendition(t, dirfd, i, &sizes[i]);
		if (fds[i] < 0)
		{
			close_outputs(fds, i, dirfd);
			ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: %s", t->id, t->attempts, t->err_msg)));
			return TASK_PERMANENT;
		}
	}

	transfers_begin(t);
	for (i = 0; i < t->nr; i++)
	{
		vtp_rendition *r = &t->r[i];
		aws_error	err;
		time_t		since = time(NULL);
		int			waits = 0,
					rc;
		bool		mismatch;

		r->key = psprintf("%s%s.mp4", t->out_key, r->name);
		vtp_worker_activity("uploading %s %s", t->id, r->name);
		vtp_slot_state("uploading", t->id, t->attempts);
		r->bytes = sizes[i];
		/* counted before the PUT: a cut-off multipart upload may have left an object */
		t->nuploaded = i + 1;
		while ((rc = put_verified(t, r, fds[i], sizes[i], &err, &mismatch)) != 0 && !mismatch &&
			   wait_for_storage(t, since, &waits, &err, "upload a rendition"))
			vtp_slot_state("uploading", t->id, t->attempts);
		if (rc != 0)
		{
			transfers_end(t);
			close_outputs(fds, t->nr, dirfd);
			return mismatch ? TASK_TRANSIENT : classify_aws(t, &err, "upload a rendition");
		}
	}
	transfers_end(t);
	close_outputs(fds, t->nr, dirfd);
	return TASK_OK;
}

/*
 * Remove the original of a Published video: only from the temp bucket, only
 * the announced version (a HEAD compares the ETag first: a newer upload to
 * the same key stays). What cannot be removed now goes to the trash, which
 * the reconciler empties.
 */
void
task_remove_original(task *t)
{
	s3_object_info info;
	aws_error	err;
	bool		gone = false;

	if (strcmp(t->bucket, vtp_temp_bucket) != 0)
		return;
	if (s3_head(t->c, t->bucket, t->key, &info, &err) != 0)
	{
		if (err.http_status == 404)
			gone = true;
	}
	else if (t->etag[0] && strcmp(info.etag, t->etag) != 0)
	{
		ereport(LOG, (errmsg("vtp transcode: video %s: s3://%s/%s was replaced by a newer upload; keeping it",
							 t->id, t->bucket, t->key)));
		return;
	}
	else if (s3_delete(t->c, t->bucket, t->key, &err) == 0)
		gone = true;

	catalog_begin();
	if (gone)
		catalog_source_deleted(t->id);
	else
	{
		catalog_trash(t->bucket, t->key, t->etag[0] ? t->etag : NULL, t->id, "published");
		vtp_wake_role("reconcile");
	}
	catalog_commit();
	if (!gone)
		vtp_aws_ereport(LOG, &err, "delete the original now; the reconciler will");
}
