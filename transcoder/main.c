/*
 * main.c — vtp-transcode's command line and reporting.
 *
 *   vtp-transcode --input FILE --outdir DIR [--renditions 480p,720p,1080p]
 *                 [--preset veryfast] [--crf 21] [--threads 0]
 *                 [--hd-preset faster] [--hd-crf 22]    (rungs of 1080p and up)
 *                 [--max-width 7680] [--max-height 4320]
 *                 [--max-duration 14400] [--max-streams 16]
 *                 [--sandbox required|best_effort]
 *   vtp-transcode --check-sandbox --input FILE --outdir DIR [--sandbox ...]
 *                 (prints what the sandbox refuses)
 *
 * The environment is cleared first thing. Before the source is opened the
 * process enters its sandbox (sandbox.c: no environment, no new privileges,
 * not dumpable; Landlock — the source read-only, regular files in the output
 * directory only, no TCP, signals and abstract sockets scoped; a seccomp
 * allowlist — threads only, signals only to itself, no sockets, io_uring,
 * exec or fork). --sandbox required (the default) refuses to run without
 * Landlock (error sandbox_unavailable, exit 3); best_effort runs with seccomp
 * alone. The first report line says which sandbox is in force.
 */
#define _GNU_SOURCE				/* clearenv */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"
#include "buf.h"

/* One error line; code is one of the list in transcode.h. */
void
tc_report_error(const char *code, const char *fmt,...)
{
	va_list		ap;
	char		msg[1024];
	vbuf		b = VBUF_INIT;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vbuf_puts(&b, "{\"event\":\"error\",\"code\":");
	vbuf_json_string(&b, code);
	vbuf_puts(&b, ",\"message\":");
	vbuf_json_string(&b, msg);
	vbuf_puts(&b, "}\n");
	fputs(b.data, stdout);
	fflush(stdout);
	vbuf_free(&b);
}

/* eta_seconds < 0: not known yet (left out). */
void
tc_report_progress(double percent, double speed, double eta_seconds)
{
	if (eta_seconds < 0)
		printf("{\"event\":\"progress\",\"percent\":%.1f,\"speed\":%.2f}\n", percent, speed);
	else
		printf("{\"event\":\"progress\",\"percent\":%.1f,\"speed\":%.2f,\"eta_seconds\":%.0f}\n",
			   percent, speed, eta_seconds);
	fflush(stdout);
}

/* A bad command line: internal (exit 3). */
static void
usage(void)
{
	fprintf(stderr, "usage: vtp-transcode --input FILE --outdir DIR [--renditions 480p,720p,1080p] "
			"[--preset veryfast] [--crf 21] [--hd-preset faster] [--hd-crf 22] [--threads N] [--max-width N] [--max-height N] "
			"[--max-duration SECONDS] [--max-streams N] [--sandbox required|best_effort]\n");
	exit(EXIT_INTERNAL);
}

/* Parse the command line, enter the sandbox, transcode. */
int
main(int argc, char **argv)
{
	tc_options	opt;
	int			i;
	bool		check_sandbox = false;
	tc_sandbox_mode mode = TC_SANDBOX_REQUIRED;
	tc_sandbox_info info;
	char		err[512];

	clearenv();					/* nothing of the server's environment, ever */
	memset(&opt, 0, sizeof(opt));
	opt.renditions = "480p,720p,1080p";
	opt.preset = "veryfast";
	opt.crf = 21;
	opt.hd_preset = "faster";
	opt.hd_crf = 22;
	opt.max_width = 7680;
	opt.max_height = 4320;
	opt.max_duration = 4 * 3600;
	opt.max_streams = 16;
	opt.audio_bitrate = 128000;

	for (i = 1; i < argc; i++)
	{
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--check-sandbox") == 0)
		{
			check_sandbox = true;
			continue;
		}
		if (v == NULL)
			usage();
		if (strcmp(a, "--input") == 0)
			opt.input = v;
		else if (strcmp(a, "--outdir") == 0)
			opt.outdir = v;
		else if (strcmp(a, "--renditions") == 0)
			opt.renditions = v;
		else if (strcmp(a, "--preset") == 0)
			opt.preset = v;
		else if (strcmp(a, "--crf") == 0)
			opt.crf = atof(v);
		else if (strcmp(a, "--hd-preset") == 0)
			opt.hd_preset = v;
		else if (strcmp(a, "--hd-crf") == 0)
			opt.hd_crf = atof(v);
		else if (strcmp(a, "--threads") == 0)
			opt.threads = atoi(v);
		else if (strcmp(a, "--max-width") == 0)
			opt.max_width = atoi(v);
		else if (strcmp(a, "--max-height") == 0)
			opt.max_height = atoi(v);
		else if (strcmp(a, "--max-duration") == 0)
			opt.max_duration = atof(v);
		else if (strcmp(a, "--max-streams") == 0)
			opt.max_streams = atoi(v);
		else if (strcmp(a, "--sandbox") == 0)
		{
			if (tc_sandbox_parse_mode(v, &mode) != 0)
				usage();
		}
		else
			usage();
		i++;
	}
	if (opt.input == NULL || opt.outdir == NULL)
		usage();
	if (check_sandbox)
		return tc_check_sandbox(opt.input, opt.outdir, mode);
	if (tc_sandbox_enter(opt.input, opt.outdir, mode, &info, err, sizeof(err)) != 0)
	{
		tc_report_error("sandbox_unavailable", "%s", err);
		return EXIT_INTERNAL;
	}
	tc_report_sandbox(&info);
	return tc_run(&opt);
}
