/*
 * aws_live.c — vtp's AWS client against a real S3+SQS server (the test
 * emulator, whose proxy verifies signatures with the AWS SDK's signer).
 *
 *   aws_live ENDPOINT QUEUE_URL
 *
 * Credentials come from the environment, as in production.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "unit.h"
#include "aws.h"
#include "creds.h"
#include "json.h"

int			unit_passed = 0;
int			unit_failed = 0;

#define CHECK_QUIET(cond) do { if (!(cond)) { unit_failed++; fprintf(stderr, "FAIL %s:%d\n", __FILE__, __LINE__); } } while (0)

static size_t
discard(char *p, size_t s, size_t n, void *a)
{
	return s * n;
}

/* Status of a plain, unsigned request to url (PUT with body if given). */
static int
http_status(const char *url, const char *body, long *status)
{
	CURL	   *h = curl_easy_init();
	CURLcode	cc;
	struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/octet-stream");

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	if (body)
	{
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	}
	cc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(h);
	curl_slist_free_all(hl);
	return cc == CURLE_OK ? 0 : -1;
}

static int
file_equal(const char *a, const char *b)
{
	FILE	   *fa = fopen(a, "rb"),
			   *fb = fopen(b, "rb");
	int			ca,
				cb,
				eq = fa && fb;

	while (eq)
	{
		ca = fgetc(fa);
		cb = fgetc(fb);
		if (ca != cb)
			eq = 0;
		if (ca == EOF || cb == EOF)
			break;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return eq;
}

#define TEMP "temp-video-bucket"
#define OUTPUT "output-video-bucket"

/* A 12 MiB file: three parts of 5 MiB. */
static int
make_file(char *path)
{
	int			fd = mkstemp(path),
				i;

	for (i = 0; i < 12 * 1024; i++)
	{
		char		block[1024];

		memset(block, 'a' + (i % 26), sizeof(block));
		block[0] = (char) i;
		if (write(fd, block, sizeof(block)) != sizeof(block))
			return -1;
	}
	close(fd);
	return 0;
}

/* Put (multipart), head, get (whole, and over a limit), delete. */
static void
test_objects(aws_client *c, const char *src, const char *dst)
{
	aws_error	err;
	s3_object_info info;
	const char *key = "uploads/t 1/a+b%c/\xc3\xa9/../x$y.bin";
	const char *small = "small/o'k\\\".txt";

	CHECK(s3_put_file(c, TEMP, key, src, "video/mp4", &err) == 0);
	CHECK(s3_head(c, TEMP, key, &info, &err) == 0);
	CHECK(info.size == 12 * 1024 * 1024);
	CHECK(strstr(info.etag, "-3") != NULL);	/* multipart ETag */
	CHECK(s3_get_to_file(c, TEMP, key, dst, 0, NULL, &err) == 0);
	CHECK(file_equal(src, dst));
	/* a size limit is enforced while downloading */
	CHECK(s3_get_to_file(c, TEMP, key, dst, 1024 * 1024, NULL, &err) == -1);
	CHECK_STR(err.code, "TooLarge");
	CHECK(!err.transient);

	CHECK(s3_put_bytes(c, OUTPUT, small, "hello", 5, "text/plain", &err) == 0);
	CHECK(s3_head(c, OUTPUT, small, &info, &err) == 0 && info.size == 5);
	CHECK(s3_delete(c, OUTPUT, small, &err) == 0);
	CHECK(s3_head(c, OUTPUT, small, &info, &err) == -1 && err.http_status == 404);
	CHECK(!err.transient);
	CHECK(s3_delete(c, OUTPUT, small, &err) == 0);	/* idempotent */
	CHECK(s3_get_to_file(c, TEMP, "no/such/key", dst, 0, NULL, &err) == -1);
	CHECK(err.http_status == 404 && !err.transient);
	CHECK(s3_delete(c, TEMP, key, &err) == 0);
}

/* Presigned URLs, fetched with plain libcurl (no signing of ours). */
static void
test_presigned(aws_client *c)
{
	aws_error	err;
	s3_object_info info;
	vbuf		url = VBUF_INIT;
	long		st = 0;

	CHECK(s3_put_bytes(c, OUTPUT, "pre/s a+b.txt", "presigned", 9, "text/plain", &err) == 0);
	CHECK(s3_presign_url(c, "GET", OUTPUT, "pre/s a+b.txt", (long) time(NULL), 60, &url, &err) == 0);
	CHECK(http_status(url.data, NULL, &st) == 0 && st == 200);
	vbuf_reset(&url);
	CHECK(s3_presign_url(c, "GET", OUTPUT, "pre/s a+b.txt", (long) time(NULL) - 120, 60, &url, &err) == 0);
	CHECK(http_status(url.data, NULL, &st) == 0 && st == 403);	/* expired */
	vbuf_reset(&url);
	CHECK(s3_presign_url(c, "PUT", TEMP, "uploads/pre/put.bin", (long) time(NULL), 60, &url, &err) == 0);
	CHECK(http_status(url.data, "put by a client", &st) == 0 && st == 200);
	CHECK(s3_head(c, TEMP, "uploads/pre/put.bin", &info, &err) == 0 && info.size == 15);
	vbuf_free(&url);
}

/* Streaming: a small body becomes one PUT; an abandoned multipart stream leaves no object. */
static void
test_streams(aws_client *c)
{
	aws_error	err;
	s3_object_info info;
	s3_stream	stream;
	char		etag[128],
				block[256];
	int			i;

	memset(block, 'z', sizeof(block));
	s3_stream_begin(&stream, c, TEMP, "stream/small", NULL);
	CHECK(s3_stream_write(&stream, "abc", 3, &err) == 0);
	CHECK(s3_stream_finish(&stream, etag, sizeof(etag), &err) == 0 && etag[0] != '\0');
	s3_stream_abort(&stream);
	CHECK(s3_head(c, TEMP, "stream/small", &info, &err) == 0 && info.size == 3);
	s3_stream_begin(&stream, c, TEMP, "stream/abandoned", NULL);
	for (i = 0; i < 6 * 4096; i++)
		CHECK_QUIET(s3_stream_write(&stream, block, sizeof(block), &err) == 0);
	CHECK(stream.upload_id[0] != '\0');
	s3_stream_abort(&stream);
	CHECK(s3_head(c, TEMP, "stream/abandoned", &info, &err) == -1 && err.http_status == 404);
}

/* If-Match: only the announced version is downloaded. */
static void
test_if_match(aws_client *c, const char *dst)
{
	aws_error	err;
	s3_object_info info;
	char		v1[128];

	CHECK(s3_put_bytes(c, TEMP, "uploads/v/clip.mp4", "version one", 11, NULL, &err) == 0);
	CHECK(s3_head(c, TEMP, "uploads/v/clip.mp4", &info, &err) == 0);
	vtp_strlcpy(v1, info.etag, sizeof(v1));
	CHECK(s3_get_to_file(c, TEMP, "uploads/v/clip.mp4", dst, 0, v1, &err) == 0);
	CHECK(s3_put_bytes(c, TEMP, "uploads/v/clip.mp4", "version two!", 12, NULL, &err) == 0);
	CHECK(s3_get_to_file(c, TEMP, "uploads/v/clip.mp4", dst, 0, v1, &err) == -1);
	CHECK(err.http_status == 412 && !err.transient);
}

/* Objects listed one page at a time: keys XML-decoded, ETags unquoted, times parsed. */
static void
test_list_objects(aws_client *c)
{
	aws_error	err;
	s3_page		page;
	char		token[1024] = "";
	int			pages = 0,
				found = 0,
				i;
	long		now = (long) time(NULL);

	for (i = 0; i < 3; i++)
	{
		char		k[64];

		snprintf(k, sizeof(k), "uploads/list/%d & <%d>.mp4", i, i);
		CHECK_QUIET(s3_put_bytes(c, TEMP, k, "x", 1, NULL, &err) == 0);
	}
	do
	{
		CHECK(s3_list_objects(c, TEMP, "uploads/list/", token, &page, &err) == 0);
		for (i = 0; i < page.n; i++)
			if (strncmp(page.e[i].key, "uploads/list/", 13) == 0 && strstr(page.e[i].key, " & <") &&
				page.e[i].size == 1 && strlen(page.e[i].id) == 32 && labs(page.e[i].time - now) < 120)
				found++;
		vtp_strlcpy(token, page.next, sizeof(token));
		s3_page_free(&page);
		pages++;
	} while (token[0] && pages < 10);
	CHECK(found == 3);
}

/* An unfinished multipart upload is listed, and aborted (twice: idempotent). */
static void
test_list_uploads(aws_client *c)
{
	aws_error	err;
	s3_page		page;
	s3_stream	stream;
	char		id[1024] = "",
				block[256];
	int			i;

	memset(block, 'y', sizeof(block));
	s3_stream_begin(&stream, c, OUTPUT, "videos/x/480p.mp4", NULL);
	for (i = 0; i < 6 * 4096; i++)
		CHECK_QUIET(s3_stream_write(&stream, block, sizeof(block), &err) == 0);
	CHECK(s3_list_uploads(c, OUTPUT, "", &page, &err) == 0);
	for (i = 0; i < page.n; i++)
		if (strcmp(page.e[i].key, "videos/x/480p.mp4") == 0)
			vtp_strlcpy(id, page.e[i].id, sizeof(id));
	s3_page_free(&page);
	CHECK(strcmp(id, stream.upload_id) == 0);
	CHECK(s3_abort_upload(c, OUTPUT, "videos/x/480p.mp4", id, &err) == 0);
	CHECK(s3_list_uploads(c, OUTPUT, "", &page, &err) == 0 && page.n == 0);
	s3_page_free(&page);
	CHECK(s3_abort_upload(c, OUTPUT, "videos/x/480p.mp4", id, &err) == 0);	/* idempotent */
	stream.upload_id[0] = '\0';
	s3_stream_free(&stream);
}

/* Queue attributes: the redrive policy the set-up gives each queue. */
static void
test_queue_attributes(aws_client *c, const char *queue)
{
	aws_error	err;
	json_value *attrs = sqs_get_attributes(c, queue, &err);
	const char *rp = json_get_str(attrs, "RedrivePolicy");
	json_value *policy = rp ? json_parse(rp, strlen(rp), NULL, 0) : NULL;
	int64_t		max_receives = 0;
	double		waiting = -1;

	CHECK(attrs != NULL && json_get_num(attrs, "ApproximateNumberOfMessages", &waiting) && waiting == 0);
	CHECK(json_get_int(policy, "maxReceiveCount", 3, 1000, &max_receives));
	json_free(policy);
	json_free(attrs);
}

/* Send, receive (counted), make visible again, receive, delete; a queue that is not there. */
static void
test_sqs(aws_client *c, const char *queue)
{
	aws_error	err;
	sqs_message *msgs;
	int			n;

	CHECK(sqs_send(c, queue, "{\"video_id\":\"x\",\"q\":\"\\\"\"}", &err) == 0);
	CHECK(sqs_receive(c, queue, 10, 1, 30, &msgs, &n, &err) == 0);
	CHECK(n == 1);
	if (n == 1)
	{
		CHECK_STR(msgs[0].body, "{\"video_id\":\"x\",\"q\":\"\\\"\"}");
		CHECK(msgs[0].receive_count == 1);
		CHECK(sqs_change_visibility(c, queue, msgs[0].receipt_handle, 0, &err) == 0);
		sqs_messages_free(msgs, n);
		CHECK(sqs_receive(c, queue, 10, 1, 30, &msgs, &n, &err) == 0 && n == 1);
		CHECK(n == 1 && msgs[0].receive_count == 2);
		if (n == 1)
			CHECK(sqs_delete(c, queue, msgs[0].receipt_handle, &err) == 0);
	}
	sqs_messages_free(msgs, n);
	CHECK(sqs_receive(c, queue, 10, 1, 30, &msgs, &n, &err) == 0 && n == 0);
	sqs_messages_free(msgs, n);
	CHECK(sqs_send(c, "http://sqs.us-east-1.localhost:1/000000000000/nope", "x", &err) == -1);
	CHECK(strstr(err.code, "NonExistentQueue") || strstr(err.code, "QueueDoesNotExist"));
}

/* A wrong secret is refused and not retried; nothing listening is a transient network error. */
static void
test_refusals(aws_client *c, const char *queue)
{
	aws_error	err;
	s3_object_info info;

	c->creds.secret_key[0] ^= 1;
	CHECK(s3_put_bytes(c, TEMP, "x", "x", 1, NULL, &err) == -1);
	CHECK_STR(err.code, "SignatureDoesNotMatch");
	CHECK(sqs_send(c, queue, "x", &err) == -1);
	CHECK_STR(err.code, "SignatureDoesNotMatch");
	c->creds.secret_key[0] ^= 1;

	vtp_strlcpy(c->s3_endpoint, "http://127.0.0.1:9", sizeof(c->s3_endpoint));
	c->max_retries = 0;
	CHECK(s3_head(c, "bbb", "k", &info, &err) == -1 && err.transient && strcmp(err.code, "NetworkError") == 0);
}

int
main(int argc, char **argv)
{
	aws_client	c;
	char		cerr[256];
	char		src[] = "/tmp/vtp-aws-live-XXXXXX";
	char		dst[64];

	if (argc != 3)
	{
		fprintf(stderr, "usage: aws_live ENDPOINT QUEUE_URL\n");
		return 2;
	}
	aws_client_defaults(&c);
	vtp_strlcpy(c.s3_endpoint, argv[1], sizeof(c.s3_endpoint));
	vtp_strlcpy(c.sqs_endpoint, argv[1], sizeof(c.sqs_endpoint));
	c.part_size = 5 * 1024 * 1024;
	c.max_retries = 1;
	CHECK(aws_creds_load("default", &c.creds, cerr, sizeof(cerr)) == 0);
	if (make_file(src) != 0)
		return 2;
	snprintf(dst, sizeof(dst), "%s.out", src);

	test_objects(&c, src, dst);
	test_presigned(&c);
	test_streams(&c);
	test_if_match(&c, dst);
	test_list_objects(&c);
	test_list_uploads(&c);
	test_queue_attributes(&c, argv[2]);
	test_sqs(&c, argv[2]);
	test_refusals(&c, argv[2]);

	aws_client_cleanup(&c);
	unlink(src);
	unlink(dst);
	printf("aws_live: %d passed, %d failed\n", unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}
