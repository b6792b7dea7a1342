/*
 * test_report.c — the helper report parser: the real helper's lines are
 * accepted (with and without the sandbox line), and each way a compromised
 * helper could bend the protocol is refused with a reason.
 */
#include <stdlib.h>

#include "unit.h"
#include "helper_protocol.h"
#include "report.h"
#include "json.h"

#define SANDBOX "{\"event\":\"sandbox\",\"mode\":\"required\",\"landlock_abi\":6,\"landlock\":true,\"seccomp\":\"allowlist\"}"
#define PROBE "{\"event\":\"probe\",\"width\":640,\"height\":360,\"rotation\":0,\"duration\":6.000,\"fps\":25.000,\"video_bitrate\":500000,\"interlaced\":false,\"hdr\":false,\"audio\":true,\"audio_stream\":1,\"audio_channels\":1,\"video_codec\":\"h264\",\"pix_fmt\":\"yuv420p\"}"
#define PLAN "{\"event\":\"plan\",\"note\":\"\",\"renditions\":[{\"name\":\"360p\",\"width\":640,\"height\":360,\"maxrate\":500000}]}"
#define PROGRESS "{\"event\":\"progress\",\"percent\":50.0,\"speed\":2.00,\"eta_seconds\":3}"
#define REND "{\"event\":\"rendition\",\"name\":\"360p\",\"file\":\"360p.mp4\",\"width\":640,\"height\":360,\"bytes\":123456,\"bitrate\":164608,\"duration\":6.000,\"frames\":150}"
#define DONE "{\"event\":\"done\",\"cpu_seconds\":1.20,\"wall_seconds\":0.80,\"decode_errors\":0}"

static report_state st;

static void
start(bool sandbox)
{
	char		err[128];

	CHECK(report_init(&st, "360p, 720p,1080p", sandbox, 7680, 4320, 14400, err, sizeof(err)) == 0);
}

static report_event
feed(const char *line)
{
	return report_feed(&st, line, strlen(line));
}

/* Feed lines until one is refused; the reason must contain want. */
static void
refused(bool sandbox, const char *const *lines, const char *want)
{
	int			i;
	report_event last = REPORT_DONE;

	start(sandbox);
	for (i = 0; lines[i]; i++)
		last = feed(lines[i]);
	CHECK(last == REPORT_VIOLATION);
	CHECK(!report_complete(&st));
	if (strstr(st.violation, want) == NULL)
	{
		unit_failed++;
		fprintf(stderr, "FAIL %s:%d: violation \"%s\" does not say \"%s\"\n", __FILE__, __LINE__, st.violation, want);
	}
	else
		unit_passed++;
}

/* The facts kept in the catalog are made by vtp, not copied from the helper. */
static void
facts_are_ours(void)
{
	vbuf		facts = VBUF_INIT;
	json_value *j;
	const char *hostile = "{\"event\":\"probe\",\"width\":640,\"height\":360,\"rotation\":0,\"duration\":6,"
		"\"video_bitrate\":500000,\"width\":99999,\"fps\":1e999999,\"x\":\"extra\",\"video_codec\":\"h264\\u0007\\u001b\"}";

	start(true);
	CHECK(feed(SANDBOX) == REPORT_SANDBOX);
	CHECK(report_feed(&st, hostile, strlen(hostile)) == REPORT_PROBE);
	CHECK(feed(PLAN) == REPORT_PLAN);
	report_facts_json(&st, hostile, strlen(hostile), &facts);
	j = json_parse(facts.data, facts.len, NULL, 0);
	CHECK(j != NULL && j->type == JSON_OBJECT);
	CHECK(strstr(facts.data, "\"x\"") == NULL);	/* no key of the helper's own */
	CHECK(strstr(facts.data, "99999") == NULL);	/* the checked width, once */
	CHECK(strstr(facts.data, "\"fps\"") == NULL);	/* not a finite number: left out */
	CHECK(strstr(facts.data, "\"video_codec\":\"h264\"") != NULL);	/* cleaned */
	CHECK(strstr(facts.data, "\"renditions\":[{\"name\":\"360p\",\"width\":640,\"height\":360,\"maxrate\":500000}]") != NULL);
	json_free(j);
	vbuf_free(&facts);
}

/* The helper's lines as it prints them, with and without the sandbox line. */
static void
accepted(void)
{
	/* the real helper today: no sandbox line */
	start(false);
	CHECK(feed(PROBE) == REPORT_PROBE);
	CHECK(feed(PLAN) == REPORT_PLAN);
	CHECK(feed(PROGRESS) == REPORT_PROGRESS);
	CHECK(st.percent == 50.0 && st.eta_seconds == 3);
	CHECK(feed(REND) == REPORT_RENDITION);
	CHECK(st.rungs[0].bytes == 123456);
	CHECK(feed(DONE) == REPORT_DONE);
	CHECK(report_complete(&st));
	CHECK(st.cpu_seconds == 1.2);

	/* the helper after the sandbox branch: sandbox line first */
	start(true);
	CHECK(feed(SANDBOX) == REPORT_SANDBOX);
	CHECK(st.landlock && st.landlock_abi == 6);
	CHECK(feed(PROBE) == REPORT_PROBE);
	CHECK(feed(PLAN) == REPORT_PLAN);
	CHECK(feed(REND) == REPORT_RENDITION);
	CHECK(feed(DONE) == REPORT_DONE);
	CHECK(report_complete(&st));

	/* an optional sandbox line is still accepted once, first */
	start(false);
	CHECK(feed(SANDBOX) == REPORT_SANDBOX);
	CHECK(feed(PROBE) == REPORT_PROBE);
}

/* Error lines: a known code, a cleaned and bounded message; the cleaner itself. */
static void
errors_and_text(void)
{
	char		clean[16];
	char	   *big;

	/* an error before anything: a known code, a cleaned and bounded message */
	start(true);
	CHECK(feed("{\"event\":\"error\",\"code\":\"sandbox_unavailable\",\"message\":\"no \\u001b[31mLandlock\\r\\n\"}") == REPORT_ERROR);
	CHECK_STR(st.err_code, "sandbox_unavailable");
	CHECK_STR(st.err_msg, "no [31mLandlock  ");
	CHECK(!report_complete(&st));
	big = malloc(4000);
	memset(big, 0, 4000);
	strcpy(big, "{\"event\":\"error\",\"code\":\"internal\",\"message\":\"");
	memset(big + strlen(big), 'x', 3000);
	strcat(big, "\"}");
	start(false);
	CHECK(feed(big) == REPORT_ERROR);
	CHECK(strlen(st.err_msg) == REPORT_MAX_MESSAGE);
	free(big);

	/* the cleaner: invalid UTF-8 and controls dropped, cut at a character */
	report_clean_text(clean, sizeof(clean), "a\x01\xff\xc3\xa9" "b\x7f\xed\xa0\x80" "c", 11);
	CHECK_STR(clean, "a\xc3\xa9" "bc");
	report_clean_text(clean, 4, "ab\xc3\xa9", 4);
	CHECK_STR(clean, "ab");
}

/*
 * Every error code the helper may print (helper_protocol.h, the one list
 * both programs use) is one the reader accepts in an error line; a code
 * beside the list is refused.
 */
static void
protocol_codes(void)
{
	static const char *const codes[] = {VTP_HELPER_ERROR_CODES};
	char		line[200];
	size_t		i;

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
	{
		snprintf(line, sizeof(line), "{\"event\":\"" VTP_HELPER_EV_ERROR "\",\"code\":\"%s\",\"message\":\"m\"}",
				 codes[i]);
		start(true);
		CHECK(report_known_code(codes[i]));
		CHECK(feed(line) == REPORT_ERROR);
		CHECK_STR(st.err_code, codes[i]);
	}
	CHECK(sizeof(codes) / sizeof(codes[0]) == 12);
	CHECK(!report_known_code("helper_protocol"));
	CHECK(REPORT_MAX_LINE == VTP_HELPER_MAX_LINE && REPORT_MAX_MESSAGE == VTP_HELPER_MAX_MESSAGE);
}

/* What a compromised helper might print: each refused with its reason. */
static void
hostile(void)
{
	const char *const second_probe[] = {PROBE, PROBE, NULL};
	const char *const second_plan[] = {PROBE, PLAN, PLAN, NULL};
	const char *const plan_first[] = {PLAN, NULL};
	const char *const no_sandbox[] = {PROBE, NULL};
	const char *const two_sandbox[] = {SANDBOX, SANDBOX, NULL};
	const char *const late_sandbox[] = {PROBE, SANDBOX, NULL};
	const char *const foreign_plan[] = {PROBE, "{\"event\":\"plan\",\"renditions\":[{\"name\":\"9999p\",\"width\":640,\"height\":360,\"maxrate\":1}]}", NULL};
	const char *const dup_plan[] = {PROBE, "{\"event\":\"plan\",\"renditions\":[{\"name\":\"360p\",\"width\":640,\"height\":360,\"maxrate\":500000},{\"name\":\"360p\",\"width\":640,\"height\":360,\"maxrate\":500000}]}", NULL};
	const char *const huge_plan[] = {PROBE, "{\"event\":\"plan\",\"renditions\":[{\"name\":\"360p\",\"width\":99999,\"height\":360,\"maxrate\":1}]}", NULL};
	const char *const short_plan[] = {"{\"event\":\"probe\",\"width\":1280,\"height\":720,\"video_bitrate\":9000000}", "{\"event\":\"plan\",\"renditions\":[{\"name\":\"360p\",\"width\":640,\"height\":360,\"maxrate\":900000}]}", NULL};
	const char *const rate_plan[] = {PROBE, "{\"event\":\"plan\",\"renditions\":[{\"name\":\"360p\",\"width\":640,\"height\":360,\"maxrate\":900000}]}", NULL};
	const char *const foreign_rend[] = {PROBE, PLAN, "{\"event\":\"rendition\",\"name\":\"720p\",\"file\":\"720p.mp4\",\"width\":1280,\"height\":720,\"bytes\":1,\"bitrate\":1,\"duration\":1}", NULL};
	const char *const dup_rend[] = {PROBE, PLAN, REND, REND, NULL};
	const char *const bad_file[] = {PROBE, PLAN, "{\"event\":\"rendition\",\"name\":\"360p\",\"file\":\"../../../etc/passwd\",\"width\":640,\"height\":360,\"bytes\":1,\"bitrate\":1,\"duration\":1}", NULL};
	const char *const bad_size[] = {PROBE, PLAN, "{\"event\":\"rendition\",\"name\":\"360p\",\"file\":\"360p.mp4\",\"width\":640,\"height\":360,\"bytes\":-5,\"bitrate\":1,\"duration\":1}", NULL};
	const char *const early_done[] = {PROBE, PLAN, DONE, NULL};
	const char *const junk[] = {PROBE, "{\"event\":\"plan\",", NULL};
	const char *const not_obj[] = {"[1,2,3]", NULL};
	const char *const unknown_code[] = {"{\"event\":\"error\",\"code\":\"AKIAFAKE\\u0007\",\"message\":\"x\"}", NULL};
	const char *const after_done[] = {PROBE, PLAN, REND, DONE, PROGRESS, NULL};
	const char *const unknown_ev[] = {PROBE, "{\"event\":\"shell\"}", NULL};
	const char *const progress_early[] = {PROBE, PROGRESS, NULL};
	const char *const bad_probe[] = {"{\"event\":\"probe\",\"width\":0,\"height\":360}", NULL};

	refused(false, second_probe, "a second probe");
	refused(false, second_plan, "a second plan");
	refused(false, plan_first, "a plan before the probe");
	refused(true, no_sandbox, "not the sandbox line");
	refused(true, two_sandbox, "not the first line");
	refused(false, late_sandbox, "not the first line");
	refused(false, foreign_plan, "\"9999p\" was not requested");
	refused(false, dup_plan, "planned twice");
	refused(false, huge_plan, "not the size or rate the worker plans (640x360 at 500000 b/s)");
	refused(false, short_plan, "the plan has 1 rendition(s), the worker's plan for this probe 2");
	refused(false, rate_plan, "not the size or rate");
	refused(false, foreign_rend, "\"720p\" is not in the plan");
	refused(false, dup_rend, "reported twice");
	refused(false, bad_file, "names file");
	refused(false, bad_size, "out of bounds");
	refused(false, early_done, "done without planned rendition \"360p\"");
	refused(false, junk, "not a JSON object");
	refused(false, not_obj, "not a JSON object");
	refused(false, unknown_code, "error code \"AKIAFAKE\" is not one");
	refused(false, after_done, "after the helper's last word");
	refused(false, unknown_ev, "unknown event");
	refused(false, progress_early, "progress before the plan");
	refused(false, bad_probe, "picture size out of bounds");
}

void
test_report(void)
{
	char	   *big;

	accepted();
	errors_and_text();
	protocol_codes();
	hostile();

	/* a line over the limit, and everything after a violation */
	big = malloc(REPORT_MAX_LINE + 2);
	memset(big, ' ', REPORT_MAX_LINE + 1);
	start(false);
	CHECK(report_feed(&st, big, REPORT_MAX_LINE + 1) == REPORT_VIOLATION);
	CHECK(strstr(st.violation, "longer than") != NULL);
	CHECK(feed(PROBE) == REPORT_VIOLATION);
	free(big);
	facts_are_ours();
}
