/*
 * test_aws_xml.c — the AWS client's text parsing and its errors: values out
 * of S3's XML answers, ETags without their quotes, endpoint URLs, region
 * names, the aws_error setter and the decoding of AWS error bodies.
 */
#include "unit.h"
#include "aws.h"
#include "aws_int.h"

static void
test_xml_values(void)
{
	char		v[128];

	CHECK(aws_xml_value("<r><UploadId>abc&amp;def</UploadId></r>", "UploadId", v, sizeof(v)));
	CHECK_STR(v, "abc&def");
	CHECK(aws_xml_value("<CompleteMultipartUploadResult><ETag>&quot;x-2&quot;</ETag></CompleteMultipartUploadResult>", "ETag", v, sizeof(v)));
	CHECK_STR(v, "\"x-2\"");
	CHECK(!aws_xml_value("<r><Code>NoSuchKey</Code></r>", "Message", v, sizeof(v)));
	CHECK(!aws_xml_value("<r><Code>unterminated", "Code", v, sizeof(v)));
	CHECK(aws_xml_value("<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>", "Message", v, 8));
	CHECK_STR(v, "Reduce ");	/* truncated to the buffer, terminated */
}

static void
test_etag_unquote(void)
{
	char		v[64];
	const char *hdr = " \"d41d8cd98f00b204e9800998ecf8427e-2\"\r\nContent-Length: 0\r\n";
	char		inplace[] = "\"\"abc\"\"";

	/* a header's value: only len bytes are read, blanks, CRLF and quotes go */
	CHECK(vtp_etag_unquote(hdr, strcspn(hdr, "C"), v, sizeof(v)) == 34);
	CHECK_STR(v, "d41d8cd98f00b204e9800998ecf8427e-2");
	CHECK(vtp_etag_unquote("\"x-2\"", 5, v, sizeof(v)) == 3);
	CHECK_STR(v, "x-2");
	vtp_etag_unquote("abc", 3, v, sizeof(v));
	CHECK_STR(v, "abc");		/* unquoted stays as it is */
	vtp_etag_unquote("\"\"", 2, v, sizeof(v));
	CHECK_STR(v, "");
	vtp_etag_unquote("\"abcdef\"", 8, v, 4);
	CHECK_STR(v, "abc");		/* cut to the buffer, terminated */
	vtp_etag_unquote(inplace, strlen(inplace), inplace, sizeof(inplace));
	CHECK_STR(inplace, "abc");	/* in place */
}

static void
check_endpoint(const char *url, const char *base, const char *host)
{
	vbuf		b = VBUF_INIT,
				h = VBUF_INIT;

	aws_endpoint_parse(url, &b, &h);
	CHECK_STR(vbuf_str(&b), base);
	CHECK_STR(vbuf_str(&h), host);
	vbuf_free(&b);
	vbuf_free(&h);
}

static void
test_endpoints(void)
{
	check_endpoint("http://127.0.0.1:9000/", "http://127.0.0.1:9000", "127.0.0.1:9000");
	check_endpoint("http://h:1//", "http://h:1", "h:1");
	check_endpoint("https://sqs.us-east-1.amazonaws.com", "https://sqs.us-east-1.amazonaws.com",
				   "sqs.us-east-1.amazonaws.com");
	check_endpoint("http://h/prefix/", "http://h/prefix", "h");
	check_endpoint("localhost:4566", "localhost:4566", "localhost:4566");	/* no scheme */
	CHECK(aws_region_ok("us-east-1"));
	CHECK(aws_region_ok("cn-north-1"));
	CHECK(!aws_region_ok(""));
	CHECK(!aws_region_ok("x.attacker.example/"));
	CHECK(!aws_region_ok("US-EAST-1"));
}

static void
test_error_set(void)
{
	aws_error	err;
	char		big[700];

	memset(&err, 0x55, sizeof(err));	/* whatever was there before goes */
	aws_error_set(&err, 404, "NoSuchKey", false, "no %s in %d", "k", 7);
	CHECK(err.http_status == 404 && !err.transient && !err.aborted && err.curl_code == 0);
	CHECK_STR(err.code, "NoSuchKey");
	CHECK_STR(err.message, "no k in 7");
	aws_error_set(&err, 0, "LocalFile", true, "%s", "50% full");
	CHECK(err.http_status == 0 && err.transient);
	CHECK_STR(err.message, "50% full");
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	aws_error_set(&err, 0, big, true, "%s", big);
	CHECK(strlen(err.code) == sizeof(err.code) - 1 && strlen(err.message) == sizeof(err.message) - 1);
}

/* The error an answer with this status and body decodes to. */
static void
decode(const char *service, long status, const char *body, aws_error *err)
{
	aws_request req;
	aws_response resp;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	req.method = "GET";
	req.service = service;
	resp.status = status;
	vbuf_puts(&resp.body, body);
	aws_error_from_http(&req, &resp, err);
	aws_response_free(&resp);
}

static void
test_error_bodies(void)
{
	aws_error	err;

	decode("s3", 404, "<Error><Code>NoSuchKey</Code><Message>The key does not exist</Message></Error>", &err);
	CHECK(err.http_status == 404 && !err.transient);
	CHECK_STR(err.code, "NoSuchKey");
	CHECK_STR(err.message, "The key does not exist");
	decode("s3", 503, "<Error><Code>SlowDown</Code></Error>", &err);
	CHECK(err.transient);
	CHECK_STR(err.message, "HTTP status 503");
	decode("s3", 400, "<Error><Code>RequestTimeout</Code></Error>", &err);
	CHECK(err.transient);
	decode("s3", 403, "", &err);
	CHECK_STR(err.code, "AccessDenied");
	decode("s3", 418, "", &err);
	CHECK_STR(err.code, "HTTP418");
	CHECK(!err.transient);
	decode("sqs", 400, "{\"__type\":\"com.amazonaws.sqs#QueueDoesNotExist\",\"message\":\"no queue\"}", &err);
	CHECK_STR(err.code, "QueueDoesNotExist");
	CHECK_STR(err.message, "no queue");
	CHECK(!err.transient);
	decode("sqs", 400, "{\"__type\":\"ThrottlingException\",\"Message\":\"slow\"}", &err);
	CHECK_STR(err.code, "ThrottlingException");
	CHECK_STR(err.message, "slow");
	CHECK(err.transient);
}

void
test_aws_xml(void)
{
	test_xml_values();
	test_etag_unquote();
	test_endpoints();
	test_error_set();
	test_error_bodies();
}
