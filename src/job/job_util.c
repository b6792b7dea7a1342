/*
 * job_util.c — what every step of the job engine uses: the attempt's error,
 * logging through the host, the AWS client's abort check and retry sleep
 * while a job runs (the engine owns the abort flag: a job that lost its
 * video cuts its transfers in flight), the scratch directory's checks and
 * removal, and the size cap of a rendition.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE				/* nftw's FTW_PHYS */
#endif

#include <errno.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "job_int.h"

/* The engine's abort state, read in libcurl's progress callback: flags only. */
static volatile bool abort_requested = false;
static volatile bool abort_never = false;
static job_host *hook_host;
static int	(*host_abort_check) (void *arg);
static int	(*host_sleep) (long ms, void *arg);

/* Set the reason code and message of the attempt's failure. */
void
job_set_error(job *j, const char *code, const char *fmt,...)
{
	va_list		ap;

	vtp_strlcpy(j->err_code, code, sizeof(j->err_code));
	va_start(ap, fmt);
	vsnprintf(j->err_msg, sizeof(j->err_msg), fmt, ap);
	va_end(ap);
}

/* A malloc'd formatted string, or NULL. */
char *
job_sprintf(const char *fmt,...)
{
	va_list		ap;
	char	   *s;
	int			n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* Log a formatted line through the host. */
void
job_logf(job_host *h, job_level level, const char *fmt,...)
{
	va_list		ap;
	char		msg[2048];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	h->log(h->host, level, msg, NULL, NULL);
}

/* As the background worker always said it: the error's words, its code and status as detail. */
void
job_log_aws(job_host *h, job_level level, const aws_error *err, const char *what)
{
	char		msg[1024],
				detail[256];

	snprintf(msg, sizeof(msg), "could not %s: %s", what, err->message);
	snprintf(detail, sizeof(detail), "AWS error code %s, HTTP status %ld%s.", err->code, err->http_status,
			 err->transient ? ", transient" : "");
	h->log(h->host, level, msg, detail, NULL);
}

/* Abort the engine's calls in flight, until cleared. */
void
job_abort_transfers(bool on)
{
	abort_requested = on;
}

/* Clean-up calls that must run to their end (a hand-back during shutdown). */
void
job_never_abort(bool on)
{
	abort_never = on;
}

/* Runs inside libcurl's progress callback: read flags only. */
static int
job_abort_check(void *arg)
{
	if (abort_never)
		return 0;
	if (abort_requested)
		return 1;
	if (hook_host && hook_host->stopping(hook_host->host))
		return 1;
	return host_abort_check ? host_abort_check(arg) : 0;
}

/*
 * A retry's sleep: the host's own sleep (or a plain one), in steps that
 * also watch the engine's abort flag (a lost lease cuts it short).
 */
static int
job_sleep(long ms, void *arg)
{
	while (ms > 0)
	{
		long		step = ms > 100 ? 100 : ms;

		if (job_abort_check(arg))
			return 1;
		if (host_sleep != NULL)
		{
			if (host_sleep(step, arg))
				return 1;
		}
		else
			usleep((useconds_t) step * 1000);
		ms -= step;
	}
	return job_abort_check(arg);
}

/* Put the engine's hooks on c (the host's own are kept and still asked). */
void
job_hooks_begin(job *j, aws_client *c)
{
	hook_host = j->h;
	if (c->abort_check != job_abort_check)
	{
		host_abort_check = c->abort_check;
		host_sleep = c->sleep_fn;
	}
	c->abort_check = job_abort_check;
	c->sleep_fn = job_sleep;
}

/* Give c its host's hooks back. */
void
job_hooks_end(aws_client *c)
{
	if (c->abort_check == job_abort_check)
	{
		c->abort_check = host_abort_check;
		c->sleep_fn = host_sleep;
	}
}

/* Create or check one scratch directory (see job.h). */
int
job_scratch_dir(const char *dir, char *err, size_t errlen)
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

/* One entry of a tree being removed, deepest first. */
static int
remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void) remove(path);
	return 0;					/* go on whatever could not be removed */
}

/* Remove a scratch tree (what the helper left there may be anything: never followed). */
void
job_remove_tree(const char *path)
{
	(void) nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * The most bytes a rendition may have: twice its planned maxrate over its
 * duration (at most vtp.max_duration) plus 16 MB for audio and the
 * container, and never more than 4 × vtp.max_source_size. The check of
 * each file after the helper is gone (transfer.c), and the watch over its
 * scratch while it runs (helper.c), both use this.
 */
int64_t
job_rendition_cap(const job_settings *set, int64_t maxrate, double duration)
{
	double		d = duration > 0 && duration < set->max_duration_s ? duration : set->max_duration_s;
	double		cap = (double) maxrate / 8 * (d + 2) * 2 + 16.0 * 1024 * 1024;
	double		hard = 4.0 * set->max_source_size_mb * 1024 * 1024;

	return (int64_t) (cap < hard ? cap : hard);
}

/* j's renditions as the catalog's vtp_publish takes them: a JSON array (both hosts send this). */
void
job_renditions_json(const job *j, vbuf *b)
{
	int			i;

	vbuf_putc(b, '[');
	for (i = 0; i < j->nr; i++)
	{
		const job_rendition *r = &j->r[i];

		vbuf_puts(b, i ? ",{\"name\":" : "{\"name\":");
		vbuf_json_string(b, r->name);
		vbuf_puts(b, ",\"key\":");
		vbuf_json_string(b, r->key);
		vbuf_printf(b, ",\"width\":%d,\"height\":%d,\"bytes\":%lld,\"bitrate\":%lld,\"duration\":%.6f}",
					r->width, r->height, (long long) r->bytes, (long long) r->bitrate, r->duration);
	}
	vbuf_putc(b, ']');
}
