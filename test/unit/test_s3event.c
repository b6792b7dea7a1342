/*
 * test_s3event.c — S3 notification parsing (shapes from aws.md).
 */
#include <stdlib.h>

#include "unit.h"
#include "../../src/s3event.h"

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
"\"s3\":{\"bucket\":{\"name\":\"b2\"},\"object\":{\"key\":\"a%2Fb\",\"size\":7,\"eTag\":\"abc-3\"}}},"
"{\"eventVersion\":\"3.0\",\"eventSource\":\"aws:s3\",\"eventName\":\"ObjectCreated:Put\","
"\"s3\":{\"bucket\":{\"name\":\"b3\"},\"object\":{\"key\":\"future\"}}}"
"]}";

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
		const char *nokey = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{}}}]}";
		const char *badesc = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"a%zz\"}}}]}";

		CHECK(s3event_parse(nokey, strlen(nokey), &ev, err, sizeof(err)) == -1 && strstr(err, "without"));
		CHECK(s3event_parse(badesc, strlen(badesc), &ev, err, sizeof(err)) == -1 && strstr(err, "percent"));
	}
	/* a size no object can have is unknown, not undefined behaviour (found by fuzz_s3event) */
	{
		const char *huge = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\",\"size\":1048570000000000000000000000000000000000006}}}]}";
		const char *neg = "{\"Records\":[{\"eventVersion\":\"2.1\",\"eventName\":\"ObjectCreated:Put\",\"s3\":{\"bucket\":{\"name\":\"b\"},\"object\":{\"key\":\"k\",\"size\":-5}}}]}";

		CHECK(s3event_parse(huge, strlen(huge), &ev, err, sizeof(err)) == 0 && ev.nrecords == 1 && ev.records[0].size == -1);
		s3event_free(&ev);
		CHECK(s3event_parse(neg, strlen(neg), &ev, err, sizeof(err)) == 0 && ev.nrecords == 1 && ev.records[0].size == -1);
		s3event_free(&ev);
	}
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
