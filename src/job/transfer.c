/*
 * transfer.c — a job's S3 steps: download the announced version of the
 * source (If-Match its ETag), upload and HEAD-verify each rendition, and
 * remove the original once Published (only that version, only from the temp
 * bucket). While a transfer runs, the heartbeat goes on between socket polls;
 * an S3 outage is waited out, with capped backoff and jitter, for up to
 * vtp.storage_outage_timeout before the attempt counts as failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "job_int.h"

/* Called between socket polls of a transfer, outside any libcurl callback. */
static void
transfer_tick(void *arg)
{
	job		   *j = arg;

	j->h->wait(j->h->host, 0, -1, -1);	/* signals only: a reload */
	if (!j->h->stopping(j->h->host))
		(void) job_heartbeat(j, false);
}

static void
transfers_begin(job *j)
{
	j->c->between = transfer_tick;
	j->c->cb_arg = j;
}

static void
transfers_end(job *j)
{
	j->c->between = NULL;
	j->c->cb_arg = NULL;
}

static job_outcome
classify_aws(job *j, const aws_error *err, const char *what)
{
	if (j->lost)
		return JOB_LOST;
	if (err->aborted || j->h->stopping(j->h->host))
		return JOB_SHUTDOWN;	/* hand it back: this attempt does not count */
	if (err->http_status == 412)
	{
		job_set_error(j, "source_changed",
					  "the object was replaced after it was announced (ETag %s is no longer there); the newer version is a video of its own",
					  j->etag);
		return JOB_PERMANENT;
	}
	job_set_error(j, err->http_status == 404 ? "source_missing" :
				  strcmp(err->code, "TooLarge") == 0 ? "too_large" :
				  err->transient ? "storage_unavailable" : "storage_error",
				  "could not %s: %s (%s)", what, err->message, err->code);
	return err->transient ? JOB_TRANSIENT : JOB_PERMANENT;
}

/*
 * After a transient error: wait (1 s doubling to 30 s, half jitter: VTP_BACKOFF_STORAGE) while
 * heartbeating, and say whether to try again. False once the outage has
 * lasted vtp.storage_outage_timeout, or on shutdown or a lost video.
 */
static bool
wait_for_storage(job *j, time_t since, int *waits, const aws_error *err, const char *what)
{
	long		ms;

	if (!err->transient || err->aborted || j->lost)
		return false;
	if (time(NULL) - since >= j->h->set->storage_outage_timeout_s)
		return false;
	ms = vtp_backoff_delay(&VTP_BACKOFF_STORAGE, *waits);
	if (*waits == 0)
		job_logf(j->h, JOB_LOG, "vtp transcode: video %s: could not %s (%s); waiting for S3 (up to %d s)",
				 j->id, what, err->message, j->h->set->storage_outage_timeout_s);
	(*waits)++;
	j->h->phase(j->h->host, j, "waiting for storage", NULL);
	while (ms > 0)
	{
		long		step = ms > 1000 ? 1000 : ms;

		j->h->wait(j->h->host, step, -1, -1);
		if (j->h->stopping(j->h->host) || !job_heartbeat(j, false))
			return false;
		ms -= step;
	}
	return true;
}

job_outcome
job_download(job *j)
{
	aws_error	err;
	time_t		since = time(NULL);
	int			waits = 0,
				rc;
	char		why[512],
				activity[128];

	snprintf(activity, sizeof(activity), "downloading %s", j->id);
	j->h->phase(j->h->host, j, "downloading", activity);

	if (job_scratch_dir(j->dir, why, sizeof(why)) != 0)
	{
		job_set_error(j, "scratch_unavailable", "%s", why);
		return JOB_TRANSIENT;
	}
	transfers_begin(j);
	while ((rc = s3_get_to_file(j->c, j->bucket, j->key, j->source,
								(int64_t) j->h->set->max_source_size_mb * 1024 * 1024, j->etag, &err)) != 0 &&
		   wait_for_storage(j, since, &waits, &err, "download the source"))
		j->h->phase(j->h->host, j, "downloading", NULL);
	transfers_end(j);
	return rc == 0 ? JOB_OK : classify_aws(j, &err, "download the source");
}

/* Upload one rendition from its checked fd and check its size in S3. */
static int
put_verified(job *j, job_rendition *r, int fd, off_t size, aws_error *err, bool *mismatch)
{
	s3_object_info info;

	*mismatch = false;
	if (lseek(fd, 0, SEEK_SET) != 0)
	{
		memset(err, 0, sizeof(*err));
		vtp_strlcpy(err->code, "LocalFile", sizeof(err->code));
		snprintf(err->message, sizeof(err->message), "could not rewind %s: %m", r->file);
		return -1;
	}
	if (s3_put_fd(j->c, j->h->set->output_bucket, r->key, fd, size, r->file, "video/mp4", err) != 0)
		return -1;
	if (s3_head(j->c, j->h->set->output_bucket, r->key, &info, err) != 0)
		return -1;
	if (info.size != size)
	{
		*mismatch = true;
		job_set_error(j, "upload_mismatch", "rendition %s has %lld bytes in S3, %lld on disk",
					  r->name, (long long) info.size, (long long) size);
		return -1;
	}
	return 0;
}

/*
 * Open rendition i in the task's directory without following links and
 * check it is what the plan allows: a regular file with one link, not
 * empty, of the size the helper reported and within job_rendition_cap. The fd,
 * or -1 with the reason set (bad_output).
 */
static int
open_rendition(job *j, int dirfd, int i, off_t *size)
{
	job_rendition *r = &j->r[i];
	struct stat st;
	int			fd;
	int64_t		cap = job_rendition_cap(j->h->set, j->maxrate[i], j->r[i].duration);

	fd = openat(dirfd, r->file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
	{
		job_set_error(j, "bad_output", "rendition file %s %s", r->file,
					  errno == ELOOP ? "is a symbolic link: refused" :
					  errno == ENOENT ? "is missing" : "cannot be opened");
		return -1;
	}
	if (fstat(fd, &st) != 0)
		job_set_error(j, "bad_output", "rendition file %s cannot be examined: %m", r->file);
	else if (!S_ISREG(st.st_mode))
		job_set_error(j, "bad_output", "rendition file %s is not a regular file (%s): refused", r->file,
					  S_ISFIFO(st.st_mode) ? "a FIFO" : S_ISDIR(st.st_mode) ? "a directory" :
					  S_ISSOCK(st.st_mode) ? "a socket" : "a device");
	else if (st.st_nlink != 1)
		job_set_error(j, "bad_output", "rendition file %s has %lu links (a hard link to another file): refused",
					  r->file, (unsigned long) st.st_nlink);
	else if (st.st_uid != geteuid())
		job_set_error(j, "bad_output", "rendition file %s is not owned by the server's user: refused", r->file);
	else if (st.st_size <= 0)
		job_set_error(j, "bad_output", "rendition file %s is empty", r->file);
	else if (st.st_size > cap)
		job_set_error(j, "bad_output", "rendition file %s has %lld bytes, more than its plan allows (%lld): refused",
					  r->file, (long long) st.st_size, (long long) cap);
	else if (st.st_size != r->bytes)
		job_set_error(j, "bad_output", "rendition file %s has %lld bytes, the transcoder reported %lld: refused",
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

job_outcome
job_upload(job *j)
{
	int			i,
				dirfd,
				fds[LADDER_MAX_RUNGS];
	off_t		sizes[LADDER_MAX_RUNGS];
	char		activity[128];

	VTP_ASSERT(j->nr >= 0 && j->nr <= LADDER_MAX_RUNGS);
	/* every output is opened and checked before anything is uploaded */
	dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0)
	{
		job_set_error(j, "scratch_unavailable", "could not open scratch directory \"%s\": %m", j->dir);
		return JOB_TRANSIENT;
	}
	for (i = 0; i < j->nr; i++)
	{
		fds[i] = open_rendition(j, dirfd, i, &sizes[i]);
		if (fds[i] < 0)
		{
			close_outputs(fds, i, dirfd);
			job_logf(j->h, JOB_LOG, "vtp transcode: video %s attempt %d: %s", j->id, j->attempt, j->err_msg);
			return JOB_PERMANENT;
		}
	}

	transfers_begin(j);
	for (i = 0; i < j->nr; i++)
	{
		job_rendition *r = &j->r[i];
		aws_error	err;
		time_t		since = time(NULL);
		int			waits = 0,
					rc;
		bool		mismatch;

		VTP_ASSERT(r->key == NULL);
		if ((r->key = job_sprintf("%s%s.mp4", j->out_key, r->name)) == NULL)
		{
			transfers_end(j);
			close_outputs(fds, j->nr, dirfd);
			job_set_error(j, "internal", "out of memory");
			return JOB_TRANSIENT;
		}
		snprintf(activity, sizeof(activity), "uploading %s %s", j->id, r->name);
		j->h->phase(j->h->host, j, "uploading", activity);
		r->bytes = sizes[i];
		/* counted before the PUT: a cut-off multipart upload may have left an object */
		j->nuploaded = i + 1;
		VTP_ASSERT(j->nuploaded <= j->nr);
		while ((rc = put_verified(j, r, fds[i], sizes[i], &err, &mismatch)) != 0 && !mismatch &&
			   wait_for_storage(j, since, &waits, &err, "upload a rendition"))
			j->h->phase(j->h->host, j, "uploading", NULL);
		if (rc != 0)
		{
			transfers_end(j);
			close_outputs(fds, j->nr, dirfd);
			return mismatch ? JOB_TRANSIENT : classify_aws(j, &err, "upload a rendition");
		}
	}
	transfers_end(j);
	close_outputs(fds, j->nr, dirfd);
	return JOB_OK;
}

/*
 * Remove the original of a Published video: only from the temp bucket, only
 * the announced version (a HEAD compares the ETag first: a newer upload to
 * the same key stays). What cannot be removed now goes to the trash, which
 * the reconciler empties.
 */
void
job_remove_original(job *j)
{
	s3_object_info info;
	aws_error	err;
	bool		gone = false;

	if (strcmp(j->bucket, j->h->set->temp_bucket) != 0)
		return;
	if (s3_head(j->c, j->bucket, j->key, &info, &err) != 0)
	{
		if (err.http_status == 404)
			gone = true;
	}
	else if (j->etag[0] && strcmp(info.etag, j->etag) != 0)
	{
		job_logf(j->h, JOB_LOG, "vtp transcode: video %s: s3://%s/%s was replaced by a newer upload; keeping it",
				 j->id, j->bucket, j->key);
		return;
	}
	else if (s3_delete(j->c, j->bucket, j->key, &err) == 0)
		gone = true;

	if (gone)
		j->h->source_deleted(j->h->host, j);
	else
	{
		const char *keys[1] = {j->key};

		j->h->trash(j->h->host, j, j->bucket, keys, 1, j->etag[0] ? j->etag : NULL, "published");
		j->h->wake_reconciler(j->h->host);
		job_log_aws(j->h, JOB_LOG, &err, "delete the original now; the reconciler will");
	}
}
