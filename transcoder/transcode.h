/*
 * transcode.h — the vtp-transcode helper: the only vtp code that runs libav
 * on untrusted media. The transcode worker fork+execs it with a source file
 * and an output directory; it reports JSON lines on stdout and exits
 * 0 (done), 2 (the media is unusable: permanent) or 3 (anything else).
 */
#ifndef VTP_TRANSCODE_H
#define VTP_TRANSCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../src/ladder.h"

#define EXIT_MEDIA 2
#define EXIT_INTERNAL 3

typedef struct tc_options
{
	const char *input;
	const char *outdir;
	const char *renditions;
	const char *preset;			/* rungs below 1080p */
	double		crf;
	const char *hd_preset;		/* rungs of 1080p and above, where the rate cap binds */
	double		hd_crf;
	int			threads;
	int			max_width;
	int			max_height;
	double		max_duration;	/* seconds */
	int			max_streams;
	int			audio_bitrate;
} tc_options;

typedef struct tc_probe
{
	int			width;
	int			height;
	int			rotation;
	double		duration;
	double		fps_num;
	double		fps_den;
	int64_t		video_bitrate;
	int			interlaced;
	int			hdr;			/* PQ or HLG transfer: tone-mapped to SDR */
	int			has_audio;
	int			audio_stream;	/* index of the audio stream used, -1 if none */
	int			audio_channels;
	const char *video_codec;
	const char *pix_fmt;
} tc_probe;

/* Report helpers (stdout JSON lines). */
extern void tc_report_error(const char *code, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void tc_report_progress(double percent, double speed, double eta_seconds);

/* Runs the whole transcode; returns an exit code. */
extern int	tc_run(const tc_options *opt);

/*
 * The sandbox (sandbox.c): seccomp refuses sockets, exec and ptrace;
 * Landlock, where the kernel has it, limits the file system to reading the
 * source and writing the output directory. 0, or -1 with err.
 */
extern int	tc_sandbox(const char *input, const char *outdir, bool *landlocked, char *err, size_t errlen);
extern int	tc_check_sandbox(const char *input, const char *outdir);

#endif
