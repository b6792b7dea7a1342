/*
 * aws.c — signed HTTP requests to AWS-compatible endpoints with libcurl: the
 * client's credentials, one attempt (signing, timeouts, the answer read
 * within limits) and the retries around it (no PostgreSQL). What a failure
 * means is aws_error.c's.
 */
#include "aws_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "backoff.h"
#include "creds.h"
#include "vtp_assert.h"

#define ERROR_BODY_MAX (64 * 1024)
#define OK_BODY_MAX (8 * 1024 * 1024)

void
aws_client_defaults(aws_client *c)
{
	memset(c, 0, sizeof(*c));
	vtp_strlcpy(c->region, "us-east-1", sizeof(c->region));
	c->connect_timeout_ms = 5000;
	c->timeout_ms = 30000;
	c->max_retries = 4;
	c->part_size = 8 * 1024 * 1024;
}

int
aws_client_use_chain(aws_client *c, const char *profile, char *err, size_t errlen)
{
	aws_creds_config cfg = {profile, c->region, c->abort_check, c->cb_arg};

	c->creds_chain = true;
	vtp_strlcpy(c->creds_profile, profile ? profile : "", sizeof(c->creds_profile));
	return aws_creds_current(&cfg, &c->creds, NULL, err, errlen);
}

int
aws_client_creds(aws_client *c, aws_error *err)
{
	aws_creds_config cfg = {c->creds_profile, c->region, c->abort_check, c->cb_arg};
	char		why[512];

	if (!c->creds_chain)
		return 0;
	if (aws_creds_current(&cfg, &c->creds, NULL, why, sizeof(why)) == 0)
		return 0;
	/* a metadata endpoint that hiccups is worth another try (a failure is remembered briefly) */
	aws_error_set(err, 0, "CredentialsUnavailable", true, "%s", why);
	if (c->abort_check && c->abort_check(c->cb_arg))
		err->aborted = true;
	return -1;
}

void
aws_client_cleanup(aws_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	OPENSSL_cleanse(&c->creds, sizeof(c->creds));
}

void
aws_response_free(aws_response *r)
{
	vbuf_free(&r->body);
}

typedef struct xfer
{
	aws_client *c;
	const aws_request *req;
	aws_response *resp;
	bool		limit_hit;
	bool		write_failed;
} xfer;

static size_t
on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	xfer	   *x = arg;
	size_t		n = size * nmemb;
	long		status = 0;

	curl_easy_getinfo(x->c->curl, CURLINFO_RESPONSE_CODE, &status);
	if (x->req->out_fd >= 0 && status >= 200 && status < 300)
	{
		size_t		off = 0;

		if (x->req->max_out > 0 && x->resp->written + (int64_t) n > x->req->max_out)
		{
			x->limit_hit = true;
			return 0;
		}
		while (off < n)
		{
			ssize_t		w = write(x->req->out_fd, ptr + off, n - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
			{
				x->write_failed = true;
				return 0;
			}
			off += (size_t) w;
		}
		x->resp->written += (int64_t) n;
		VTP_ASSERT(x->req->max_out <= 0 || x->resp->written <= x->req->max_out);
		return n;
	}
	if (x->resp->body.len + n > ((status >= 200 && status < 300) ? OK_BODY_MAX : ERROR_BODY_MAX))
	{
		x->limit_hit = true;
		return 0;
	}
	vbuf_append(&x->resp->body, ptr, n);
	return n;
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *arg)
{
	xfer	   *x = arg;
	size_t		n = size * nitems;

	if (n > 5 && strncasecmp(buf, "etag:", 5) == 0)
		vtp_etag_unquote(buf + 5, n - 5, x->resp->etag, sizeof(x->resp->etag));
	else if (n > 15 && strncasecmp(buf, "content-length:", 15) == 0)
		x->resp->content_length = strtoll(buf + 15, NULL, 10);
	return n;
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	xfer	   *x = arg;

	return (x->c->abort_check && x->c->abort_check(x->c->cb_arg)) ? 1 : 0;
}

/* curl_easy_perform, with c->between called while the transfer waits. */
static CURLcode
perform_multi(aws_client *c, CURL *h)
{
	CURLM	   *m = curl_multi_init();
	CURLcode	cc = CURLE_OK;
	CURLMsg    *msg;
	int			running = 1,
				left;

	if (m == NULL)
		return CURLE_OUT_OF_MEMORY;
	curl_multi_add_handle(m, h);
	for (;;)
	{
		if (curl_multi_perform(m, &running) != CURLM_OK || running == 0)
			break;
		if (curl_multi_poll(m, NULL, 0, 200, NULL) != CURLM_OK)
			break;
		c->between(c->cb_arg);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == h)
			cc = msg->data.result;
	curl_multi_remove_handle(m, h);
	curl_multi_cleanup(m);
	return cc;
}

/* One attempt's buffers: all of it is freed, the signature wiped, at the end. */
typedef struct attempt
{
	vbuf		url;
	vbuf		query;
	vbuf		auth;
	vbuf		if_match;		/* the quoted ETag */
	vbuf		line;			/* scratch for a header line */
	struct curl_slist *headers;
	char		payload_hash[65];
	char		amz_date[17];
} attempt;

/* The URL, the SigV4 signature and the header list curl sends. */
static void
sign_request(aws_client *c, const aws_request *req, attempt *a)
{
	sigv4_header sh[8];
	sigv4_input in;
	int			nh = 0,
				i;

	sigv4_canonical_query(&a->query, req->query ? req->query : "");
	vbuf_printf(&a->url, "%s%s%s%s", req->base, req->path, a->query.len ? "?" : "",
				a->query.len ? a->query.data : "");
	vtp_sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0, a->payload_hash);
	sigv4_amz_date((long) time(NULL), a->amz_date);

	sh[nh++] = (sigv4_header) {"host", req->host};
	sh[nh++] = (sigv4_header) {"x-amz-date", a->amz_date};
	if (strcmp(req->service, "s3") == 0)
		sh[nh++] = (sigv4_header) {"x-amz-content-sha256", a->payload_hash};
	if (c->creds.session_token[0])
		sh[nh++] = (sigv4_header) {"x-amz-security-token", c->creds.session_token};
	if (req->content_type)
		sh[nh++] = (sigv4_header) {"content-type", req->content_type};
	if (req->amz_target)
		sh[nh++] = (sigv4_header) {"x-amz-target", req->amz_target};
	if (req->range)
		sh[nh++] = (sigv4_header) {"range", req->range};
	if (req->if_match)
	{
		vbuf_printf(&a->if_match, "\"%s\"", req->if_match);
		sh[nh++] = (sigv4_header) {"if-match", a->if_match.data};
	}
	VTP_ASSERT(nh <= (int) (sizeof(sh) / sizeof(sh[0])));

	memset(&in, 0, sizeof(in));
	in.method = req->method;
	in.path = req->path;
	in.query = vbuf_str(&a->query);
	in.headers = sh;
	in.nheaders = nh;
	in.payload_hash = a->payload_hash;
	in.region = c->region;
	in.service = req->service;
	in.amz_date = a->amz_date;
	sigv4_authorization(&in, &c->creds, &a->auth);

	for (i = 0; i < nh; i++)
	{
		if (strcmp(sh[i].name, "host") == 0)
			continue;			/* curl sends Host from the URL */
		vbuf_reset(&a->line);
		vbuf_printf(&a->line, "%s: %s", sh[i].name, sh[i].value);
		a->headers = curl_slist_append(a->headers, a->line.data);
	}
	vbuf_reset(&a->line);
	vbuf_printf(&a->line, "Authorization: %s", a->auth.data);
	a->headers = curl_slist_append(a->headers, a->line.data);
	a->headers = curl_slist_append(a->headers, "Expect:");	/* unsigned: no 100-continue round trip */
	if (req->content_type == NULL)
		a->headers = curl_slist_append(a->headers, "Content-Type:");
}

/* Every option of the handle for this request: the house rules, limits, callbacks. */
static void
set_options(CURL *h, aws_client *c, const aws_request *req, attempt *a, xfer *x)
{
	curl_easy_setopt(h, CURLOPT_URL, a->url.data);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);	/* keys like a/../b are names, not paths */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, a->headers);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	if (req->out_fd >= 0 || req->body_len > 1024 * 1024)
	{
		/* transfers: no total limit, but cut a stalled one */
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 60L);
	}
	else
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms + req->extra_timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "vtp/" VTP_VERSION);
	if (strcmp(req->method, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else
	{
		if (req->body)
		{
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) req->body_len);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		}
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	}
}

/* What the finished transfer means: 0 for a 2xx answer, else -1 with err. */
static int
attempt_outcome(const aws_request *req, aws_response *resp, const xfer *x, CURLcode cc, aws_error *err)
{
	if (cc == CURLE_ABORTED_BY_CALLBACK)
	{
		aws_error_set(err, resp->status, "Aborted", true, "request aborted: shutting down or cancelled");
		err->aborted = true;
	}
	else if (x->limit_hit)
		aws_error_set(err, resp->status, "TooLarge", false, "%s",
					  req->out_fd >= 0 ? "object is larger than the configured limit" : "response is too large");
	else if (x->write_failed)
		aws_error_set(err, resp->status, "WriteFailed", true, "%s", strerror(errno));
	else if (cc != CURLE_OK)
	{
		aws_error_from_curl(req, cc, err);
		return -1;
	}
	else if (resp->status < 200 || resp->status >= 300)
	{
		aws_error_from_http(req, resp, err);
		return -1;
	}
	else
		return 0;
	err->curl_code = cc;
	return -1;
}

static void
attempt_free(attempt *a)
{
	curl_slist_free_all(a->headers);
	if (a->auth.data)
		OPENSSL_cleanse(a->auth.data, a->auth.len);
	if (a->line.data)
		OPENSSL_cleanse(a->line.data, a->line.len);
	vbuf_free(&a->auth);
	vbuf_free(&a->url);
	vbuf_free(&a->query);
	vbuf_free(&a->if_match);
	vbuf_free(&a->line);
}

/* One attempt, on the client's own curl handle (made on first use). */
static int
perform_once(aws_client *c, const aws_request *req, aws_response *resp, aws_error *err)
{
	CURLcode	cc;
	attempt		a;
	xfer		x;
	int			rc;

	if (c->curl == NULL && (c->curl = curl_easy_init()) == NULL)
	{
		aws_error_set(err, 0, "CurlInit", true, "could not create a libcurl handle");
		return -1;
	}
	curl_easy_reset(c->curl);
	memset(&a, 0, sizeof(a));
	memset(&x, 0, sizeof(x));
	x.c = c;
	x.req = req;
	x.resp = resp;
	sign_request(c, req, &a);
	set_options(c->curl, c, req, &a, &x);

	resp->status = 0;
	resp->etag[0] = '\0';
	resp->content_length = -1;
	resp->written = 0;
	vbuf_reset(&resp->body);

	cc = c->between ? perform_multi(c, c->curl) : curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	rc = attempt_outcome(req, resp, &x, cc, err);
	attempt_free(&a);
	return rc;
}

int
aws_perform(aws_client *c, const aws_request *req, aws_response *resp, aws_error *err)
{
	int			attempt;
	bool		renewed = false;

	memset(err, 0, sizeof(*err));
	for (attempt = 0;; attempt++)
	{
		if (aws_client_creds(c, err) == 0 && perform_once(c, req, resp, err) == 0)
			return 0;
		if (!err->aborted && c->creds_chain && !renewed && c->creds.session_token[0] &&
			aws_error_creds_expired(req, err))
		{
			/* once, at once: a credential that expired between check and use */
			aws_creds_invalidate(c->creds.access_key);
			renewed = true;
			attempt--;
			if (req->out_fd >= 0 &&
				(ftruncate(req->out_fd, 0) != 0 || lseek(req->out_fd, 0, SEEK_SET) != 0))
				return -1;
			continue;
		}
		if (err->aborted || !err->transient || attempt >= c->max_retries)
			return -1;
		if (req->out_fd >= 0)
		{
			if (ftruncate(req->out_fd, 0) != 0 || lseek(req->out_fd, 0, SEEK_SET) != 0)
				return -1;
		}
		if (c->sleep_fn)
		{
			if (c->sleep_fn(vtp_backoff_delay(&VTP_BACKOFF_AWS_REQUEST, attempt), c->cb_arg))
			{
				err->aborted = true;
				return -1;
			}
		}
		else
		{
			long		ms = vtp_backoff_delay(&VTP_BACKOFF_AWS_REQUEST, attempt);
			struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
}
