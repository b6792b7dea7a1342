/*
 * report_events.c — the reader's checks of each event of the helper's
 * report (report.h lists the order): what a line must hold, within which
 * bounds, and after which others; the first thing wrong becomes the
 * state's violation. report_feed (report.c) dispatches to these.
 */
#include "report_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Record the first violation; returns REPORT_VIOLATION. */
report_event
report_violate(report_state *st, const char *fmt,...)
{
	va_list		ap;
	char		why[200];

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (st->violation[0] == '\0')
		snprintf(st->violation, sizeof(st->violation), "report line %d: %s", st->lines, why);
	return REPORT_VIOLATION;
}

/* A member as an integer within [lo, hi]; false if absent, not a number or out of range. */
static bool
get_int(const json_value *j, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	const json_value *v = json_get(j, key);

	return v && v->type == JSON_NUMBER && json_get_int(j, key, lo, hi, out) && v->num == (double) *out;
}

/* A member as a number within [lo, hi]. */
static bool
get_num(const json_value *j, const char *key, double lo, double hi, double *out)
{
	const json_value *v = json_get(j, key);

	if (v == NULL || v->type != JSON_NUMBER)
		return false;
	*out = v->num;
	return *out >= lo && *out <= hi;
}

/* The sandbox line: first, once, landlock true/false. */
report_event
report_on_sandbox(report_state *st, const json_value *j)
{
	const json_value *ll = json_get(j, "landlock");
	const char *mode = json_get_str(j, "mode");
	int64_t		abi = 0;
	char		q[40];

	if (st->seen_sandbox || st->lines != 1)
		return report_violate(st, "a sandbox line that is not the first line");
	if (ll == NULL || ll->type != JSON_BOOL)
		return report_violate(st, "a sandbox line without landlock true/false");
	if (json_get(j, "landlock_abi") && !get_int(j, "landlock_abi", 0, 1000, &abi))
		return report_violate(st, "a sandbox line with landlock_abi out of bounds");
	if (mode && strcmp(mode, "required") != 0 && strcmp(mode, "best_effort") != 0)
		return report_violate(st, "a sandbox line with mode \"%s\"", report_quoted(mode, q, sizeof(q)));
	st->seen_sandbox = true;
	st->landlock = ll->boolean;
	st->landlock_abi = (int) abi;
	snprintf(st->sandbox_mode, sizeof(st->sandbox_mode), "%s", mode ? mode : "");
	return REPORT_SANDBOX;
}

/* The probe: once, after the sandbox line if one is required, sizes bounded. */
report_event
report_on_probe(report_state *st, const json_value *j)
{
	int64_t		w,
				h,
				rot = 0,
				rate = 0;
	double		d = 0;

	if (st->seen_probe)
		return report_violate(st, "a second probe");
	if (st->ex.require_sandbox_line && !st->seen_sandbox)
		return report_violate(st, "a probe before the sandbox line");
	if (!get_int(j, "width", 1, 65535, &w) || !get_int(j, "height", 1, 65535, &h))
		return report_violate(st, "a probe with a picture size out of bounds");
	if (json_get(j, "duration") && !get_num(j, "duration", 0, REPORT_MAX_SECONDS, &d))
		return report_violate(st, "a probe with a duration out of bounds");
	if ((json_get(j, "rotation") && !get_int(j, "rotation", -360, 360, &rot)) ||
		(json_get(j, "video_bitrate") && !get_int(j, "video_bitrate", 0, INT64_C(1) << 40, &rate)))
		return report_violate(st, "a probe with rotation or bitrate out of bounds");
	st->rotation = (int) rot;
	st->video_bitrate = rate;
	st->seen_probe = true;
	st->width = (int) w;
	st->height = (int) h;
	st->duration = d;
	return REPORT_PROBE;
}

/* The plan: once, after the probe, exactly the worker's own plan for that probe. */
report_event
report_on_plan(report_state *st, const json_value *j)
{
	const json_value *arr = json_get(j, "renditions");
	const json_value *e;
	const json_value *note = json_get(j, "note");
	ladder_source src;
	ladder_plan want;
	char		q[40],
				err[256];
	int			i,
				n = 0;

	if (st->seen_plan)
		return report_violate(st, "a second plan");
	if (!st->seen_probe)
		return report_violate(st, "a plan before the probe");
	if (note && note->type != JSON_STRING)
		return report_violate(st, "a plan whose note is not a string");
	if (arr == NULL || arr->type != JSON_ARRAY || arr->child == NULL)
		return report_violate(st, "a plan without renditions");
	src.width = st->width;
	src.height = st->height;
	src.rotation = st->rotation;
	src.bitrate = st->video_bitrate;
	if (ladder_plan_make(&src, st->ex.spec, &want, err, sizeof(err)) != 0)
		return report_violate(st, "a plan for a probe that admits none (%s)", err);
	for (e = arr->child; e; e = e->next)
	{
		report_rung *r;
		const char *name = json_get_str(e, "name");
		const ladder_rung *w = NULL;
		int64_t		wd,
					ht,
					rate;

		if (e->type != JSON_OBJECT || name == NULL)
			return report_violate(st, "a planned rendition without a name");
		for (i = 0; i < want.nrungs; i++)
			if (strcmp(name, want.rungs[i].name) == 0)
				w = &want.rungs[i];
		if (w == NULL)
			return report_violate(st, "planned rendition \"%s\" was not requested (not in the worker's plan for this probe)",
						   report_quoted(name, q, sizeof(q)));
		for (i = 0; i < st->nrungs; i++)
			if (strcmp(name, st->rungs[i].name) == 0)
				return report_violate(st, "rendition \"%s\" planned twice", name);
		if (!get_int(e, "width", 2, 65535, &wd) || !get_int(e, "height", 2, 65535, &ht) ||
			!get_int(e, "maxrate", 1, INT64_C(1) << 40, &rate) ||
			wd != w->width || ht != w->height || rate != w->maxrate)
			return report_violate(st, "planned rendition \"%s\" is not the size or rate the worker plans (%dx%d at %lld b/s)",
						   name, w->width, w->height, (long long) w->maxrate);
		r = &st->rungs[st->nrungs++];	/* distinct names of want: at most LADDER_MAX_RUNGS */
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->width = (int) wd;
		r->height = (int) ht;
		r->maxrate = rate;
		n++;
	}
	if (n != want.nrungs)
		return report_violate(st, "the plan has %d rendition(s), the worker's plan for this probe %d", n, want.nrungs);
	st->seen_plan = true;
	return REPORT_PLAN;
}

/* Progress: after the plan; numbers out of range ignored. */
report_event
report_on_progress(report_state *st, const json_value *j)
{
	double		d;

	if (!st->seen_plan)
		return report_violate(st, "progress before the plan");
	/* bounded as ever: a number out of range is ignored, not trusted */
	if (get_num(j, "percent", 0, 100, &d))
	{
		st->percent = d;
		st->eta_seconds = get_num(j, "eta_seconds", 0, REPORT_MAX_SECONDS, &d) ? d : -1;
	}
	return REPORT_PROGRESS;
}

/* A rendition: planned, once, file <name>.mp4, the planned size, numbers bounded. */
report_event
report_on_rendition(report_state *st, const json_value *j)
{
	const char *name = json_get_str(j, "name");
	const char *file = json_get_str(j, "file");
	char		q[40],
				want[32];
	report_rung *r = NULL;
	int64_t		w,
				h,
				bytes,
				rate,
				frames = 0;
	double		d;
	int			i;

	if (!st->seen_plan)
		return report_violate(st, "a rendition before the plan");
	if (name == NULL || file == NULL)
		return report_violate(st, "a rendition without name or file");
	for (i = 0; i < st->nrungs; i++)
		if (strcmp(name, st->rungs[i].name) == 0)
			r = &st->rungs[i], st->last_rung = i;
	if (r == NULL)
		return report_violate(st, "rendition \"%s\" is not in the plan", report_quoted(name, q, sizeof(q)));
	if (r->reported)
		return report_violate(st, "rendition \"%s\" reported twice", name);
	snprintf(want, sizeof(want), "%s.mp4", name);
	if (strcmp(file, want) != 0)
		return report_violate(st, "rendition \"%s\" names file \"%s\", not \"%s\"", name, report_quoted(file, q, sizeof(q)), want);
	if (!get_int(j, "width", 0, 65535, &w) || !get_int(j, "height", 0, 65535, &h) ||
		w != r->width || h != r->height)
		return report_violate(st, "rendition \"%s\" is not the planned size", name);
	if (!get_int(j, "bytes", 1, INT64_C(1) << 50, &bytes) || !get_int(j, "bitrate", 0, INT64_C(1) << 40, &rate) ||
		!get_num(j, "duration", 0, REPORT_MAX_SECONDS, &d) ||
		(json_get(j, "frames") && !get_int(j, "frames", 0, INT64_C(1) << 40, &frames)))
		return report_violate(st, "rendition \"%s\" has numbers out of bounds", name);
	if (st->ex.max_duration > 0 && d > st->ex.max_duration + 1)
		return report_violate(st, "rendition \"%s\" lasts longer than vtp.max_duration", name);
	r->reported = true;
	r->bytes = bytes;
	r->bitrate = rate;
	r->duration = d;
	r->frames = frames;
	return REPORT_RENDITION;
}

/* done: every planned rendition reported, times bounded. */
report_event
report_on_done(report_state *st, const json_value *j)
{
	double		d;
	int			i;

	if (!st->seen_plan)
		return report_violate(st, "done before the plan");
	for (i = 0; i < st->nrungs; i++)
		if (!st->rungs[i].reported)
			return report_violate(st, "done without planned rendition \"%s\"", st->rungs[i].name);
	if (!get_num(j, "cpu_seconds", 0, 1e9, &d))
		return report_violate(st, "done with cpu_seconds out of bounds");
	st->cpu_seconds = d;
	if (!get_num(j, "wall_seconds", 0, 1e9, &d))
		return report_violate(st, "done with wall_seconds out of bounds");
	st->wall_seconds = d;
	st->done = true;
	return REPORT_DONE;
}

/* error: a known code; the message cleaned and cut. */
report_event
report_on_error(report_state *st, const json_value *j)
{
	const char *code = json_get_str(j, "code");
	const char *msg = json_get_str(j, "message");
	char		q[40];

	if (code == NULL || !report_known_code(code))
		return report_violate(st, "error code \"%s\" is not one the helper uses", report_quoted(code, q, sizeof(q)));
	if (msg == NULL)
		return report_violate(st, "an error without a message");
	snprintf(st->err_code, sizeof(st->err_code), "%s", code);
	report_clean_text(st->err_msg, sizeof(st->err_msg), msg, strlen(msg));
	return REPORT_ERROR;
}
