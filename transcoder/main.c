/*
 * main.c — vtp-transcode's command line: parse the flags, then call into the
 * rest (sandbox.c, sandbox_check.c, pipeline.c; the report lines are
 * report_out.c's).
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helper.h"

/* A bad command line: internal (exit 3). */
static void
usage(void)
{
	fprintf(stderr, "usage: vtp-transcode --input FILE --outdir DIR [--renditions 480p,720p,1080p] "
			"[--preset veryfast] [--crf 21] [--hd-preset faster] [--hd-crf 22] [--threads N] [--max-width N] [--max-height N] "
			"[--max-duration SECONDS] [--max-streams N] [--sandbox required|best_effort]\n");
	exit(VTP_HELPER_EXIT_INTERNAL);
}

/* One flag and its value into opt or mode; false if it is not one of ours. */
static bool
parse_flag(tc_options *opt, tc_sandbox_mode *mode, const char *a, const char *v)
{
	if (strcmp(a, "--input") == 0)
		opt->input = v;
	else if (strcmp(a, "--outdir") == 0)
		opt->outdir = v;
	else if (strcmp(a, "--renditions") == 0)
		opt->renditions = v;
	else if (strcmp(a, "--preset") == 0)
		opt->preset = v;
	else if (strcmp(a, "--crf") == 0)
		opt->crf = atof(v);
	else if (strcmp(a, "--hd-preset") == 0)
		opt->hd_preset = v;
	else if (strcmp(a, "--hd-crf") == 0)
		opt->hd_crf = atof(v);
	else if (strcmp(a, "--threads") == 0)
		opt->threads = atoi(v);
	else if (strcmp(a, "--max-width") == 0)
		opt->max_width = atoi(v);
	else if (strcmp(a, "--max-height") == 0)
		opt->max_height = atoi(v);
	else if (strcmp(a, "--max-duration") == 0)
		opt->max_duration = atof(v);
	else if (strcmp(a, "--max-streams") == 0)
		opt->max_streams = atoi(v);
	else if (strcmp(a, "--sandbox") == 0)
		return tc_sandbox_parse_mode(v, mode) == 0;
	else
		return false;
	return true;
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
		if (strcmp(argv[i], "--check-sandbox") == 0)
			check_sandbox = true;
		else if (i + 1 < argc && parse_flag(&opt, &mode, argv[i], argv[i + 1]))
			i++;
		else
			usage();
	}
	if (opt.input == NULL || opt.outdir == NULL)
		usage();
	if (check_sandbox)
		return tc_check_sandbox(opt.input, opt.outdir, mode);
	if (tc_sandbox_enter(opt.input, opt.outdir, mode, &info, err, sizeof(err)) != 0)
	{
		tc_report_error(VTP_HELPER_ERR_SANDBOX_UNAVAILABLE, "%s", err);
		return VTP_HELPER_EXIT_INTERNAL;
	}
	tc_report_sandbox(&info);
	return tc_run(&opt);
}
