/*
 * sandbox_run.c — the check a transcode worker runs before it takes tasks
 * (at start, on reload, every minute while it fails): the helper's
 * --check-sandbox in the worker's scratch, and what its one line says:
 * Landlock in force (required by vtp.sandbox = 'required'), its ABI, the
 * seccomp filter. The answer is what vtp_workers.sandbox shows.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "job_int.h"
#include "json.h"
#include "linebuf.h"
#include "report.h"

/* Keep a cleaned copy of the check's first stdout line. */
static void
on_check_line(void *arg, const char *line, size_t len, bool cut)
{
	vbuf	   *first = arg;

	if (first->len == 0 && !cut && len > 0)
		vbuf_append(first, line, len);
}

/* Discard the check's stderr. */
static void
on_check_stderr(void *arg, const char *line, size_t len, bool cut)
{
}

/* Read what the sandbox check printed into state/why; true if transcoding may go on. */
static bool
judge_sandbox(const char *line, bool required, char *state, size_t statelen, char *why, size_t whylen)
{
	json_value *j = json_parse(line, strlen(line), NULL, 0);
	const char *ev = json_get_str(j, "event");
	const json_value *ll = json_get(j, "landlock");
	const char *seccomp = json_get_str(j, "seccomp");
	char		msg[200];
	int64_t		abi = 0;
	bool		ok = false;

	if (ev && strcmp(ev, "error") == 0)
	{
		const char *m = json_get_str(j, "message");

		report_clean_text(msg, sizeof(msg), m ? m : "", m ? strlen(m) : 0);
		snprintf(why, whylen, "the transcoder refuses to run: %s", msg);
	}
	else if (ev == NULL || strcmp(ev, "sandbox") != 0 || ll == NULL || ll->type != JSON_BOOL)
		snprintf(why, whylen, "the transcoder's sandbox check printed no sandbox line");
	else if (!ll->boolean && required)
		snprintf(why, whylen, "the kernel enforces no Landlock, which vtp.sandbox = 'required' needs");
	else
	{
		ok = true;
		(void) json_get_int(j, "landlock_abi", 0, 1000, &abi);
		report_clean_text(msg, 32, seccomp ? seccomp : "filter", seccomp ? strlen(seccomp) : 6);
		if (ll->boolean)
			snprintf(state, statelen, "landlock abi %d, seccomp %s", (int) abi, msg);
		else
			snprintf(state, statelen, "best_effort: no landlock, seccomp %s", msg);
	}
	if (!ok)
		snprintf(state, statelen, "unavailable: %s", why);
	json_free(j);
	return ok;
}

/* Run the check in dir and keep the first line it prints in first; false if it could not start. */
static bool
run_check(job_host *h, const char *dir, char *input, vbuf *first, char *why, size_t whylen)
{
	vtp_child	ch;
	vtp_child_limits lim;
	char	   *argv[12];
	int			a = 0,
				waited = 0;
	bool		out_eof = false,
				err_eof = false;
	linebuf		out,
				errb;
	char		sink[512],
				err[256];
	char	   *outbuf = malloc(REPORT_MAX_LINE + 1);

	argv[a++] = h->set->transcoder_path;
	argv[a++] = "--check-sandbox";
	argv[a++] = "--sandbox";
	argv[a++] = h->set->sandbox_required ? "required" : "best_effort";
	argv[a++] = "--input";
	argv[a++] = input;
	argv[a++] = "--outdir";
	argv[a++] = (char *) dir;
	argv[a] = NULL;
	lim.nice = h->set->nice;
	lim.cpu_seconds = 10;
	lim.memory_mb = h->set->memory_mb;
	lim.file_mb = 1;
	if (outbuf == NULL || vtp_child_start(&ch, argv, &lim, err, sizeof(err)) != 0)
	{
		snprintf(why, whylen, "could not run the transcoder's sandbox check: %s", outbuf ? err : "out of memory");
		free(outbuf);
		return false;
	}
	linebuf_init(&out, outbuf, REPORT_MAX_LINE + 1);
	linebuf_init(&errb, sink, sizeof(sink));
	/* a few seconds at most; the helper only tries a few system calls */
	while ((!out_eof || !vtp_child_poll(&ch)) && waited < 10000 && !h->stopping(h->host))
	{
		h->wait(h->host, 100, out_eof ? -1 : ch.out_fd, -1);
		waited += 100;			/* at most: wake-ups come sooner */
		if (!out_eof)
			out_eof = !linebuf_read(ch.out_fd, &out, on_check_line, first);
		if (!err_eof)
			err_eof = !linebuf_read(ch.err_fd, &errb, on_check_stderr, NULL);
	}
	vtp_child_stop(&ch, 1000);
	free(outbuf);
	return true;
}

/* Run the helper's --check-sandbox in dir and judge what it says. */
bool
job_check_sandbox(job_host *h, const char *dir, char *state, size_t statelen, char *why, size_t whylen)
{
	char		input[1100];
	int			fd;
	vbuf		first = VBUF_INIT;
	bool		ok;

	why[0] = state[0] = '\0';
	snprintf(input, sizeof(input), "%s/check-input", dir);
	fd = open(input, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
	{
		snprintf(why, whylen, "could not create %s: %m", input);
		snprintf(state, statelen, "unavailable: %s", why);
		return false;
	}
	close(fd);
	if (!run_check(h, dir, input, &first, why, whylen))
	{
		unlink(input);
		snprintf(state, statelen, "unavailable: %s", why);
		return false;
	}
	unlink(input);
	ok = judge_sandbox(first.len ? first.data : "", h->set->sandbox_required, state, statelen, why, whylen);
	vbuf_free(&first);
	return ok;
}
