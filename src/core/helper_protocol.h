/*
 * helper_protocol.h — the contract between the vtp-transcode helper
 * (transcoder/, which writes it) and the job engine (src/job/helper.c and
 * src/core/report*.c, which check it), written once: the exit codes, the
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
 * Bytes of an error message the helper formats (before JSON escaping): more
 * than the reader keeps, since the reader drops control bytes before it
 * cuts; at most 6 bytes each once escaped, far inside VTP_HELPER_MAX_LINE.
 */
#define VTP_HELPER_SENT_MESSAGE 1024

/*
 * The error codes, the complete list (transcoder/helper.h says when each is
 * used; the reader accepts only these). Exit VTP_HELPER_EXIT_INTERNAL for
 * the first two, VTP_HELPER_EXIT_MEDIA for the rest.
 */
#define VTP_HELPER_ERR_SANDBOX_UNAVAILABLE "sandbox_unavailable"
#define VTP_HELPER_ERR_INTERNAL "internal"
#define VTP_HELPER_ERR_EMPTY "empty"
#define VTP_HELPER_ERR_UNREADABLE "unreadable"
#define VTP_HELPER_ERR_TOO_LARGE "too_large"
#define VTP_HELPER_ERR_TOO_MANY_STREAMS "too_many_streams"
#define VTP_HELPER_ERR_TOO_LONG "too_long"
#define VTP_HELPER_ERR_NO_VIDEO "no_video"
#define VTP_HELPER_ERR_UNSUPPORTED_CODEC "unsupported_codec"
#define VTP_HELPER_ERR_BAD_PLAN "bad_plan"
#define VTP_HELPER_ERR_NO_FRAMES "no_frames"
#define VTP_HELPER_ERR_TRUNCATED "truncated"

/* All of them, as the initialiser of a const char *[] */
#define VTP_HELPER_ERROR_CODES \
	VTP_HELPER_ERR_SANDBOX_UNAVAILABLE, VTP_HELPER_ERR_INTERNAL, VTP_HELPER_ERR_EMPTY, \
	VTP_HELPER_ERR_UNREADABLE, VTP_HELPER_ERR_TOO_LARGE, VTP_HELPER_ERR_TOO_MANY_STREAMS, \
	VTP_HELPER_ERR_TOO_LONG, VTP_HELPER_ERR_NO_VIDEO, VTP_HELPER_ERR_UNSUPPORTED_CODEC, \
	VTP_HELPER_ERR_BAD_PLAN, VTP_HELPER_ERR_NO_FRAMES, VTP_HELPER_ERR_TRUNCATED

#endif
