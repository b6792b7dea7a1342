/*
 * test_bucket.c — S3's bucket naming rules, the object keys vtp accepts,
 * names escaped for logs, and the S3 URL builder refusing a bucket that
 * would carry another host (issue 10, item 4).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"
#include "aws.h"
#include "names.h"

static const char *const good_buckets[] = {
	"temp-video-bucket", "abc", "a.b.c", "my-bucket.2026", "0ab", "a--b",
	"123.456.789", "1.2.3.4.5", "xn-a", "bucket-s3alias-x", NULL
};

static const char *const bad_buckets[] = {
	"", "ab", "Temp-Video-Bucket", "attacker.example/x#", "127.0.0.1:9/x#", "a_b", "a b",
	"-abc", "abc-", ".abc", "abc.", "a..b", "a.-b", "a-.b", "192.168.5.4", "10.0.0.1",
	"xn--bucket", "sthree-bucket", "amzn-s3-demo-bucket", "bucket-s3alias", "bucket--ol-s3",
	"bucket.mrap", "bucket--x-s3", "bucket--table-s3", "b\xc3\xa9t", "abc\r\nX-Injected: 1",
	"a%2fb", "a@b.c", "a:b", NULL
};

/* A listening TCP socket on 127.0.0.1; its port in *port. */
static int
listener(int *port)
{
	struct sockaddr_in a;
	socklen_t	len = sizeof(a);
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) != 0 || listen(fd, 8) != 0 ||
		getsockname(fd, (struct sockaddr *) &a, &len) != 0)
		abort();
	*port = ntohs(a.sin_port);
	return fd;
}

/* Did a connection arrive on the listener (taking it if so)? */
static int
connected(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	int			c;

	if (poll(&p, 1, 200) <= 0)
		return 0;
	c = accept(fd, NULL, NULL);
	if (c >= 0)
		close(c);
	return c >= 0;
}

/* The URL builder: a bucket never changes the host, and a bad one sends nothing. */
static void
test_url_builder(void)
{
	aws_client	c;
	aws_error	err;
	s3_object_info info;
	vbuf		url = VBUF_INIT;
	char		bucket[64];
	int			fd,
				port,
				i;

	aws_client_defaults(&c);
	vtp_strlcpy(c.region, "us-east-1", sizeof(c.region));
	vtp_strlcpy(c.creds.access_key, "AKIDEXAMPLE", sizeof(c.creds.access_key));
	vtp_strlcpy(c.creds.secret_key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sizeof(c.creds.secret_key));
	vtp_strlcpy(c.creds.session_token, "SESSIONTOKEN", sizeof(c.creds.session_token));
	c.timeout_ms = 300;
	c.connect_timeout_ms = 300;
	c.max_retries = 0;

	/* virtual-hosted (AWS's default endpoint): the bucket is one host label run */
	CHECK(s3_presign_url(&c, "GET", "temp-video-bucket", "uploads/a b.mp4", 1700000000, 60, &url, &err) == 0);
	CHECK(strncmp(vbuf_str(&url), "https://temp-video-bucket.s3.us-east-1.amazonaws.com/uploads/a%20b.mp4?", 71) == 0);
	if (strncmp(vbuf_str(&url), "https://temp-video-bucket.s3.us-east-1.amazonaws.com/uploads/a%20b.mp4?", 71) != 0)
		fprintf(stderr, "  url: %s\n", vbuf_str(&url));
	vbuf_reset(&url);
	CHECK(s3_presign_url(&c, "GET", "a.b.c", "k#x", 1700000000, 60, &url, &err) == 0);
	CHECK(strncmp(vbuf_str(&url), "https://a.b.c.s3.us-east-1.amazonaws.com/k%23x?", 47) == 0);
	for (i = 0; bad_buckets[i]; i++)
	{
		vbuf_reset(&url);
		CHECK(s3_presign_url(&c, "GET", bad_buckets[i], "k", 1700000000, 60, &url, &err) == -1);
		CHECK(url.len == 0 && strcmp(err.code, "InvalidBucketName") == 0 && !err.transient);
	}
	/* the message shows the name escaped, never the credentials */
	CHECK(s3_presign_url(&c, "GET", "abc\r\nX-Injected: 1", "k", 1700000000, 60, &url, &err) == -1);
	CHECK(strstr(err.message, "abc\\x0d\\x0aX-Injected: 1") != NULL && strchr(err.message, '\r') == NULL);
	CHECK(strstr(err.message, "AKIDEXAMPLE") == NULL && strstr(err.message, "SESSIONTOKEN") == NULL);
	/* a region that is not a host label is refused too */
	vtp_strlcpy(c.region, "x.attacker.example/", sizeof(c.region));
	CHECK(s3_presign_url(&c, "GET", "temp-video-bucket", "k", 1700000000, 60, &url, &err) == -1);
	vtp_strlcpy(c.region, "us-east-1", sizeof(c.region));
	vbuf_free(&url);

	/*
	 * A bucket carrying a local host: on main, virtual-hosted addressing made
	 * https://127.0.0.1:PORT/x#.s3.us-east-1.amazonaws.com/k and the signed
	 * request (key id, session token) went to that port. Now nothing does.
	 */
	fd = listener(&port);
	snprintf(bucket, sizeof(bucket), "127.0.0.1:%d/x#", port);
	CHECK(s3_head(&c, bucket, "k", &info, &err) == -1 && strcmp(err.code, "InvalidBucketName") == 0);
	CHECK(s3_delete(&c, bucket, "k", &err) == -1 && strcmp(err.code, "InvalidBucketName") == 0);
	CHECK(s3_put_bytes(&c, bucket, "k", "x", 1, NULL, &err) == -1 && strcmp(err.code, "InvalidBucketName") == 0);
	CHECK(!connected(fd));
	/* the probe sees a connection when one is made: path-style to that port */
	snprintf(c.s3_endpoint, sizeof(c.s3_endpoint), "http://127.0.0.1:%d", port);
	CHECK(s3_head(&c, bucket, "k", &info, &err) == -1 && strcmp(err.code, "InvalidBucketName") == 0);
	CHECK(!connected(fd));
	CHECK(s3_head(&c, "temp-video-bucket", "k", &info, &err) == -1 && strcmp(err.code, "InvalidBucketName") != 0);
	CHECK(connected(fd));
	close(fd);
	aws_client_cleanup(&c);
}

void
test_bucket(void)
{
	char		bad[80],
				out[64],
				key[1100];
	int			i;

	for (i = 0; good_buckets[i]; i++)
		CHECK(vtp_bucket_name_error(good_buckets[i]) == NULL);
	for (i = 0; bad_buckets[i]; i++)
	{
		CHECK(vtp_bucket_name_error(bad_buckets[i]) != NULL);
		if (vtp_bucket_name_error(bad_buckets[i]) == NULL)
			fprintf(stderr, "  accepted bucket: %s\n", bad_buckets[i]);
	}
	memset(key, 'a', 63);
	key[63] = '\0';
	CHECK(vtp_bucket_name_error(key) == NULL);
	key[63] = 'a';
	key[64] = '\0';
	CHECK(vtp_bucket_name_error(key) != NULL);

	/* vtp.source_buckets */
	CHECK(vtp_bucket_list_error("", bad, sizeof(bad)) == NULL);
	CHECK(vtp_bucket_list_error("  ", bad, sizeof(bad)) == NULL);
	CHECK(vtp_bucket_list_error("abc, media.example-2 ,xyz", bad, sizeof(bad)) == NULL);
	CHECK(vtp_bucket_list_error("abc,Bad", bad, sizeof(bad)) != NULL);
	CHECK_STR(bad, "Bad");
	CHECK(vtp_bucket_list_error("abc,,xyz", bad, sizeof(bad)) != NULL);
	CHECK(vtp_bucket_list_error("abc,", bad, sizeof(bad)) != NULL);
	CHECK(vtp_bucket_list_error("abc,x\ny", bad, sizeof(bad)) != NULL);
	CHECK_STR(bad, "x\\x0ay");
	CHECK(vtp_bucket_in_list("abc, media.example-2 ,xyz", "media.example-2"));
	CHECK(vtp_bucket_in_list("abc,xyz", "xyz"));
	CHECK(!vtp_bucket_in_list("abc,xyz", "ab"));
	CHECK(!vtp_bucket_in_list("abc,xyz", "abc,xyz"));
	CHECK(!vtp_bucket_in_list("", "abc"));

	/* keys */
	CHECK(vtp_key_error("uploads/a b+c.mp4", 17) == NULL);
	CHECK(vtp_key_error("vid\xc3\xa9o/\xe6\x97\xa5\xf0\x9f\x8e\xa5", 14) == NULL);
	CHECK(vtp_key_error("", 0) != NULL);
	CHECK(vtp_key_error("a\x01" "b", 3) != NULL);
	CHECK(vtp_key_error("a\r\nb", 4) != NULL);
	CHECK(vtp_key_error("a\x7f", 2) != NULL);
	CHECK(vtp_key_error("a\0b", 3) != NULL);
	CHECK(vtp_key_error("\xff\xfe", 2) != NULL);				/* not UTF-8 */
	CHECK(vtp_key_error("\xc3", 1) != NULL);					/* cut sequence */
	CHECK(vtp_key_error("\xc0\xaf", 2) != NULL);				/* overlong '/' */
	CHECK(vtp_key_error("\xe0\x80\xaf", 3) != NULL);			/* overlong '/' */
	CHECK(vtp_key_error("\xed\xa0\x80", 3) != NULL);			/* a surrogate */
	CHECK(vtp_key_error("\xf4\x90\x80\x80", 4) != NULL);		/* beyond U+10FFFF */
	memset(key, 'k', sizeof(key));
	CHECK(vtp_key_error(key, 1024) == NULL);
	CHECK(vtp_key_error(key, 1025) != NULL);

	/* escaping for logs: controls and bad bytes shown, cut to fit */
	vtp_escape_name("a\"b\\c\r\n\x01\x7f\xff\xc3\xa9\xc2\x85", out, sizeof(out));
	CHECK_STR(out, "a\\x22b\\x5cc\\x0d\\x0a\\x01\\x7f\\xff\xc3\xa9\\xc2\\x85");
	memset(key, 'k', 100);
	key[100] = '\0';
	vtp_escape_name(key, out, 16);
	CHECK(strlen(out) == 15 && strcmp(out + 12, "...") == 0);
	vtp_escape_name("\x01\x01\x01\x01", out, 12);
	CHECK_STR(out, "\\x01\\x01...");
	vtp_escape_name("abc", out, 4);
	CHECK_STR(out, "abc");

	test_url_builder();
}
