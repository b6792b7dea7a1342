/*
 * test_json.c — the bounded JSON reader.
 */
#include <stdlib.h>

#include "unit.h"
#include "buf.h"
#include "json.h"

static json_value *
parse(const char *s, char *err)
{
	return json_parse(s, strlen(s), err, 128);
}

void
test_json(void)
{
	char		err[128];
	json_value *v;
	double		d;
	vbuf		b = VBUF_INIT;
	int			i;

	v = parse("{\"a\":\"x\\u00e9\\ud83d\\ude00\",\"n\":-1.5e2,\"t\":true,\"f\":false,\"z\":null,\"arr\":[1,2]}", err);
	CHECK(v != NULL);
	CHECK_STR(json_get_str(v, "a"), "x\xc3\xa9\xf0\x9f\x98\x80");
	CHECK(json_get_num(v, "n", &d) && d == -150.0);
	CHECK(json_get(v, "t")->boolean == true);
	CHECK(json_get(v, "f")->boolean == false);
	CHECK(json_get(v, "z")->type == JSON_NULL);
	CHECK(json_get(v, "arr")->child->next->num == 2);
	CHECK(json_get(v, "missing") == NULL);
	json_free(v);

	/* numeric strings read as numbers (SQS attributes are strings) */
	v = parse("{\"c\":\"3\",\"bad\":\"3x\"}", err);
	CHECK(json_get_num(v, "c", &d) && d == 3);
	CHECK(!json_get_num(v, "bad", &d));
	json_free(v);

	/* an empty string is a string (found by fuzz_s3event: it was left unterminated) */
	v = parse("{\"e\":\"\",\"x\":\"y\"}", err);
	CHECK(v != NULL && json_get_str(v, "e") != NULL && strlen(json_get_str(v, "e")) == 0);
	json_free(v);

	/* bounded integers: out of range (or beyond int64) is refused, never cast */
	{
		int64_t		n = 0;

		v = parse("{\"ok\":42,\"big\":1e300,\"neg\":-1,\"s\":\"7\"}", err);
		CHECK(json_get_int(v, "ok", 0, 100, &n) && n == 42);
		CHECK(!json_get_int(v, "ok", 0, 41, &n));
		CHECK(!json_get_int(v, "big", 0, INT64_MAX, &n));
		CHECK(!json_get_int(v, "neg", 0, 10, &n));
		CHECK(json_get_int(v, "s", 0, 10, &n) && n == 7);
		CHECK(!json_get_int(v, "missing", 0, 10, &n));
		json_free(v);
	}

	/* rejects, with reasons */
	CHECK(parse("{\"a\":1,}", err) == NULL);
	CHECK(parse("{\"a\" 1}", err) == NULL && strstr(err, "':'"));
	CHECK(parse("[1] x", err) == NULL && strstr(err, "trailing"));
	CHECK(parse("\"\\u0000\"", err) == NULL && strstr(err, "NUL"));
	CHECK(parse("\"\\ud800\"", err) == NULL && strstr(err, "surrogate"));
	CHECK(parse("\"a\nb\"", err) == NULL && strstr(err, "control"));
	CHECK(parse("", err) == NULL);
	CHECK(parse("\"abc", err) == NULL && strstr(err, "unterminated"));
	CHECK(parse("tru", err) == NULL);

	/* depth limit */
	for (i = 0; i < 200; i++)
		vbuf_putc(&b, '[');
	for (i = 0; i < 200; i++)
		vbuf_putc(&b, ']');
	CHECK(parse(b.data, err) == NULL && strstr(err, "deep"));
	vbuf_free(&b);

	/* string quoting round-trips */
	vbuf_json_string(&b, "q\"b\\s\n\x01");
	CHECK_STR(b.data, "\"q\\\"b\\\\s\\n\\u0001\"");
	v = parse(b.data, err);
	CHECK(v && strcmp(v->str, "q\"b\\s\n\x01") == 0);
	json_free(v);
	vbuf_free(&b);
}
