/*
 * supervise.c — run the transcoder child for one task and watch it: its
 * JSON-line reports (stdout) and its stderr arrive through two pipes waited
 * on in one WaitEventSet with the latch. At most READ_BUDGET bytes are read
 * from each per wake-up, so SIGTERM, SIGHUP, cancels, heartbeats and the
 * wall-clock timeout are all handled however much it prints. Every report
 * line goes through the protocol checker (src/report.c): the first violation
 * kills the helper's process group and fails the video (helper_protocol).
 * stderr is cleaned, truncated, prefixed and rate-limited into the log. A
 * crash of the child is an outcome, never a crash of the worker. (The
 * sandbox check a worker runs before it takes tasks: sandbox_run.c.)
 */
#include "job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "child.h"
#include "linebuf.h"
#include "json.h"
#include "report.h"

#define STDERR_LINE_MAX 300		/* bytes of a stderr line logged */
#define STDERR_LINES_MAX 20		/* stderr lines logged per task; the rest are counted */

/* What a running transcode has seen so far. */
typedef struct watch
{
	task	   *t;
	pid_t		pid;
	report_state rs;
	bool		violated;
	bool		progressed;
	int			err_lines;		/* stderr lines seen */
} watch;

/* Set the reason code and message of the attempt's failure. */
void
task_set_error(task *t, const char *code, const char *fmt,...)
{
	va_list		ap;

	strlcpy(t->err_code, code, sizeof(t->err_code));
	va_start(ap, fmt);
	vsnprintf(t->err_msg, sizeof(t->err_msg), fmt, ap);
	va_end(ap);
}


/* The helper program: vtp.transcoder_path, or vtp-transcode beside the library. */
char *
task_transcoder_path(void)
{
	if (vtp_transcoder_path && vtp_transcoder_path[0])
		return pstrdup(vtp_transcoder_path);
	return psprintf("%s/vtp-transcode", pkglib_path);
}

/* One report line from the helper, checked against the protocol. */
static void
on_report(void *arg, const char *line, size_t len, bool cut)
{
	watch	   *w = arg;
	task	   *t = w->t;
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
			vbuf_reset(&t->facts);
			vbuf_append(&t->facts, line, len);
			break;
		case REPORT_PLAN:
			{
				vbuf		facts = VBUF_INIT;

				report_facts_json(&w->rs, t->facts.data, t->facts.len, &facts);
				catalog_begin();
				catalog_set_probe(t->id, t->attempts, facts.data);
				catalog_commit();
				vbuf_free(&facts);
			}
			break;
		case REPORT_PROGRESS:
			t->progress = w->rs.percent;
			t->eta_seconds = w->rs.eta_seconds;
			w->progressed = true;
			break;
		case REPORT_DONE:
			t->cpu_seconds = w->rs.cpu_seconds;
			t->wall_seconds = w->rs.wall_seconds;
			break;
		case REPORT_ERROR:
			if (w->rs.landlock || !w->rs.seen_sandbox)
				task_set_error(t, w->rs.err_code, "%s", w->rs.err_msg);
			else

				/*
				 * Without Landlock the helper could read any file the server
				 * can (the credentials file among them): its words could be a
				 * secret, and vtp_videos.error reaches API clients. Keep the
				 * code only.
				 */
				task_set_error(t, w->rs.err_code,
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
	ereport(LOG, (errmsg("vtp transcoder[%d] video %s: %s%s", (int) w->pid, w->t->id, clean,
						 cut || len > STDERR_LINE_MAX ? " …" : "")));
}

/* The events a transcode waits for: the latch, postmaster death, the pipes still open. */
static WaitEventSet *
make_wait_set(const vtp_child *ch, bool out_open, bool err_open)
{
	WaitEventSet *set = CreateWaitEventSet(CurrentMemoryContext, 4);

	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	if (out_open)
		AddWaitEventToSet(set, WL_SOCKET_READABLE, ch->out_fd, NULL, NULL);
	if (err_open)
		AddWaitEventToSet(set, WL_SOCKET_READABLE, ch->err_fd, NULL, NULL);
	return set;
}

/* The helper's arguments for this task. */
static char **
transcode_argv(task *t)
{
	char	  **argv = palloc0(sizeof(char *) * 40);
	int			a = 0;

	argv[a++] = task_transcoder_path();
	argv[a++] = "--sandbox";
	argv[a++] = vtp_sandbox == VTP_SANDBOX_BEST_EFFORT ? "best_effort" : "required";
	argv[a++] = "--input";
	argv[a++] = t->source;
	argv[a++] = "--outdir";
	argv[a++] = t->dir;
	argv[a++] = "--renditions";
	argv[a++] = pstrdup(vtp_renditions);
	argv[a++] = "--preset";
	argv[a++] = pstrdup(vtp_x264_preset);
	argv[a++] = "--crf";
	argv[a++] = psprintf("%g", vtp_x264_crf);
	argv[a++] = "--hd-preset";
	argv[a++] = pstrdup(vtp_x264_hd_preset);
	argv[a++] = "--hd-crf";
	argv[a++] = psprintf("%g", vtp_x264_hd_crf);
	argv[a++] = "--threads";
	argv[a++] = psprintf("%d", vtp_transcode_threads);
	argv[a++] = "--max-width";
	argv[a++] = psprintf("%d", vtp_max_width);
	argv[a++] = "--max-height";
	argv[a++] = psprintf("%d", vtp_max_height);
	argv[a++] = "--max-duration";
	argv[a++] = psprintf("%d", vtp_max_duration_s);
	argv[a++] = "--max-streams";
	argv[a++] = psprintf("%d", vtp_max_streams);
	argv[a] = NULL;
	return argv;
}

/* Stop the helper's group and say why the attempt ends. */
static void
end_helper(vtp_child *ch, watch *w, WaitEventSet *set)
{
	vtp_child_stop(ch, 3000);
	if (set)
		FreeWaitEventSet(set);
	w->t->child_pid = 0;
	vtp_slot_progress(w->t->progress, 0);
	if (w->err_lines > STDERR_LINES_MAX)
		ereport(LOG, (errmsg("vtp transcoder[%d] video %s: … %d more stderr lines suppressed",
							 (int) w->pid, w->t->id, w->err_lines - STDERR_LINES_MAX)));
}

/* Copy the checked plan and renditions into the task. */
static void
take_renditions(task *t, const report_state *rs)
{
	int			i;

	t->nr = 0;
	for (i = 0; i < rs->nrungs && i < LADDER_MAX_RUNGS; i++)
	{
		const report_rung *g = &rs->rungs[i];
		vtp_rendition *r = &t->r[t->nr];

		memset(r, 0, sizeof(*r));
		strlcpy(r->name, g->name, sizeof(r->name));
		snprintf(r->file, sizeof(r->file), "%s.mp4", g->name);
		r->width = g->width;
		r->height = g->height;
		r->bytes = g->bytes;
		r->bitrate = g->bitrate;
		r->duration = g->duration;
		t->maxrate[t->nr] = g->maxrate;
		t->nr++;
	}
}

/*
 * What the helper may hold while it runs, checked about once a second: the
 * bytes and files in its scratch directory (its source aside) within what its
 * plan allows — the renditions' caps (transfer.c) and 64 MB of slack — and
 * its threads within what its decoders and encoders use (a few per core per
 * rung). Nothing else bounds them before it exits: a compromised helper
 * could fill the data directory's disk, or take every process slot of the
 * server's user with threads. False, with why, when it went past.
 */
static bool
police_helper(task *t, const watch *w, char *why, size_t whylen)
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
				cpus = vtp_transcode_threads > 0 ? vtp_transcode_threads : (int) sysconf(_SC_NPROCESSORS_ONLN),
				i;
	char		path[64],
				line[128];
	FILE	   *f;

	for (i = 0; i < w->rs.nrungs; i++)
		budget += (double) task_rendition_cap(w->rs.rungs[i].maxrate, w->rs.duration);
	max_files = w->rs.nrungs + 4;
	d = opendir(t->dir);
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

/* Run the helper for this task and judge how it ended. */
task_outcome
task_transcode(task *t)
{
	vtp_child	ch;
	vtp_child_limits lim;
	char		how[128],
				err[256];
	watch		w;
	linebuf		out,
				errb;
	bool		out_eof = false,
				err_eof = false;
	time_t		started = time(NULL),
				reaped_at = 0,
				policed_at = 0;
	WaitEventSet *set;
	WaitEvent	events[4];
	task_outcome result;

	memset(&w, 0, sizeof(w));
	w.t = t;
	if (report_init(&w.rs, vtp_renditions, true, vtp_max_width, vtp_max_height,
					vtp_max_duration_s, err, sizeof(err)) != 0)
	{
		task_set_error(t, "bad_plan", "vtp.renditions: %s", err);
		return TASK_PERMANENT;
	}
	linebuf_init(&out, palloc(REPORT_MAX_LINE + 1), REPORT_MAX_LINE + 1);
	linebuf_init(&errb, palloc(STDERR_LINE_MAX + 1), STDERR_LINE_MAX + 1);

	lim.nice = vtp_transcode_nice;
	lim.cpu_seconds = (long) vtp_transcode_timeout_s * 4;	/* threads burn CPU faster than the clock */
	lim.memory_mb = vtp_transcode_memory_mb;
	lim.file_mb = (long) vtp_max_source_size_mb * 4;	/* no rendition is larger (transfer.c's cap) */
	vtp_child_start(&ch, transcode_argv(t), &lim);
	w.pid = ch.pid;
	t->child_pid = ch.pid;
	vtp_slot_state("transcoding", t->id, t->attempts);
	vtp_slot_progress(0, ch.pid);
	ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: transcoder pid %d started",
						 t->id, t->attempts, (int) ch.pid)));
	set = make_wait_set(&ch, true, true);

	/* until the helper is gone and its report pipe closed */
	while (!out_eof || !ch.reaped)
	{
		bool		was_out = out_eof,
					was_err = err_eof;

		(void) WaitEventSetWait(set, out_eof ? 100 : 1000, events, lengthof(events), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		if (!out_eof)
			out_eof = !linebuf_read(ch.out_fd, &out, on_report, &w);
		if (!err_eof)
			err_eof = !linebuf_read(ch.err_fd, &errb, on_stderr, &w);
		if (out_eof != was_out || err_eof != was_err)
		{
			FreeWaitEventSet(set);
			set = make_wait_set(&ch, !out_eof, !err_eof);
		}
		if (w.progressed)
		{
			w.progressed = false;
			vtp_worker_activity("transcoding %s: %.0f%%", t->id, t->progress);
			vtp_slot_progress(t->progress, t->child_pid);
		}
		if (w.violated)
		{
			end_helper(&ch, &w, set);
			task_set_error(t, "helper_protocol", "the transcoder broke the report protocol: %s", w.rs.violation);
			ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: %s", t->id, t->attempts, t->err_msg)));
			return TASK_PERMANENT;
		}
		if (!ch.reaped && time(NULL) != policed_at)
		{
			policed_at = time(NULL);
			if (!police_helper(t, &w, err, sizeof(err)))
			{
				end_helper(&ch, &w, set);
				task_set_error(t, "helper_limit", "the transcoder went past its limits: %s", err);
				ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: %s", t->id, t->attempts, t->err_msg)));
				return TASK_PERMANENT;
			}
		}
		if (ShutdownRequestPending)
		{
			end_helper(&ch, &w, set);
			return TASK_SHUTDOWN;
		}
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (time(NULL) - started > vtp_transcode_timeout_s)
		{
			end_helper(&ch, &w, set);
			task_set_error(t, "timeout", "the transcode took longer than vtp.transcode_timeout (%d s)",
						   vtp_transcode_timeout_s);
			return TASK_PERMANENT;
		}
		if (!task_heartbeat(t, false))
		{
			/* cancelled, deleted or taken over: nothing more to do here */
			end_helper(&ch, &w, set);
			return TASK_LOST;
		}
		if (!ch.reaped && vtp_child_poll(&ch))
			reaped_at = time(NULL);
		if (ch.reaped && !out_eof && time(NULL) - reaped_at > 2)
			break;				/* gone, its group killed, yet the pipe stays open: enough */
	}
	/* the helper is gone; its report pipe is closed */
	end_helper(&ch, &w, set);
	vtp_child_describe(&ch, how, sizeof(how));

	if (WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 0)
	{
		if (report_complete(&w.rs))
		{
			take_renditions(t, &w.rs);
			result = TASK_OK;
		}
		else
		{
			task_set_error(t, "helper_protocol", "the transcoder exited 0 without %s",
						   w.rs.done ? "every planned rendition" : "its done line");
			result = TASK_PERMANENT;
		}
	}
	else if (WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 2)
	{
		if (t->err_code[0] == '\0')
			task_set_error(t, "bad_media", "the transcoder rejected the source (%s)", how);
		result = TASK_PERMANENT;
	}
	else if (WIFSIGNALED(ch.status) && WTERMSIG(ch.status) == SIGXFSZ)
	{
		/* RLIMIT_FSIZE: no rendition of a source vtp accepts is that large */
		task_set_error(t, "helper_limit", "the transcoder went past its limits: it tried to write a file "
					   "larger than %ld MB (4 x vtp.max_source_size) and was stopped (%s)",
					   (long) vtp_max_source_size_mb * 4, how);
		result = TASK_PERMANENT;
	}
	else
	{
		/* a crash, a limit, an internal error: maybe not the video's fault */
		if (t->err_code[0] == '\0' || WIFSIGNALED(ch.status))
		{
			char		said[sizeof(t->err_msg)];

			strlcpy(said, t->err_msg, sizeof(said));	/* err_msg is rewritten below */
			task_set_error(t, "transcoder_crashed", "the transcoder ended abnormally (%s)%s%s", how,
						   said[0] ? ": " : "", said);
		}
		result = TASK_TRANSIENT;
	}
	ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: transcoder %s, %d rendition(s), %.1f CPU s",
						 t->id, t->attempts, how, t->nr, t->cpu_seconds)));
	return result;
}
