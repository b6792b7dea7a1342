/*
 * report.c — the worker's reader of the transcoder helper's JSON-line
 * reports: a state machine that accepts exactly the protocol in report.h and
 * names the first thing wrong with anything else. Pure C, no PostgreSQL:
 * unit-tested (test/unit/test_report.c) and fuzzed (test/fuzz/fuzz_report.c).
 */
#include "report.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "names.h"

/* Every error code the helper prints (tc_report_error, fail_av). */
static const char *const known_codes[] = {
	"bad_plan", "empty", "internal", "no_frames", "no_video", "sandbox_unavailable",
	"too_large", "too_long", "too_many_streams", "truncated", "unreadable", "unsupported_codec",
	NULL
};

#define MAX_SECONDS (86400.0 * 30)

/* Is code one of the helper's error codes? */
bool
report_known_code(const char *code)
{
	int			i;

	for (i = 0; known_codes[i]; i++)
		if (strcmp(code, known_codes[i]) == 0)
			return true;
	return false;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid or a C1 control. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t		len = vtp_utf8_len(s, n);

	/* U+0080..U+009F are encoded C2 80 .. C2 9F */
	if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0)
		return 0;
	return len;
}

/* Clean and bound text from the helper (see report.h). */
void
report_clean_text(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *) src;
	size_t		i = 0,
				o = 0;

	if (dstsize == 0)
		return;
	while (i < srclen)
	{
		size_t		len = utf8_seq(s + i, srclen - i);

		if (len == 0 || (len == 1 && (s[i] < 0x20 || s[i] == 0x7F)))
		{
			/* an invalid byte or a control byte: dropped (a tab or newline becomes a space) */
			if (len == 1 && (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') && o + 1 < dstsize)
				dst[o++] = ' ';
			i++;
			continue;
		}
		if (o + len >= dstsize)
			break;				/* truncated at a character boundary */
		memcpy(dst + o, s + i, len);
		o += len;
		i += len;
	}
	dst[o] = '\0';
}

/* Record the first violation; returns REPORT_VIOLATION. */
static report_event
violate(report_state *st, const char *fmt,...) __attribute__((format(printf, 2, 3)));

static report_event
violate(report_state *st, const char *fmt,...)
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

/* A name safe to quote in a reason: cleaned and short. */
static const char *
quoted(const char *s, char *buf, size_t len)
{
	report_clean_text(buf, len, s ? s : "", s ? strlen(s) : 0);
	return buf;
}

/* Read vtp.renditions into the expectations; an empty state. */
int
report_init(report_state *st, const char *requested, bool require_sandbox_line,
			int max_width, int max_height, double max_duration, char *err, size_t errlen)
{
	const char *p = requested;

	memset(st, 0, sizeof(*st));
	st->ex.require_sandbox_line = require_sandbox_line;
	if (strlen(requested) >= sizeof(st->ex.spec))
	{
		snprintf(err, errlen, "vtp.renditions is too long");
		return -1;
	}
	strcpy(st->ex.spec, requested);
	st->ex.max_width = max_width;
	st->ex.max_height = max_height;
	st->ex.max_duration = max_duration;
	st->eta_seconds = -1;
	st->last_rung = -1;
	while (p && *p)
	{
		size_t		n = strcspn(p, ",");
		size_t		b = 0;

		while (b < n && (p[b] == ' ' || p[b] == '\t'))
			b++;
		while (n > b && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n > b)
		{
			if (st->ex.nrequested >= LADDER_MAX_RUNGS || n - b >= sizeof(st->ex.requested[0]))
			{
				snprintf(err, errlen, "too many or too long rendition names in \"%s\"", requested);
				return -1;
			}
			memcpy(st->ex.requested[st->ex.nrequested], p + b, n - b);
			st->ex.requested[st->ex.nrequested][n - b] = '\0';
			st->ex.nrequested++;
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	if (st->ex.nrequested == 0)
	{
		snprintf(err, errlen, "no rendition requested");
		return -1;
	}
	return 0;
}

/* The sandbox line: first, once, landlock true/false. */
static report_event
on_sandbox(report_state *st, const json_value *j)
{
	const json_value *ll = json_get(j, "landlock");
	const char *mode = json_get_str(j, "mode");
	int64_t		abi = 0;
	char		q[40];

	if (st->seen_sandbox || st->lines != 1)
		return violate(st, "a sandbox line that is not the first line");
	if (ll == NULL || ll->type != JSON_BOOL)
		return violate(st, "a sandbox line without landlock true/false");
	if (json_get(j, "landlock_abi") && !get_int(j, "landlock_abi", 0, 1000, &abi))
		return violate(st, "a sandbox line with landlock_abi out of bounds");
	if (mode && strcmp(mode, "required") != 0 && strcmp(mode, "best_effort") != 0)
		return violate(st, "a sandbox line with mode \"%s\"", quoted(mode, q, sizeof(q)));
	st->seen_sandbox = true;
	st->landlock = ll->boolean;
	st->landlock_abi = (int) abi;
	snprintf(st->sandbox_mode, sizeof(st->sandbox_mode), "%s", mode ? mode : "");
	return REPORT_SANDBOX;
}

/* The probe: once, after the sandbox line if one is required, sizes bounded. */
static report_event
on_probe(report_state *st, const json_value *j)
{
	int64_t		w,
				h,
				rot = 0,
				rate = 0;
	double		d = 0;

	if (st->seen_probe)
		return violate(st, "a second probe");
	if (st->ex.require_sandbox_line && !st->seen_sandbox)
		return violate(st, "a probe before the sandbox line");
	if (!get_int(j, "width", 1, 65535, &w) || !get_int(j, "height", 1, 65535, &h))
		return violate(st, "a probe with a picture size out of bounds");
	if (json_get(j, "duration") && !get_num(j, "duration", 0, MAX_SECONDS, &d))
		return violate(st, "a probe with a duration out of bounds");
	if ((json_get(j, "rotation") && !get_int(j, "rotation", -360, 360, &rot)) ||
		(json_get(j, "video_bitrate") && !get_int(j, "video_bitrate", 0, INT64_C(1) << 40, &rate)))
		return violate(st, "a probe with rotation or bitrate out of bounds");
	st->rotation = (int) rot;
	st->video_bitrate = rate;
	st->seen_probe = true;
	st->width = (int) w;
	st->height = (int) h;
	st->duration = d;
	return REPORT_PROBE;
}

/* The plan: once, after the probe, exactly the worker's own plan for that probe. */
static report_event
on_plan(report_state *st, const json_value *j)
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
		return violate(st, "a second plan");
	if (!st->seen_probe)
		return violate(st, "a plan before the probe");
	if (note && note->type != JSON_STRING)
		return violate(st, "a plan whose note is not a string");
	if (arr == NULL || arr->type != JSON_ARRAY || arr->child == NULL)
		return violate(st, "a plan without renditions");
	src.width = st->width;
	src.height = st->height;
	src.rotation = st->rotation;
	src.bitrate = st->video_bitrate;
	if (ladder_plan_make(&src, st->ex.spec, &want, err, sizeof(err)) != 0)
		return violate(st, "a plan for a probe that admits none (%s)", err);
	for (e = arr->child; e; e = e->next)
	{
		report_rung *r;
		const char *name = json_get_str(e, "name");
		const ladder_rung *w = NULL;
		int64_t		wd,
					ht,
					rate;

		if (e->type != JSON_OBJECT || name == NULL)
			return violate(st, "a planned rendition without a name");
		for (i = 0; i < want.nrungs; i++)
			if (strcmp(name, want.rungs[i].name) == 0)
				w = &want.rungs[i];
		if (w == NULL)
			return violate(st, "planned rendition \"%s\" was not requested (not in the worker's plan for this probe)",
						   quoted(name, q, sizeof(q)));
		for (i = 0; i < st->nrungs; i++)
			if (strcmp(name, st->rungs[i].name) == 0)
				return violate(st, "rendition \"%s\" planned twice", name);
		if (!get_int(e, "width", 2, 65535, &wd) || !get_int(e, "height", 2, 65535, &ht) ||
			!get_int(e, "maxrate", 1, INT64_C(1) << 40, &rate) ||
			wd != w->width || ht != w->height || rate != w->maxrate)
			return violate(st, "planned rendition \"%s\" is not the size or rate the worker plans (%dx%d at %lld b/s)",
						   name, w->width, w->height, (long long) w->maxrate);
		r = &st->rungs[st->nrungs++];	/* distinct names of want: at most LADDER_MAX_RUNGS */
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->width = (int) wd;
		r->height = (int) ht;
		r->maxrate = rate;
		n++;
	}
	if (n != want.nrungs)
		return violate(st, "the plan has %d rendition(s), the worker's plan for this probe %d", n, want.nrungs);
	st->seen_plan = true;
	return REPORT_PLAN;
}

/* Progress: after the plan; numbers out of range ignored. */
static report_event
on_progress(report_state *st, const json_value *j)
{
	double		d;

	if (!st->seen_plan)
		return violate(st, "progress before the plan");
	/* bounded as ever: a number out of range is ignored, not trusted */
	if (get_num(j, "percent", 0, 100, &d))
	{
		st->percent = d;
		st->eta_seconds = get_num(j, "eta_seconds", 0, MAX_SECONDS, &d) ? d : -1;
	}
	return REPORT_PROGRESS;
}

/* A rendition: planned, once, file <name>.mp4, the planned size, numbers bounded. */
static report_event
on_rendition(report_state *st, const json_value *j)
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
		return violate(st, "a rendition before the plan");
	if (name == NULL || file == NULL)
		return violate(st, "a rendition without name or file");
	for (i = 0; i < st->nrungs; i++)
		if (strcmp(name, st->rungs[i].name) == 0)
			r = &st->rungs[i], st->last_rung = i;
	if (r == NULL)
		return violate(st, "rendition \"%s\" is not in the plan", quoted(name, q, sizeof(q)));
	if (r->reported)
		return violate(st, "rendition \"%s\" reported twice", name);
	snprintf(want, sizeof(want), "%s.mp4", name);
	if (strcmp(file, want) != 0)
		return violate(st, "rendition \"%s\" names file \"%s\", not \"%s\"", name, quoted(file, q, sizeof(q)), want);
	if (!get_int(j, "width", 0, 65535, &w) || !get_int(j, "height", 0, 65535, &h) ||
		w != r->width || h != r->height)
		return violate(st, "rendition \"%s\" is not the planned size", name);
	if (!get_int(j, "bytes", 1, INT64_C(1) << 50, &bytes) || !get_int(j, "bitrate", 0, INT64_C(1) << 40, &rate) ||
		!get_num(j, "duration", 0, MAX_SECONDS, &d) ||
		(json_get(j, "frames") && !get_int(j, "frames", 0, INT64_C(1) << 40, &frames)))
		return violate(st, "rendition \"%s\" has numbers out of bounds", name);
	if (st->ex.max_duration > 0 && d > st->ex.max_duration + 1)
		return violate(st, "rendition \"%s\" lasts longer than vtp.max_duration", name);
	r->reported = true;
	r->bytes = bytes;
	r->bitrate = rate;
	r->duration = d;
	r->frames = frames;
	return REPORT_RENDITION;
}

/* done: every planned rendition reported, times bounded. */
static report_event
on_done(report_state *st, const json_value *j)
{
	double		d;
	int			i;

	if (!st->seen_plan)
		return violate(st, "done before the plan");
	for (i = 0; i < st->nrungs; i++)
		if (!st->rungs[i].reported)
			return violate(st, "done without planned rendition \"%s\"", st->rungs[i].name);
	if (!get_num(j, "cpu_seconds", 0, 1e9, &d))
		return violate(st, "done with cpu_seconds out of bounds");
	st->cpu_seconds = d;
	if (!get_num(j, "wall_seconds", 0, 1e9, &d))
		return violate(st, "done with wall_seconds out of bounds");
	st->wall_seconds = d;
	st->done = true;
	return REPORT_DONE;
}

/* error: a known code; the message cleaned and cut. */
static report_event
on_error(report_state *st, const json_value *j)
{
	const char *code = json_get_str(j, "code");
	const char *msg = json_get_str(j, "message");
	char		q[40];

	if (code == NULL || !report_known_code(code))
		return violate(st, "error code \"%s\" is not one the helper uses", quoted(code, q, sizeof(q)));
	if (msg == NULL)
		return violate(st, "an error without a message");
	snprintf(st->err_code, sizeof(st->err_code), "%s", code);
	report_clean_text(st->err_msg, sizeof(st->err_msg), msg, strlen(msg));
	return REPORT_ERROR;
}

/* One line through the state machine. */
report_event
report_feed(report_state *st, const char *line, size_t len)
{
	json_value *j;
	const char *ev;
	char		q[40];
	report_event r;

	st->lines++;
	if (st->violation[0])
		return REPORT_VIOLATION;
	if (len > REPORT_MAX_LINE)
		return violate(st, "a line longer than %d bytes", REPORT_MAX_LINE);
	if (st->finished)
		return violate(st, "a line after the helper's last word");
	j = json_parse(line, len, NULL, 0);
	if (j == NULL || j->type != JSON_OBJECT)
	{
		json_free(j);
		return violate(st, "not a JSON object");
	}
	ev = json_get_str(j, "event");
	if (ev == NULL)
		r = violate(st, "no event");
	else if (strcmp(ev, "sandbox") == 0)
		r = on_sandbox(st, j);
	else if (st->lines == 1 && st->ex.require_sandbox_line && strcmp(ev, "error") != 0)
		r = violate(st, "the first line is not the sandbox line");
	else if (strcmp(ev, "probe") == 0)
		r = on_probe(st, j);
	else if (strcmp(ev, "plan") == 0)
		r = on_plan(st, j);
	else if (strcmp(ev, "progress") == 0)
		r = on_progress(st, j);
	else if (strcmp(ev, "rendition") == 0)
		r = on_rendition(st, j);
	else if (strcmp(ev, "done") == 0)
		r = on_done(st, j);
	else if (strcmp(ev, "error") == 0)
		r = on_error(st, j);
	else
		r = violate(st, "unknown event \"%s\"", quoted(ev, q, sizeof(q)));
	json_free(j);
	if (r == REPORT_DONE || r == REPORT_ERROR)
		st->finished = true;
	return r;
}

/* Did the helper report everything it planned, and nothing wrong? */
bool
report_complete(report_state *st)
{
	int			i;

	if (st->violation[0] || !st->done || st->nrungs == 0)
		return false;
	for (i = 0; i < st->nrungs; i++)
		if (!st->rungs[i].reported)
			return false;
	return true;
}

/* One number of a fact, if it is there, finite and within [lo, hi]. */
static void
facts_num(vbuf *out, bool *first, const json_value *j, const char *key, double lo, double hi)
{
	double		d;

	if (!json_get_num(j, key, &d) || !(d >= lo && d <= hi))
		return;
	vbuf_printf(out, "%s\"%s\":%.6g", *first ? "" : ",", key, d);
	*first = false;
}

/* One boolean of a fact, if it is there. */
static void
facts_bool(vbuf *out, bool *first, const json_value *j, const char *key)
{
	const json_value *v = json_get(j, key);

	if (v == NULL || v->type != JSON_BOOL)
		return;
	vbuf_printf(out, "%s\"%s\":%s", *first ? "" : ",", key, v->boolean ? "true" : "false");
	*first = false;
}

/* One short string of a fact, cleaned, if it is there. */
static void
facts_str(vbuf *out, bool *first, const json_value *j, const char *key)
{
	const char *s = json_get_str(j, key);
	char		clean[65];

	if (s == NULL)
		return;
	report_clean_text(clean, sizeof(clean), s, strlen(s));
	vbuf_printf(out, "%s\"%s\":", *first ? "" : ",", key);
	vbuf_json_string(out, clean);
	*first = false;
}

/*
 * The video's facts as the catalog keeps them: made here from the checked
 * state and the known keys of the probe line, never the helper's line as it
 * came (a key twice, a number jsonb refuses, bytes that are not UTF-8 or
 * keys of its own would otherwise reach the table).
 */
void
report_facts_json(const report_state *st, const char *probe_line, size_t len, vbuf *out)
{
	json_value *j = json_parse(probe_line, len, NULL, 0);
	bool		first = true;
	int			i;

	vbuf_puts(out, "{\"probe\":{");
	if (j != NULL && j->type == JSON_OBJECT)
	{
		vbuf_printf(out, "\"width\":%d,\"height\":%d,\"rotation\":%d,\"duration\":%.3f,\"video_bitrate\":%lld",
					st->width, st->height, st->rotation, st->duration, (long long) st->video_bitrate);
		first = false;
		facts_num(out, &first, j, "fps", 0, 1000);
		facts_bool(out, &first, j, "interlaced");
		facts_bool(out, &first, j, "hdr");
		facts_bool(out, &first, j, "audio");
		facts_num(out, &first, j, "audio_stream", -1, 1000);
		facts_num(out, &first, j, "audio_channels", 0, 64);
		facts_str(out, &first, j, "video_codec");
		facts_str(out, &first, j, "pix_fmt");
	}
	vbuf_puts(out, "},\"plan\":{\"renditions\":[");
	for (i = 0; i < st->nrungs; i++)
	{
		vbuf_printf(out, "%s{\"name\":", i ? "," : "");
		vbuf_json_string(out, st->rungs[i].name);
		vbuf_printf(out, ",\"width\":%d,\"height\":%d,\"maxrate\":%lld}", st->rungs[i].width,
					st->rungs[i].height, (long long) st->rungs[i].maxrate);
	}
	vbuf_puts(out, "]}}");
	json_free(j);
}
