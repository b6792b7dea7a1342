/*
 * report.h — the worker's reader of the transcoder helper's reports (pure C,
 * no PostgreSQL). The helper runs on hostile media and may be compromised:
 * every line it prints is checked against the worker's own expectations
 * (the renditions vtp.renditions asks for, the size limits) and anything but
 * the exact protocol is a violation with a reason. The protocol's names
 * and bounds are helper_protocol.h's, shared with the helper.
 *
 *   sandbox (exactly one, first; optional until the helper prints it)
 *   probe   (exactly one)
 *   plan    (exactly one, after the probe; exactly the plan the worker's own
 *            ladder planner makes for that probe and vtp.renditions)
 *   progress*
 *   rendition (one per planned rung, file "<name>.mp4")
 *   done | error
 */
#ifndef VTP_REPORT_H
#define VTP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "helper_protocol.h"
#include "ladder.h"

#define REPORT_MAX_LINE VTP_HELPER_MAX_LINE	/* longer lines are a violation */
#define REPORT_MAX_MESSAGE VTP_HELPER_MAX_MESSAGE	/* bytes of an error message kept */

typedef enum report_event
{
	REPORT_SANDBOX,
	REPORT_PROBE,
	REPORT_PLAN,
	REPORT_PROGRESS,
	REPORT_RENDITION,
	REPORT_DONE,
	REPORT_ERROR,
	REPORT_VIOLATION			/* see report_state.violation */
} report_event;

/* What the worker expects, from its own settings. */
typedef struct report_expect
{
	char		spec[256];		/* vtp.renditions, to plan as the helper must */
	char		requested[LADDER_MAX_RUNGS][16];	/* rendition names, from vtp.renditions */
	int			nrequested;
	bool		require_sandbox_line;
	int			max_width;		/* of the source and of every rung */
	int			max_height;
	double		max_duration;	/* seconds */
} report_expect;

typedef struct report_rung
{
	char		name[16];
	int			width;
	int			height;
	int64_t		maxrate;		/* bits/s, from the plan */
	bool		reported;		/* its rendition line came */
	int64_t		bytes;			/* from the rendition line */
	int64_t		bitrate;
	double		duration;
	int64_t		frames;
} report_rung;

typedef struct report_state
{
	report_expect ex;
	int			lines;
	bool		seen_sandbox;
	bool		seen_probe;
	bool		seen_plan;
	bool		finished;		/* done or error seen: nothing may follow */
	bool		done;
	/* the sandbox line */
	char		sandbox_mode[16];
	bool		landlock;
	int			landlock_abi;
	/* the probe */
	int			width;
	int			height;
	int			rotation;
	int64_t		video_bitrate;
	double		duration;
	/* the plan: exactly what ladder_plan_make gives for the probe */
	int			nrungs;
	report_rung rungs[LADDER_MAX_RUNGS];
	int			last_rung;		/* index of the rung of the last rendition line */
	/* progress */
	double		percent;
	double		eta_seconds;	/* -1: unknown */
	/* done */
	double		cpu_seconds;
	double		wall_seconds;
	/* error: a code from the fixed list, a cleaned message */
	char		err_code[32];
	char		err_msg[REPORT_MAX_MESSAGE + 1];
	/* the first violation (then every later line is refused too) */
	char		violation[256];
} report_state;

/*
 * Start reading one helper's reports. requested is vtp.renditions
 * ("480p,720p,1080p"); -1 with a reason if it cannot be read.
 */
extern int	report_init(report_state *st, const char *requested, bool require_sandbox_line,
						int max_width, int max_height, double max_duration, char *err, size_t errlen);

/* One line (without its newline, len bytes, NUL not required). */
extern report_event report_feed(report_state *st, const char *line, size_t len);

/* At the helper's end: done seen, every planned rendition reported, no violation. */
extern bool report_complete(report_state *st);

/* Is code one of the helper's error codes? */
extern bool report_known_code(const char *code);

/*
 * Copy at most dstsize-1 bytes of src (srclen bytes) into dst as valid
 * UTF-8 without control bytes (dropped), cut at a character boundary.
 */
extern void report_clean_text(char *dst, size_t dstsize, const char *src, size_t srclen);

/*
 * The facts kept in vtp_videos.probe, as JSON made from the checked state
 * (the plan's rungs) and the known keys of the probe line (bounded numbers,
 * booleans, cleaned short strings): never the helper's own bytes.
 */
extern void report_facts_json(const report_state *st, const char *probe_line, size_t len, vbuf *out);

#endif
