/*
 * test_sigv4.c — SigV4 against AWS's published answers (sigv4-vectors.md).
 */
#include <stdlib.h>

#include "unit.h"
#include "sigv4.h"

static sigv4_creds suite_creds = {"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", ""};
static sigv4_creds s3_creds = {"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

static void
sig(const char *method, const char *path, const char *rawq, const sigv4_header *h, int nh,
	const char *payload_hash, const sigv4_creds *c, const char *service, const char *date,
	char out[65])
{
	sigv4_input in;
	vbuf		q = VBUF_INIT;

	sigv4_canonical_query(&q, rawq);
	memset(&in, 0, sizeof(in));
	in.method = method;
	in.path = path;
	in.query = q.data;
	in.headers = h;
	in.nheaders = nh;
	in.payload_hash = payload_hash;
	in.region = "us-east-1";
	in.service = service;
	in.amz_date = date;
	sigv4_signature(&in, c->secret_key, out);
	vbuf_free(&q);
}

void
test_sigv4(void)
{
	char		s[65];
	char		h[65];
	vbuf		b = VBUF_INIT;

	vtp_sha256_hex("", 0, h);
	CHECK_STR(h, SIGV4_EMPTY_SHA256);

	{
		sigv4_header hv[] = {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};

		sig("GET", "/", "", hv, 2, SIGV4_EMPTY_SHA256, &suite_creds, "service", "20150830T123600Z", s);
		CHECK_STR(s, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
		sig("POST", "/", "", hv, 2, SIGV4_EMPTY_SHA256, &suite_creds, "service", "20150830T123600Z", s);
		CHECK_STR(s, "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
	}
	{
		sigv4_header hv[] = {{"Content-Type", "application/x-www-form-urlencoded"},
		{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}};

		vtp_sha256_hex("Param1=value1", 13, h);
		sig("POST", "/", "", hv, 3, h, &suite_creds, "service", "20150830T123600Z", s);
		CHECK_STR(s, "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a");
	}
	{
		sigv4_header hv[] = {{"Host", "examplebucket.s3.amazonaws.com"}, {"Range", "bytes=0-9"},
		{"x-amz-content-sha256", SIGV4_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};

		sig("GET", "/test.txt", "", hv, 4, SIGV4_EMPTY_SHA256, &s3_creds, "s3", "20130524T000000Z", s);
		CHECK_STR(s, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
	}
	{
		const char *ph = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072";
		sigv4_header hv[] = {{"Host", "examplebucket.s3.amazonaws.com"},
		{"Date", "Fri, 24 May 2013 00:00:00 GMT"}, {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
		{"x-amz-content-sha256", ph}, {"x-amz-date", "20130524T000000Z"}};

		vtp_sha256_hex("Welcome to Amazon S3.", 21, h);
		CHECK_STR(h, ph);
		/* the key "test$file.text" encoded as S3 wants */
		sigv4_uri_encode(&b, "/test$file.text", false);
		CHECK_STR(b.data, "/test%24file.text");
		sig("PUT", b.data, "", hv, 5, ph, &s3_creds, "s3", "20130524T000000Z", s);
		CHECK_STR(s, "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
		vbuf_free(&b);
	}
	{
		sigv4_header hv[] = {{"Host", "examplebucket.s3.amazonaws.com"},
		{"x-amz-content-sha256", SIGV4_EMPTY_SHA256}, {"x-amz-date", "20130524T000000Z"}};

		sig("GET", "/", "lifecycle", hv, 3, SIGV4_EMPTY_SHA256, &s3_creds, "s3", "20130524T000000Z", s);
		CHECK_STR(s, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
		sig("GET", "/", "max-keys=2&prefix=J", hv, 3, SIGV4_EMPTY_SHA256, &s3_creds, "s3", "20130524T000000Z", s);
		CHECK_STR(s, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
		sig("GET", "/", "prefix=J&max-keys=2", hv, 3, SIGV4_EMPTY_SHA256, &s3_creds, "s3", "20130524T000000Z", s);
		CHECK_STR(s, "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
	}
	/* presigned GET */
	sigv4_presign(&b, "GET", "https://examplebucket.s3.amazonaws.com", "examplebucket.s3.amazonaws.com",
				  "/test.txt", NULL, &s3_creds, "us-east-1", "s3", "20130524T000000Z", 86400);
	CHECK(strstr(b.data, "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404") != NULL);
	CHECK(strstr(b.data, "X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request") != NULL);
	vbuf_free(&b);

	/* canonical query: decoded, re-encoded upper-case, '=' after bare names, sorted */
	sigv4_canonical_query(&b, "uploadId=a%2fb c&partNumber=1&uploads");
	CHECK_STR(b.data, "partNumber=1&uploadId=a%2Fb%20c&uploads=");
	vbuf_free(&b);
	sigv4_uri_encode(&b, "uploads/x y/é+~", false);
	CHECK_STR(b.data, "uploads/x%20y/%C3%A9%2B~");
	vbuf_free(&b);
}
