/*
 * test_s3event.c — S3 notification parsing (shapes from aws.md).
 */
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"
#include "s3event.h"

static const char *two_records =
"{\"Records\":[{"
"\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"awsRegion\":\"us-east-1\","
"\"eventTime\":\"2026-11-24T17:00:00.000Z\",\"eventName\":\"ObjectCreated:Put\","
"\"s3\":{\"s3SchemaVersion\":\"1.0\",\"configurationId\":\"vtp-uploads\","
"\"bucket\":{\"name\":\"temp-video-bucket\",\"arn\":\"arn:aws:s3:::temp-video-bucket\"},"
"\"object\":{\"key\":\"uploads/0b7e/my+holiday+%282026%29+%2B1.mp4\",\"size\":1048576,"
"\"eTag\":\"d41d8cd98f00b204e9800998ecf8427e\",\"sequencer\":\"0062E99A88DC407460\",\"newField\":{}}}},"
"{\"eventVersion\":\"2.2\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectRemoved:Delete\","
"\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\"}}},"
"{\"eventVersion\":\"2.0\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:CompleteMultipartUpload\","
"\"s3\":{\"bucket\":{\"name\":\"b22\"},\"object\":{\"key\":\"a%2Fb\",\"size\":7,\"eTag\":\"abc-3\"}}},"
"{\"eventVersion\":\"3.0\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
"\"s3\":{\"bucket\":{\"name\":\"b3\"},\"object\":{\"key\":\"future\"}}}"
"]}";

/*
 * Parse one ObjectCreated record with the bucket and object members given
 * (JSON text). Returns how many records were taken (0 or 1); ev is filled.
 */
static int
one(const char *bucket, const char *object_members, s3_event *ev)
{
	char		body[8192],
				err[256];

	snprintf(body, sizeof(body),
			 "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
			 "\"s3\":{\"bucket\":{\"name\":%s},\"object\":{\"key\":%s}}}]}", bucket, object_members);
	if (s3event_parse(body, strlen(body), ev, err, sizeof(err)) != 0)
		return -1;
	if (ev->nrecords + ev->nrejected != 1)
		return -1;
	return ev->nrecords;
}

/*
 * One record is taken (taken 1) or refused (0) with a reason containing r1
 * and r2 (when given).
 */
static void
expect(const char *bucket, const char *object_members, int taken, const char *r1, const char *r2)
{
	s3_event	ev;
	int			got = one(bucket, object_members, &ev);

	CHECK(got == taken);
	if (got != taken)
		fprintf(stderr, "  record: bucket %s, object %.200s\n", bucket, object_members);
	if (got == 0)
		CHECK((r1 == NULL || strstr(ev.rejected[0].reason, r1)) && (r2 == NULL || strstr(ev.rejected[0].reason, r2)));
	if (got >= 0)
		s3event_free(&ev);
}

/* The eTag: header injection refused (the reason shows it escaped), quotes stripped, the form checked. */
static void
fields_etag(void)
{
	s3_event	ev;
	char		obj[4096];

	CHECK(one("\"temp-video-bucket\"", "\"uploads/a.mp4\",\"eTag\":\"abc\\r\\nX-Injected: 1\"", &ev) == 0);
	CHECK(ev.nrejected == 1 && strstr(ev.rejected[0].reason, "eTag") && strchr(ev.rejected[0].reason, '\r') == NULL &&
		  strchr(ev.rejected[0].reason, '\n') == NULL);
	s3event_free(&ev);
	CHECK(one("\"temp-video-bucket\"", "\"k\",\"eTag\":\"\\\"d41d8cd98f00b204e9800998ecf8427e\\\"\"", &ev) == 1);
	CHECK_STR(ev.records[0].etag, "d41d8cd98f00b204e9800998ecf8427e");
	s3event_free(&ev);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"D41D8CD98F00B204E9800998ECF8427E-10000\"", 1, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"abc-0\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"abc-10001\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"abc-\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"-3\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"abc-3-4\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":\"ab c\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"eTag\":7", 0, NULL, NULL);
	snprintf(obj, sizeof(obj), "\"k\",\"eTag\":\"%065d\"", 0);	/* 65 hex digits */
	expect("\"temp-video-bucket\"", obj, 0, NULL, NULL);
}

/* Keys, percent-encoded as S3 sends them; 2000 bytes is over S3's 1024 and the index row, 1024 is fine. */
static void
fields_key(void)
{
	s3_event	ev;
	char		obj[4096];
	int			i;

	expect("\"temp-video-bucket\"", "\"uploads/a%01b.mp4\"", 0, "control", "a\\x01b.mp4");
	expect("\"temp-video-bucket\"", "\"uploads/a%0D%0AInjected.mp4\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"uploads/a%7F.mp4\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"uploads/%FF%FE.mp4\"", 0, "UTF-8", "\\xff\\xfe");
	expect("\"temp-video-bucket\"", "\"uploads/%C0%AF.mp4\"", 0, NULL, NULL);
	CHECK(one("\"temp-video-bucket\"", "\"uploads/vid%C3%A9o.mp4\"", &ev) == 1);
	CHECK_STR(ev.records[0].key, "uploads/vid\xc3\xa9o.mp4");
	s3event_free(&ev);
	for (i = 0; i <= 1; i++)
	{
		size_t		n = i ? 1024 : 2000;

		obj[0] = '"';
		memset(obj + 1, 'k', n);
		obj[n + 1] = '"';
		obj[n + 2] = '\0';
		CHECK(one("\"temp-video-bucket\"", obj, &ev) == i);
		if (i == 0)
			CHECK(strstr(ev.rejected[0].reason, "1024") && strlen(ev.rejected[0].reason) < sizeof(ev.rejected[0].reason));
		s3event_free(&ev);
	}
}

/* Sequencers: bounded hex; buckets by S3's rules. */
static void
fields_sequencer_and_bucket(void)
{
	char		obj[4096];

	expect("\"temp-video-bucket\"", "\"k\",\"sequencer\":\"0062E99A88DC407460\"", 1, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"sequencer\":\"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\"", 1, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"sequencer\":\"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF\"", 0, "sequencer", NULL);
	memset(obj, 0, sizeof(obj));
	strcpy(obj, "\"k\",\"sequencer\":\"");
	memset(obj + strlen(obj), 'F', 1000);
	strcat(obj, "\"");
	expect("\"temp-video-bucket\"", obj, 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"sequencer\":\"0062E99A88DC40746G\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"sequencer\":\"-1\"", 0, NULL, NULL);
	expect("\"temp-video-bucket\"", "\"k\",\"sequencer\":123", 0, NULL, NULL);

	expect("\"attacker.example/x#\"", "\"k\"", 0, "bucket", NULL);
	expect("\"Temp-Video-Bucket\"", "\"k\"", 0, NULL, NULL);
	expect("\"192.168.5.4\"", "\"k\"", 0, NULL, NULL);
	expect("\"b\"", "\"k\"", 0, NULL, NULL);
}

/* A bad record does not sink the good one next to it; a bounded number of records per message. */
static void
fields_records(void)
{
	s3_event	ev;
	char		err[256],
				body[8192];
	int			i;

	snprintf(body, sizeof(body),
			 "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\","
			 "\"s3\":{\"bucket\":{\"name\":\"temp-video-bucket\"},\"object\":{\"key\":\"bad\",\"eTag\":\"x\\r\\ny\"}}},"
			 "7,"
			 "{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\","
			 "\"s3\":{\"bucket\":{\"name\":\"temp-video-bucket\"},\"object\":{\"key\":\"good\",\"eTag\":\"abc\"}}}]}");
	CHECK(s3event_parse(body, strlen(body), &ev, err, sizeof(err)) == 0 && ev.nrecords == 1 && ev.nrejected == 2);
	CHECK(ev.nrecords == 1 && strcmp(ev.records[0].key, "good") == 0);
	s3event_free(&ev);

	strcpy(body, "{\"Records\":[");
	for (i = 0; i <= S3EVENT_MAX_RECORDS; i++)
		strcat(body, i ? ",{}" : "{}");
	strcat(body, "]}");
	CHECK(s3event_parse(body, strlen(body), &ev, err, sizeof(err)) == -1 && strstr(err, "records"));
}

/* Issue 10, item 5: every field an attacker posting to the queue controls. */
static void
test_s3event_fields(void)
{
	fields_etag();
	fields_key();
	fields_sequencer_and_bucket();
	fields_records();

	/* sequencers compare as hex numbers, either case, zero-padded on the right */
	CHECK(s3_sequencer_cmp("0062e99a88dc407460", "0062E99A88DC407460") == 0);
	CHECK(s3_sequencer_cmp("0062E99A88DC40746a", "0062E99A88DC40746B") < 0);
	CHECK(s3_sequencer_cmp("A", "9") > 0);
	CHECK(s3_sequencer_cmp("a", "9") > 0);
	CHECK(s3_sequencer_cmp("", "00") == 0);
}

void
test_s3event(void)
{
	s3_event	ev;
	char		err[256];
	char	   *k;

	CHECK(s3event_parse(two_records, strlen(two_records), &ev, err, sizeof(err)) == 0);
	CHECK(ev.kind == S3EV_RECORDS);
	CHECK(ev.nrecords == 2);
	CHECK(ev.nignored == 2);	/* the delete and the v3 record */
	CHECK_STR(ev.records[0].bucket, "temp-video-bucket");
	CHECK_STR(ev.records[0].key, "uploads/0b7e/my holiday (2026) +1.mp4");
	CHECK(ev.records[0].size == 1048576);
	CHECK_STR(ev.records[0].etag, "d41d8cd98f00b204e9800998ecf8427e");
	CHECK_STR(ev.records[0].sequencer, "0062E99A88DC407460");
	CHECK_STR(ev.records[0].event_name, "ObjectCreated:Put");
	CHECK_STR(ev.records[1].key, "a/b");
	CHECK_STR(ev.records[1].etag, "abc-3");
	CHECK_STR(ev.records[1].sequencer, "");
	s3event_free(&ev);

	{
		const char *t = "{\"Service\":\"Amazon S3\",\"Event\":\"s3:TestEvent\",\"Time\":\"2026-11-24T17:00:00.000Z\","
		"\"Bucket\":\"temp-video-bucket\",\"RequestId\":\"X\",\"HostId\":\"Y\"}";

		CHECK(s3event_parse(t, strlen(t), &ev, err, sizeof(err)) == 0);
		CHECK(ev.kind == S3EV_TEST && ev.nrecords == 0);
		s3event_free(&ev);
	}

	/* malformed input is rejected with a reason */
	CHECK(s3event_parse("not json", 8, &ev, err, sizeof(err)) == -1 && strstr(err, "not valid JSON"));
	CHECK(s3event_parse("[]", 2, &ev, err, sizeof(err)) == -1 && strstr(err, "not a JSON object"));
	CHECK(s3event_parse("{}", 2, &ev, err, sizeof(err)) == -1 && strstr(err, "no Records"));
	CHECK(s3event_parse("{\"Records\":{}}", 14, &ev, err, sizeof(err)) == -1 && strstr(err, "not an array"));
	{
		const char *nokey = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"bbb\"},\"object\":{}}}]}";
		const char *badesc = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"bbb\"},\"object\":{\"key\":\"a%zz\"}}}]}";

		CHECK(s3event_parse(nokey, strlen(nokey), &ev, err, sizeof(err)) == 0 && ev.nrecords == 0 &&
			  ev.nrejected == 1 && strstr(ev.rejected[0].reason, "without"));
		s3event_free(&ev);
		CHECK(s3event_parse(badesc, strlen(badesc), &ev, err, sizeof(err)) == 0 && ev.nrecords == 0 &&
			  ev.nrejected == 1 && strstr(ev.rejected[0].reason, "percent"));
		s3event_free(&ev);
	}
	/* a size no object can have is refused, not undefined behaviour (found by fuzz_s3event) */
	expect("\"bbb\"", "\"k\",\"size\":1048570000000000000000000000000000000000006", 0, "size", NULL);
	expect("\"bbb\"", "\"k\",\"size\":-5", 0, "size", NULL);
	expect("\"bbb\"", "\"k\",\"size\":\"x\"", 0, "size", NULL);
	CHECK(one("\"bbb\"", "\"k\",\"size\":5497558138880", &ev) == 1 && ev.records[0].size == INT64_C(5497558138880));
	s3event_free(&ev);
	expect("\"bbb\"", "\"k\",\"size\":5497558138881", 0, NULL, NULL);
	CHECK(one("\"bbb\"", "\"k\"", &ev) == 1 && ev.records[0].size == -1);	/* absent: unknown */
	s3event_free(&ev);
	test_s3event_fields();
	/* an empty Records array is valid and yields nothing */
	CHECK(s3event_parse("{\"Records\":[]}", 14, &ev, err, sizeof(err)) == 0 && ev.nrecords == 0);
	s3event_free(&ev);

	k = s3_key_decode("a+b%2Bc%25d%C3%A9");
	CHECK_STR(k, "a b+c%d\xc3\xa9");
	free(k);
	CHECK(s3_key_decode("a%00b") == NULL);
	CHECK(s3_key_decode("a%4") == NULL);

	CHECK(s3_sequencer_cmp("0062E99A88DC407460", "0062E99A88DC407461") < 0);
	CHECK(s3_sequencer_cmp("0062E99A88DC4074", "0062E99A88DC407400") == 0);
	CHECK(s3_sequencer_cmp("0062E99A88DC4075", "0062E99A88DC407400") > 0);
}
