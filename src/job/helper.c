/*
 * helper.c — run the vtp-transcode helper for one job and watch it: its
 * JSON-line reports (stdout) and its stderr arrive through two pipes the host
 * waits on with its own wake-ups. At most READ_BUDGET bytes are read from
 * each per wake-up, so shutdown, cancels, heartbeats and the wall-clock
 * timeout are all handled however much it prints. Every report line goes
 * through the protocol checker (src/core/report.c): the first violation
 * kills the helper's process group and fails the video (helper_protocol).
 * stderr is cleaned, truncated, prefixed and rate-limited into the log. A
 * crash of the child is an outcome, never a crash of the host. (The
 * sandbox check a worker runs before it takes tasks: sandbox_run.c.)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "helper_protocol.h"
#include "job_int.h"
#include "json.h"
#include "linebuf.h"
#include "report.h"

#define STDERR_LINE_MAX 300		/* bytes of a stderr line logged */
#define STDERR_LINES_MAX 20		/* stderr lines logged per job; the rest are counted */
#define HELPER_ARGS 40

/* What a running transcode has seen so far. */
typedef struct watch
{
	job		   *j;
	pid_t		pid;
	report_state rs;
	bool		violated;
	bool		progressed;
	int			err_lines;		/* stderr lines seen */
	vtp_child	ch;
	linebuf		out;
	linebuf		errb;
	bool		out_eof;
	bool		err_eof;
} watch;

/* The helper's command line, and the numbers in it. */
typedef struct helper_args
{
	char	   *argv[HELPER_ARGS];
	char		num[8][32];
} helper_args;

/* One report line from the helper, checked against the protocol. */
static void
on_report(void *arg, const char *line, size_t len, bool cut)
{
	watch	   *w = arg;
	job		   *j = w->j;
	report_event ev;

	if (w->violated)
		return;
	ev = report_feed(&w->rs, line, cut ? REPORT_MAX_LINE + 1 : len);
	switch (ev)
	{
		case REPORT_VIOLATION:
			w->violated = true;
			break;
		case REPORT_PROBE:
			/* kept until the plan comes: the facts are made from it, checked */
			vbuf_reset(&j->facts);
			vbuf_append(&j->facts, line, len);
			break;
		case REPORT_PLAN:
			{
				vbuf		facts = VBUF_INIT;

				report_facts_json(&w->rs, j->facts.data, j->facts.len, &facts);
				j->h->facts(j->h->host, j, facts.data ? facts.data : "{}");
				vbuf_free(&facts);
			}
			break;
		case REPORT_PROGRESS:
			j->progress = w->rs.percent;
			j->eta_seconds = w->rs.eta_seconds;
			w->progressed = true;
			break;
		case REPORT_DONE:
			j->cpu_seconds = w->rs.cpu_seconds;
			j->wall_seconds = w->rs.wall_seconds;
			break;
		case REPORT_ERROR:
			if (w->rs.landlock || !w->rs.seen_sandbox)
				job_set_error(j, w->rs.err_code, "%s", w->rs.err_msg);
			else

				/*
				 * Without Landlock the helper could read any file the server
				 * can (the credentials file among them): its words could be a
				 * secret, and vtp_videos.error reaches API clients. Keep the
				 * code only.
				 */
				job_set_error(j, w->rs.err_code,
							  "the transcoder failed (%s); its message is not kept without Landlock (vtp.sandbox = best_effort)",
							  w->rs.err_code);
			break;
		case REPORT_SANDBOX:
		case REPORT_RENDITION:
			break;
	}
}

/* One stderr line from the helper: cleaned, cut, prefixed, rate-limited, at LOG. */
static void
on_stderr(void *arg, const char *line, size_t len, bool cut)
{
	watch	   *w = arg;
	char		clean[STDERR_LINE_MAX + 1];

	if (w->err_lines++ >= STDERR_LINES_MAX)
		return;
	report_clean_text(clean, sizeof(clean), line, len);
	job_logf(w->j->h, JOB_LOG, "vtp transcoder[%d] video %s: %s%s", (int) w->pid, w->j->id, clean,
			 cut || len > STDERR_LINE_MAX ? " …" : "");
}

/* The helper's arguments for this job. */
static void
transcode_argv(const job *j, helper_args *a)
{
	const job_settings *s = j->h->set;
	int			n = 0;

	snprintf(a->num[0], sizeof(a->num[0]), "%g", s->x264_crf);
	snprintf(a->num[1], sizeof(a->num[1]), "%g", s->x264_hd_crf);
	snprintf(a->num[2], sizeof(a->num[2]), "%d", s->threads);
	snprintf(a->num[3], sizeof(a->num[3]), "%d", s->max_width);
	snprintf(a->num[4], sizeof(a->num[4]), "%d", s->max_height);
	snprintf(a->num[5], sizeof(a->num[5]), "%d", s->max_duration_s);
	snprintf(a->num[6], sizeof(a->num[6]), "%d", s->max_streams);
	a->argv[n++] = (char *) s->transcoder_path;
	a->argv[n++] = "--sandbox";
	a->argv[n++] = s->sandbox_required ? "required" : "best_effort";
	a->argv[n++] = "--input";
	a->argv[n++] = j->source;
	a->argv[n++] = "--outdir";
	a->argv[n++] = j->dir;
	a->argv[n++] = "--renditions";
	a->argv[n++] = (char *) s->renditions;
	a->argv[n++] = "--preset";
	a->argv[n++] = (char *) s->x264_preset;
	a->argv[n++] = "--crf";
	a->argv[n++] = a->num[0];
	a->argv[n++] = "--hd-preset";
	a->argv[n++] = (char *) s->x264_hd_preset;
	a->argv[n++] = "--hd-crf";
	a->argv[n++] = a->num[1];
	a->argv[n++] = "--threads";
	a->argv[n++] = a->num[2];
	a->argv[n++] = "--max-width";
	a->argv[n++] = a->num[3];
	a->argv[n++] = "--max-height";
	a->argv[n++] = a->num[4];
	a->argv[n++] = "--max-duration";
	a->argv[n++] = a->num[5];
	a->argv[n++] = "--max-streams";
	a->argv[n++] = a->num[6];
	a->argv[n] = NULL;
	VTP_ASSERT(n < HELPER_ARGS);
}

/* Stop the helper's group, free the watch's buffers and say why the attempt ends. */
static void
end_helper(watch *w)
{
	job		   *j = w->j;

	vtp_child_stop(&w->ch, 3000);
	free(w->out.data);
	free(w->errb.data);
	w->out.data = w->errb.data = NULL;
	j->child_pid = 0;
	j->h->progress(j->h->host, j, NULL);
	if (w->err_lines > STDERR_LINES_MAX)
		job_logf(j->h, JOB_LOG, "vtp transcoder[%d] video %s: … %d more stderr lines suppressed",
				 (int) w->pid, j->id, w->err_lines - STDERR_LINES_MAX);
}

/* Copy the checked plan and renditions into the job. */
static void
take_renditions(job *j, const report_state *rs)
{
	int			i;

	VTP_ASSERT(rs->nrungs >= 0 && rs->nrungs <= LADDER_MAX_RUNGS);
	j->nr = 0;
	for (i = 0; i < rs->nrungs && i < LADDER_MAX_RUNGS; i++)
	{
		const report_rung *g = &rs->rungs[i];
		job_rendition *r = &j->r[j->nr];

		memset(r, 0, sizeof(*r));
		vtp_strlcpy(r->name, g->name, sizeof(r->name));
		snprintf(r->file, sizeof(r->file), "%s.mp4", g->name);
		r->width = g->width;
		r->height = g->height;
		r->bytes = g->bytes;
		r->bitrate = g->bitrate;
		r->duration = g->duration;
		j->maxrate[j->nr] = g->maxrate;
		j->nr++;
	}
}

/*
 * What the helper may hold while it runs, checked about once a second: the
 * bytes and files in its scratch directory (its source aside) within what its
 * plan allows — the renditions' caps (job_rendition_cap) and 64 MB of slack — and
 * its threads within what its decoders and encoders use (a few per core per
 * rung). Nothing else bounds them before it exits: a compromised helper
 * could fill the data directory's disk, or take every process slot of the
 * server's user with threads. False, with why, when it went past.
 */
static bool
police_helper(job *j, const watch *w, char *why, size_t whylen)
{
	DIR		   *d;
	struct dirent *de;
	struct stat st;
	double		budget = 64.0 * 1024 * 1024,
				used = 0;
	int			files = 0,
				max_files,
				threads = -1,
				max_threads,
				cpus = j->h->set->threads > 0 ? j->h->set->threads : (int) sysconf(_SC_NPROCESSORS_ONLN),
				i;
	char		path[64],
				line[128];
	FILE	   *f;

	for (i = 0; i < w->rs.nrungs; i++)
		budget += (double) job_rendition_cap(j->h->set, w->rs.rungs[i].maxrate, w->rs.duration);
	max_files = w->rs.nrungs + 4;
	d = opendir(j->dir);
	if (d != NULL)
	{
		while ((de = readdir(d)) != NULL)
		{
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
				strcmp(de->d_name, "source") == 0)
				continue;
			files++;
			if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0)
				used += (double) st.st_blocks * 512;
		}
		closedir(d);
	}
	if (used > budget || files > max_files)
	{
		snprintf(why, whylen, "it holds %d file(s) and %.0f MB in its scratch directory; its plan allows %d and %.0f MB",
				 files, used / 1048576, max_files, budget / 1048576);
		return false;
	}

	if (cpus < 1)
		cpus = 1;
	max_threads = 32 + 8 * cpus * (w->rs.ex.nrequested > 0 ? w->rs.ex.nrequested : 1);
	snprintf(path, sizeof(path), "/proc/%d/status", (int) w->pid);
	f = fopen(path, "r");
	if (f != NULL)
	{
		while (fgets(line, sizeof(line), f) != NULL)
			if (sscanf(line, "Threads: %d", &threads) == 1)
				break;
		fclose(f);
	}
	if (threads > max_threads)
	{
		snprintf(why, whylen, "it runs %d threads; its decoders and encoders use at most %d", threads, max_threads);
		return false;
	}
	return true;
}

/* Start the helper with the job's limits; false (the error set) if it could not be. */
static bool
start_helper(job *j, watch *w)
{
	const job_settings *s = j->h->set;
	vtp_child_limits lim;
	helper_args a;
	char		err[256];

	lim.nice = s->nice;
	lim.cpu_seconds = (long) s->transcode_timeout_s * 4;	/* threads burn CPU faster than the clock */
	lim.memory_mb = s->memory_mb;
	lim.file_mb = (long) s->max_source_size_mb * 4; /* no rendition is larger (job_rendition_cap) */
	transcode_argv(j, &a);
	w->out.data = w->errb.data = NULL;
	if (vtp_child_start(&w->ch, a.argv, &lim, err, sizeof(err)) != 0)
	{
		job_set_error(j, "internal", "could not start the transcoder: %s", err);
		return false;
	}
	linebuf_init(&w->out, malloc(REPORT_MAX_LINE + 1), REPORT_MAX_LINE + 1);
	linebuf_init(&w->errb, malloc(STDERR_LINE_MAX + 1), STDERR_LINE_MAX + 1);
	if (w->out.data == NULL || w->errb.data == NULL)
	{
		end_helper(w);
		job_set_error(j, "internal", "out of memory");
		return false;
	}
	w->pid = w->ch.pid;
	j->child_pid = w->ch.pid;
	j->h->phase(j->h->host, j, "transcoding", NULL);
	j->h->progress(j->h->host, j, NULL);
	job_logf(j->h, JOB_LOG, "vtp transcode: video %s attempt %d: transcoder pid %d started",
			 j->id, j->attempt, (int) w->ch.pid);
	return true;
}

/* End the helper for a reason of the engine's: the attempt's outcome, logged with the error. */
static job_outcome
stop_helper(watch *w, job_outcome out, bool log)
{
	end_helper(w);
	if (log)
		job_logf(w->j->h, JOB_LOG, "vtp transcode: video %s attempt %d: %s", w->j->id, w->j->attempt,
				 w->j->err_msg);
	return out;
}

/*
 * One wake-up of the watch: read the pipes, pass progress on, and look at
 * everything that may end the helper early. JOB_OK while it goes on.
 */
static job_outcome
watch_step(watch *w, time_t started, time_t *policed_at)
{
	job		   *j = w->j;
	job_host   *h = j->h;
	char		why[256];

	h->wait(h->host, w->out_eof ? 100 : 1000, w->out_eof ? -1 : w->ch.out_fd, w->err_eof ? -1 : w->ch.err_fd);
	if (!w->out_eof)
		w->out_eof = !linebuf_read(w->ch.out_fd, &w->out, on_report, w);
	if (!w->err_eof)
		w->err_eof = !linebuf_read(w->ch.err_fd, &w->errb, on_stderr, w);
	if (w->progressed)
	{
		char		activity[128];

		w->progressed = false;
		snprintf(activity, sizeof(activity), "transcoding %s: %.0f%%", j->id, j->progress);
		h->progress(h->host, j, activity);
	}
	if (w->violated)
	{
		job_set_error(j, "helper_protocol", "the transcoder broke the report protocol: %s", w->rs.violation);
		return stop_helper(w, JOB_PERMANENT, true);
	}
	if (!w->ch.reaped && time(NULL) != *policed_at)
	{
		*policed_at = time(NULL);
		if (!police_helper(j, w, why, sizeof(why)))
		{
			job_set_error(j, "helper_limit", "the transcoder went past its limits: %s", why);
			return stop_helper(w, JOB_PERMANENT, true);
		}
	}
	if (h->stopping(h->host))
		return stop_helper(w, JOB_SHUTDOWN, false);
	if (time(NULL) - started > h->set->transcode_timeout_s)
	{
		job_set_error(j, "timeout", "the transcode took longer than vtp.transcode_timeout (%d s)",
					  h->set->transcode_timeout_s);
		return stop_helper(w, JOB_PERMANENT, false);
	}
	if (!job_heartbeat(j, false))
		return stop_helper(w, JOB_LOST, false); /* cancelled, deleted or taken over */
	return JOB_OK;
}

/* How the helper's exit judges the attempt (the helper is gone, its pipes closed). */
static job_outcome
judge_exit(job *j, watch *w, const char *how)
{
	int			st = w->ch.status;

	if (WIFEXITED(st) && WEXITSTATUS(st) == VTP_HELPER_EXIT_DONE)
	{
		if (report_complete(&w->rs))
		{
			take_renditions(j, &w->rs);
			return JOB_OK;
		}
		job_set_error(j, "helper_protocol", "the transcoder exited 0 without %s",
					  w->rs.done ? "every planned rendition" : "its done line");
		return JOB_PERMANENT;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == VTP_HELPER_EXIT_MEDIA)
	{
		if (j->err_code[0] == '\0')
			job_set_error(j, "bad_media", "the transcoder rejected the source (%s)", how);
		return JOB_PERMANENT;
	}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGXFSZ)
	{
		/* RLIMIT_FSIZE: no rendition of a source vtp accepts is that large */
		job_set_error(j, "helper_limit", "the transcoder went past its limits: it tried to write a file "
					  "larger than %ld MB (4 x vtp.max_source_size) and was stopped (%s)",
					  (long) j->h->set->max_source_size_mb * 4, how);
		return JOB_PERMANENT;
	}
	/* a crash, a limit, an internal error: maybe not the video's fault */
	if (j->err_code[0] == '\0' || WIFSIGNALED(st))
	{
		char		said[sizeof(j->err_msg)];

		vtp_strlcpy(said, j->err_msg, sizeof(said));	/* err_msg is rewritten below */
		job_set_error(j, "transcoder_crashed", "the transcoder ended abnormally (%s)%s%s", how,
					  said[0] ? ": " : "", said);
	}
	return JOB_TRANSIENT;
}

/* Run the helper for this job and judge how it ended. */
job_outcome
job_transcode(job *j)
{
	char		how[128],
				err[256];
	watch		w;
	time_t		started = time(NULL),
				reaped_at = 0,
				policed_at = 0;
	job_outcome result;

	VTP_ASSERT(j->claimed);
	memset(&w, 0, sizeof(w));
	w.j = j;
	if (report_init(&w.rs, j->h->set->renditions, true, j->h->set->max_width, j->h->set->max_height,
					j->h->set->max_duration_s, err, sizeof(err)) != 0)
	{
		job_set_error(j, "bad_plan", "vtp.renditions: %s", err);
		return JOB_PERMANENT;
	}
	if (!start_helper(j, &w))
		return JOB_TRANSIENT;

	/* until the helper is gone and its report pipe closed */
	while (!w.out_eof || !w.ch.reaped)
	{
		result = watch_step(&w, started, &policed_at);
		if (result != JOB_OK)
			return result;
		if (!w.ch.reaped && vtp_child_poll(&w.ch))
			reaped_at = time(NULL);
		if (w.ch.reaped && !w.out_eof && time(NULL) - reaped_at > 2)
			break;				/* gone, its group killed, yet the pipe stays open: enough */
	}
	/* the helper is gone; its report pipe is closed */
	end_helper(&w);
	vtp_child_describe(&w.ch, how, sizeof(how));
	result = judge_exit(j, &w, how);
	job_logf(j->h, JOB_LOG, "vtp transcode: video %s attempt %d: transcoder %s, %d rendition(s), %.1f CPU s",
			 j->id, j->attempt, how, j->nr, j->cpu_seconds);
	return result;
}
