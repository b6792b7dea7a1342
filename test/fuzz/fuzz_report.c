/*
 * fuzz_report.c — libFuzzer target: the helper report parser on arbitrary
 * output (what a compromised transcoder controls). The input is split into
 * lines and fed twice, with and without the required sandbox line; checks
 * what it returns, not only that it survives.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "json.h"

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every string the parser keeps is valid, control-free and bounded. */
static void
check_text(const char *s, size_t max)
{
	size_t		i,
				n = strlen(s);

	if (n > max)
		abort();
	for (i = 0; i < n; i++)
		if ((unsigned char) s[i] < 0x20 || s[i] == 0x7F)
			abort();
}

static void
run(const uint8_t *data, size_t size, bool sandbox)
{
	report_state st;
	char		err[128];
	size_t		pos = 0;
	int			i;
	char	   *probe = NULL;

	if (report_init(&st, "480p,720p,1080p", sandbox, 7680, 4320, 14400, err, sizeof(err)) != 0)
		abort();
	while (pos < size)
	{
		const uint8_t *nl = memchr(data + pos, '\n', size - pos);
		size_t		len = nl ? (size_t) (nl - (data + pos)) : size - pos;
		report_event ev = report_feed(&st, (const char *) data + pos, len);

		if (ev == REPORT_VIOLATION && st.violation[0] == '\0')
			abort();			/* a refusal always says why */
		if (ev == REPORT_ERROR && !report_known_code(st.err_code))
			abort();
		if (ev == REPORT_PROBE)
		{
			free(probe);
			probe = malloc(len + 1);
			memcpy(probe, data + pos, len);
			probe[len] = '\0';
		}
		if (ev == REPORT_PLAN)
		{
			/* the facts the catalog stores: always one valid JSON object */
			vbuf		facts = VBUF_INIT;
			json_value *j;

			report_facts_json(&st, probe ? probe : "", probe ? strlen(probe) : 0, &facts);
			j = json_parse(facts.data, facts.len, NULL, 0);
			if (j == NULL || j->type != JSON_OBJECT)
				abort();
			json_free(j);
			vbuf_free(&facts);
		}
		pos += len + 1;
	}
	free(probe);
	check_text(st.err_msg, REPORT_MAX_MESSAGE);
	check_text(st.violation, sizeof(st.violation) - 1);
	if (st.nrungs > LADDER_MAX_RUNGS)
		abort();
	if (report_complete(&st))
	{
		/* a complete report: every rung planned, requested, reported once */
		if (!st.done || st.nrungs == 0 || (sandbox && !st.seen_sandbox))
			abort();
		for (i = 0; i < st.nrungs; i++)
			if (!st.rungs[i].reported || st.rungs[i].bytes <= 0 ||
				(strcmp(st.rungs[i].name, "480p") != 0 && strcmp(st.rungs[i].name, "720p") != 0 &&
				 strcmp(st.rungs[i].name, "1080p") != 0))
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size, false);
	run(data, size, true);
	return 0;
}
