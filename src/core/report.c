/*
 * report.c — the worker's reader of the transcoder helper's JSON-line
 * reports: a state machine that accepts exactly the protocol in report.h and
 * names the first thing wrong with anything else (the checks of each event
 * are report_events.c's, the text cleaning report_text.c's), and the facts
 * the catalog keeps, made from the checked state. Pure C, no PostgreSQL:
 * unit-tested (test/unit/test_report.c) and fuzzed (test/fuzz/fuzz_report.c).
 */
#include "report_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		return report_violate(st, "a line longer than %d bytes", REPORT_MAX_LINE);
	if (st->finished)
		return report_violate(st, "a line after the helper's last word");
	j = json_parse(line, len, NULL, 0);
	if (j == NULL || j->type != JSON_OBJECT)
	{
		json_free(j);
		return report_violate(st, "not a JSON object");
	}
	ev = json_get_str(j, "event");
	if (ev == NULL)
		r = report_violate(st, "no event");
	else if (strcmp(ev, VTP_HELPER_EV_SANDBOX) == 0)
		r = report_on_sandbox(st, j);
	else if (st->lines == 1 && st->ex.require_sandbox_line && strcmp(ev, VTP_HELPER_EV_ERROR) != 0)
		r = report_violate(st, "the first line is not the sandbox line");
	else if (strcmp(ev, VTP_HELPER_EV_PROBE) == 0)
		r = report_on_probe(st, j);
	else if (strcmp(ev, VTP_HELPER_EV_PLAN) == 0)
		r = report_on_plan(st, j);
	else if (strcmp(ev, VTP_HELPER_EV_PROGRESS) == 0)
		r = report_on_progress(st, j);
	else if (strcmp(ev, VTP_HELPER_EV_RENDITION) == 0)
		r = report_on_rendition(st, j);
	else if (strcmp(ev, VTP_HELPER_EV_DONE) == 0)
		r = report_on_done(st, j);
	else if (strcmp(ev, VTP_HELPER_EV_ERROR) == 0)
		r = report_on_error(st, j);
	else
		r = report_violate(st, "unknown event \"%s\"", report_quoted(ev, q, sizeof(q)));
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
