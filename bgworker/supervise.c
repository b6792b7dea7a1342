/*
 * supervise.c — run the transcoder child for one task and watch it: its
 * JSON-line reports arrive through a pipe waited on with WaitLatchOrSocket
 * together with the latch, so SIGTERM, SIGHUP, heartbeats and the wall-clock
 * timeout are all handled while it runs. A crash of the child is an outcome,
 * never a crash of the worker.
 */
#include "task.h"

#include <errno.h>
#include <signal.h>
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
#include "../src/json.h"

#define MAX_LINE (64 * 1024)

void
task_set_error(task *t, const char *code, const char *fmt,...)
{
	va_list		ap;

	strlcpy(t->err_code, code, sizeof(t->err_code));
	va_start(ap, fmt);
	vsnprintf(t->err_msg, sizeof(t->err_msg), fmt, ap);
	va_end(ap);
}

/* One report line from the child. */
static void
handle_line(task *t, const char *line, bool *done)
{
	json_value *j = json_parse(line, strlen(line), NULL, 0);
	const char *ev = json_get_str(j, "event");
	double		d;
	int64_t		n;

	if (ev == NULL)
	{
		ereport(LOG, (errmsg("vtp transcoder said: %.200s", line)));
		json_free(j);
		return;
	}
	/* the child runs on hostile media: every number it reports is bounded here */
	if (strcmp(ev, "progress") == 0 && json_get_num(j, "percent", &d) && d >= 0 && d <= 100)
	{
		t->progress = d;
		t->eta_seconds = json_get_num(j, "eta_seconds", &d) && d >= 0 && d <= 86400 * 30 ? d : -1;
		vtp_worker_activity("transcoding %s: %.0f%%", t->id, t->progress);
		vtp_slot_progress(t->progress, t->child_pid);
	}
	else if (strcmp(ev, "probe") == 0 || strcmp(ev, "plan") == 0)
	{
		vbuf_puts(&t->facts, t->facts.len ? "," : "{");
		vbuf_json_string(&t->facts, ev);
		vbuf_putc(&t->facts, ':');
		vbuf_puts(&t->facts, line);
		if (strcmp(ev, "plan") == 0)
		{
			vbuf_putc(&t->facts, '}');
			catalog_begin();
			catalog_set_probe(t->id, t->attempts, t->facts.data);
			catalog_commit();
		}
	}
	else if (strcmp(ev, "rendition") == 0 && t->nr < LADDER_MAX_RUNGS)
	{
		vtp_rendition *r = &t->r[t->nr];
		const char *name = json_get_str(j, "name");
		const char *file = json_get_str(j, "file");

		if (name && file && strlen(name) < sizeof(r->name) && strlen(file) < sizeof(r->file) &&
			strchr(file, '/') == NULL)
		{
			strlcpy(r->name, name, sizeof(r->name));
			strlcpy(r->file, file, sizeof(r->file));
			r->width = json_get_int(j, "width", 0, 65535, &n) ? (int) n : 0;
			r->height = json_get_int(j, "height", 0, 65535, &n) ? (int) n : 0;
			r->bytes = json_get_int(j, "bytes", 0, INT64_C(1) << 53, &n) ? n : 0;
			r->bitrate = json_get_int(j, "bitrate", 0, INT64_C(1) << 40, &n) ? n : 0;
			r->duration = json_get_num(j, "duration", &d) && d >= 0 && d <= 86400 * 30 ? d : 0;
			t->nr++;
		}
	}
	else if (strcmp(ev, "done") == 0)
	{
		*done = true;
		if (json_get_num(j, "cpu_seconds", &d) && d >= 0 && d < 1e9)
			t->cpu_seconds = d;
		if (json_get_num(j, "wall_seconds", &d) && d >= 0 && d < 1e9)
			t->wall_seconds = d;
	}
	else if (strcmp(ev, "error") == 0)
	{
		const char *code = json_get_str(j, "code");
		const char *msg = json_get_str(j, "message");

		task_set_error(t, code ? code : "transcode_failed", "%s", msg ? msg : line);
	}
	json_free(j);
}

/* Read what is available; false at end of file. */
static bool
read_reports(task *t, vtp_child *ch, vbuf *pending, bool *done)
{
	char		buf[8192];

	for (;;)
	{
		ssize_t		n = read(ch->out_fd, buf, sizeof(buf));
		char	   *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (n == 0)
			return false;
		vbuf_append(pending, buf, (size_t) n);
		while ((nl = memchr(pending->data, '\n', pending->len)) != NULL)
		{
			size_t		linelen = (size_t) (nl - pending->data);

			*nl = '\0';
			handle_line(t, pending->data, done);
			memmove(pending->data, nl + 1, pending->len - linelen - 1);
			pending->len -= linelen + 1;
			pending->data[pending->len] = '\0';
		}
		if (pending->len > MAX_LINE)
			vbuf_reset(pending);	/* a runaway line: drop it */
	}
}

task_outcome
task_transcode(task *t)
{
	vtp_child	ch;
	vtp_child_limits lim;
	char	   *argv[32];
	int			a = 0;
	char		crf[32],
				threads[16],
				how[128];
	vbuf		pending = VBUF_INIT;
	bool		done = false,
				eof = false;
	time_t		started = time(NULL);
	task_outcome out;

	argv[a++] = psprintf("%s/vtp-transcode", pkglib_path);
	argv[a++] = "--input";
	argv[a++] = t->source;
	argv[a++] = "--outdir";
	argv[a++] = t->dir;
	argv[a++] = "--renditions";
	argv[a++] = pstrdup(vtp_renditions);
	argv[a++] = "--preset";
	argv[a++] = pstrdup(vtp_x264_preset);
	snprintf(crf, sizeof(crf), "%g", vtp_x264_crf);
	argv[a++] = "--crf";
	argv[a++] = crf;
	argv[a++] = "--hd-preset";
	argv[a++] = pstrdup(vtp_x264_hd_preset);
	argv[a++] = "--hd-crf";
	argv[a++] = psprintf("%g", vtp_x264_hd_crf);
	snprintf(threads, sizeof(threads), "%d", vtp_transcode_threads);
	argv[a++] = "--threads";
	argv[a++] = threads;
	argv[a++] = "--max-width";
	argv[a++] = psprintf("%d", vtp_max_width);
	argv[a++] = "--max-height";
	argv[a++] = psprintf("%d", vtp_max_height);
	argv[a++] = "--max-duration";
	argv[a++] = psprintf("%d", vtp_max_duration_s);
	argv[a++] = "--max-streams";
	argv[a++] = psprintf("%d", vtp_max_streams);
	argv[a] = NULL;

	lim.nice = vtp_transcode_nice;
	lim.cpu_seconds = (long) vtp_transcode_timeout_s * 4;	/* threads burn CPU faster than the clock */
	lim.memory_mb = vtp_transcode_memory_mb;
	vtp_child_start(&ch, argv, &lim);
	t->child_pid = ch.pid;
	vtp_slot_state("transcoding", t->id, t->attempts);
	vtp_slot_progress(0, ch.pid);
	ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: transcoder pid %d started",
						 t->id, t->attempts, (int) ch.pid)));

	while (!eof)
	{
		int			rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
										   ch.out_fd, 1000, PG_WAIT_EXTENSION);

		ResetLatch(MyLatch);
		if (rc & WL_SOCKET_READABLE)
			eof = !read_reports(t, &ch, &pending, &done);
		if (ShutdownRequestPending)
		{
			vtp_child_stop(&ch, 3000);
			vbuf_free(&pending);
			return TASK_SHUTDOWN;
		}
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (time(NULL) - started > vtp_transcode_timeout_s)
		{
			vtp_child_stop(&ch, 3000);
			vbuf_free(&pending);
			task_set_error(t, "timeout", "the transcode took longer than vtp.transcode_timeout (%d s)",
						   vtp_transcode_timeout_s);
			return TASK_PERMANENT;
		}
		if (!task_heartbeat(t, false))
		{
			/* cancelled, deleted or taken over: nothing more to do here */
			vtp_child_stop(&ch, 3000);
			vbuf_free(&pending);
			t->child_pid = 0;
			vtp_slot_progress(t->progress, 0);
			return TASK_LOST;
		}
	}
	/* the pipe is closed: the child is exiting */
	vtp_child_stop(&ch, 10000);
	t->child_pid = 0;
	vtp_slot_progress(t->progress, 0);
	vbuf_free(&pending);
	vtp_child_describe(&ch, how, sizeof(how));

	if (WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 0 && done && t->nr > 0)
		out = TASK_OK;
	else if (WIFEXITED(ch.status) && WEXITSTATUS(ch.status) == 2)
	{
		if (t->err_code[0] == '\0')
			task_set_error(t, "bad_media", "the transcoder rejected the source (%s)", how);
		out = TASK_PERMANENT;
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
		out = TASK_TRANSIENT;
	}
	ereport(LOG, (errmsg("vtp transcode: video %s attempt %d: transcoder %s, %d rendition(s), %.1f CPU s",
						 t->id, t->attempts, how, t->nr, t->cpu_seconds)));
	return out;
}
