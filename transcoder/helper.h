/*
 * helper.h — the vtp-transcode helper: the only vtp code that runs libav
 * on untrusted media. The transcode worker fork+execs it with a source file
 * and an output directory; it reports JSON lines on stdout and exits
 * 0 (done), 2 (the media is unusable: permanent) or 3 (anything else).
 * The codes, event names, bounds and error codes are the job engine's too:
 * they are written once, in src/core/helper_protocol.h (VTP_HELPER_*).
 *
 * Its report, one JSON object a line: first exactly one
 *   {"event":"sandbox","mode":"required"|"best_effort","landlock_abi":N,"landlock":B,"seccomp":"allowlist"}
 * once the sandbox is in force, before the source is opened; then exactly one
 * probe line, one plan line, progress lines, one rendition line per planned
 * rung (<name>.mp4 in the output directory), then done — or, at any point,
 * one error line {"event":"error","code":C,"message":M} and the exit code.
 *
 * The error codes (VTP_HELPER_ERR_*), the complete list (the worker accepts
 * only these), and when each is used:
 *   sandbox_unavailable  the sandbox could not be entered (exit 3)
 *   internal             a failure of the helper itself (exit 3)
 *   empty                the source has 0 bytes
 *   unreadable           not a container vtp opens, or damaged
 *   too_large            picture over --max-width x --max-height
 *   too_many_streams     more streams than --max-streams
 *   too_long             declared duration, decoded timestamps, output
 *                        frames or a timestamp gap past --max-duration
 *   no_video             no video stream
 *   unsupported_codec    a codec outside TC_CODEC_WHITELIST
 *   bad_plan             no rendition can be planned for this source
 *   no_frames            no video frame could be decoded
 *   truncated            the video stops well before its declared duration
 * (exit 2 for every code but sandbox_unavailable and internal).
 */
#ifndef VTP_HELPER_H
#define VTP_HELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "helper_protocol.h"
#include "ladder.h"

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

/* Runs the whole transcode (pipeline.c); returns an exit code. */
extern int	tc_run(const tc_options *opt);

/*
 * The sandbox (sandbox.c): clearenv, no_new_privs, not dumpable, Landlock
 * (source read-only, output directory regular files only, no TCP, signals
 * and abstract sockets scoped) and a seccomp allowlist (threads only,
 * signals only to itself). --sandbox required refuses to run without
 * Landlock; best_effort runs with seccomp alone and says so.
 */
typedef enum tc_sandbox_mode
{
	TC_SANDBOX_REQUIRED,
	TC_SANDBOX_BEST_EFFORT
} tc_sandbox_mode;

typedef struct tc_sandbox_info
{
	tc_sandbox_mode mode;
	int			landlock_abi;	/* the running kernel's, 0 when absent */
	bool		landlock;		/* the Landlock ruleset is in force */
} tc_sandbox_info;

/* What --check-sandbox found: "allowed", "refused" or an errno's words, each. */
typedef struct tc_sandbox_check
{
	const char *socket;
	const char *io_uring;
	const char *exec;
	const char *fork;
	const char *signal_parent;
	const char *read_other_file;
	const char *read_source;
	const char *write_outdir;
} tc_sandbox_check;

/* "required" / "best_effort" → *mode; -1 if neither. */
extern int	tc_sandbox_parse_mode(const char *s, tc_sandbox_mode *mode);

/* Enter the sandbox for good: 0 with *info, or -1 with err (sandbox_unavailable). */
extern int	tc_sandbox_enter(const char *input, const char *outdir, tc_sandbox_mode mode,
							 tc_sandbox_info *info, char *err, size_t errlen);

/* --check-sandbox (sandbox_check.c): enter, try, print one line; an exit code. */
extern int	tc_check_sandbox(const char *input, const char *outdir, tc_sandbox_mode mode);

/*
 * The report's writers (report_out.c), the only code that prints to stdout:
 * one JSON line each, in the protocol of helper_protocol.h.
 */

/* One error line; code is a VTP_HELPER_ERR_*, the message cut at VTP_HELPER_SENT_MESSAGE. */
extern void tc_report_error(const char *code, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* One progress line; eta_seconds < 0: not known yet (left out). */
extern void tc_report_progress(double percent, double speed, double eta_seconds);

/* The first report line: the sandbox in force. */
extern void tc_report_sandbox(const tc_sandbox_info *info);

/* --check-sandbox's one line: the sandbox in force and what it refused. */
extern void tc_report_sandbox_check(const tc_sandbox_info *info, const tc_sandbox_check *c);

/* The probe line and the plan line, together. */
extern void tc_report_probe_plan(const tc_probe *probe, const ladder_plan *plan);

/* One rendition line: rung r written, bytes long, duration seconds, frames frames. */
extern void tc_report_rendition(const ladder_rung *r, int64_t bytes, double duration, int64_t frames);

/* The done line, the last. */
extern void tc_report_done(double cpu_seconds, double wall_seconds, int decode_errors);

#endif
