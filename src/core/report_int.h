/*
 * report_int.h — between the files of the helper-report reader (report.c,
 * report_events.c, report_text.c): the per-event checks report_feed
 * dispatches to, how a violation is recorded, how a name is quoted in one.
 * Not for use outside the reader.
 */
#ifndef VTP_REPORT_INT_H
#define VTP_REPORT_INT_H

#include "helper_protocol.h"
#include "json.h"
#include "report.h"

/* The longest duration any line may state (seconds). */
#define REPORT_MAX_SECONDS (86400.0 * 30)

/* Record the first violation ("report line N: why"); returns REPORT_VIOLATION. */
extern report_event report_violate(report_state *st, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* s cleaned and cut to fit buf (len bytes), to quote in a reason; returns buf. */
extern const char *report_quoted(const char *s, char *buf, size_t len);

/* The sandbox line: first, once, landlock true/false. */
extern report_event report_on_sandbox(report_state *st, const json_value *j);

/* The probe: once, after the sandbox line if one is required, sizes bounded. */
extern report_event report_on_probe(report_state *st, const json_value *j);

/* The plan: once, after the probe, exactly the worker's own plan for that probe. */
extern report_event report_on_plan(report_state *st, const json_value *j);

/* Progress: after the plan; numbers out of range ignored. */
extern report_event report_on_progress(report_state *st, const json_value *j);

/* A rendition: planned, once, file <name>.mp4, the planned size, numbers bounded. */
extern report_event report_on_rendition(report_state *st, const json_value *j);

/* done: every planned rendition reported, times bounded. */
extern report_event report_on_done(report_state *st, const json_value *j);

/* error: a known code; the message cleaned and cut. */
extern report_event report_on_error(report_state *st, const json_value *j);

#endif
