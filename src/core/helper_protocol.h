/*
 * helper_protocol.h — the contract between the vtp-transcode helper
 * (transcoder/, which writes it) and the job engine (src/job/helper.c and
 * src/core/report.c, which check it), written once: the exit codes, the
 * event names of the JSON-line report, its bounds and the error codes.
 * Both programs include this header; neither spells a literal of its own.
 */
#ifndef VTP_HELPER_PROTOCOL_H
#define VTP_HELPER_PROTOCOL_H

/* How the helper exits. */
#define VTP_HELPER_EXIT_DONE 0		/* every planned rendition written, "done" printed */
#define VTP_HELPER_EXIT_MEDIA 2		/* the media is unusable: the video fails for good */
#define VTP_HELPER_EXIT_INTERNAL 3	/* anything else (sandbox, libav, memory): try again */

/* The events of its report, one JSON object a line ({"event": <name>, ...}), in this order. */
#define VTP_HELPER_EV_SANDBOX "sandbox"	/* exactly one, first, once the sandbox is in force */
#define VTP_HELPER_EV_PROBE "probe"		/* exactly one: the facts of the source */
#define VTP_HELPER_EV_PLAN "plan"		/* exactly one: the rungs it will make */
#define VTP_HELPER_EV_PROGRESS "progress"	/* any number */
#define VTP_HELPER_EV_RENDITION "rendition" /* one per planned rung, file <name>.mp4 */
#define VTP_HELPER_EV_DONE "done"		/* last, on success */
#define VTP_HELPER_EV_ERROR "error"		/* at any point, then the exit code */

/* Bounds the reader enforces (a longer line is a protocol violation). */
#define VTP_HELPER_MAX_LINE (64 * 1024)
#define VTP_HELPER_MAX_MESSAGE 512	/* bytes of an error message kept */

/*
 * The error codes, the complete list (transcoder/helper.h says when each is
 * used; the reader accepts only these). Exit VTP_HELPER_EXIT_INTERNAL for
 * the first two, VTP_HELPER_EXIT_MEDIA for the rest.
 */
#define VTP_HELPER_ERROR_CODES \
	"sandbox_unavailable", "internal", "empty", "unreadable", "too_large", \
	"too_many_streams", "too_long", "no_video", "unsupported_codec", \
	"bad_plan", "no_frames", "truncated"

#endif
