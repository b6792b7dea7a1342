/*
 * aws.c — signed HTTP requests to AWS-compatible endpoints with libcurl:
 * signing, timeouts, error decoding and retries (no PostgreSQL).
 */
#include "aws.h"

#include <ctype.h>
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
#include "json.h"

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

static void set_error(aws_error *err, long status, int ccode, bool transient, const char *code, const char *msg);

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
	set_error(err, 0, 0, true, "CredentialsUnavailable", why);
	if (c->abort_check && c->abort_check(c->cb_arg))
		err->aborted = true;
	return -1;
}

/*
 * AWS says the (temporary) credentials have expired. A HEAD's 400 has no
 * body to say why: with temporary credentials, that is the likely one.
 */
static bool
creds_expired_error(const aws_request *req, const aws_error *err)
{
	if (strcmp(req->method, "HEAD") == 0 && err->http_status == 400)
		return true;
	return strcmp(err->code, "ExpiredToken") == 0 || strcmp(err->code, "ExpiredTokenException") == 0 ||
		strcmp(err->code, "TokenRefreshRequired") == 0 || strcmp(err->code, "InvalidToken") == 0;
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

bool
aws_xml_value(const char *xml, const char *tag, char *out, size_t outlen)
{
	char		open[128],
				close[130];
	const char *s,
			   *e;
	size_t		o = 0;

	if (xml == NULL || outlen == 0)
		return false;
	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	s = strstr(xml, open);
	if (s == NULL)
		return false;
	s += strlen(open);
	e = strstr(s, close);
	if (e == NULL)
		return false;
	while (s < e && o + 1 < outlen)
	{
		if (*s == '&')
		{
			static const struct
			{
				const char *ent;
				char		ch;
			}			ents[] = {{"&quot;", '"'}, {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&apos;", '\''}, {"&#34;", '"'}, {"&#39;", '\''}};
			size_t		i;
			bool		done = false;

			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++)
				if (strncmp(s, ents[i].ent, strlen(ents[i].ent)) == 0)
				{
					out[o++] = ents[i].ch;
					s += strlen(ents[i].ent);
					done = true;
					break;
				}
			if (done)
				continue;
		}
		out[o++] = *s++;
	}
	out[o] = '\0';
	return true;
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
	{
		const char *v = buf + 5;
		size_t		len,
					o = 0;

		while (*v == ' ' || *v == '"')
			v++;
		len = (size_t) (buf + n - v);
		while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == '"' || v[len - 1] == ' '))
			len--;
		for (; o < len && o + 1 < sizeof(x->resp->etag); o++)
			x->resp->etag[o] = v[o];
		x->resp->etag[o] = '\0';
	}
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

static void
set_error(aws_error *err, long status, int ccode, bool transient, const char *code, const char *msg)
{
	err->http_status = status;
	err->curl_code = ccode;
	err->transient = transient;
	err->aborted = false;
	vtp_strlcpy(err->code, code, sizeof(err->code));
	vtp_strlcpy(err->message, msg, sizeof(err->message));
}

/* Decode an AWS error body (S3 XML or SQS JSON) into err. */
static void
decode_http_error(const aws_request *req, aws_response *resp, aws_error *err)
{
	char		code[96] = "",
				msg[512] = "";
	long		st = resp->status;
	const char *body = vbuf_str(&resp->body);

	if (strcmp(req->service, "sqs") == 0 && body[0] == '{')
	{
		json_value *j = json_parse(body, resp->body.len, NULL, 0);
		const char *t = json_get_str(j, "__type");
		const char *m = json_get_str(j, "message");

		if (m == NULL)
			m = json_get_str(j, "Message");
		if (t)
		{
			const char *hash = strrchr(t, '#');

			vtp_strlcpy(code, hash ? hash + 1 : t, sizeof(code));
		}
		if (m)
			vtp_strlcpy(msg, m, sizeof(msg));
		json_free(j);
	}
	else
	{
		aws_xml_value(body, "Code", code, sizeof(code));
		aws_xml_value(body, "Message", msg, sizeof(msg));
	}
	if (code[0] == '\0')
		snprintf(code, sizeof(code), st == 404 ? "NotFound" : st == 403 ? "AccessDenied" : "HTTP%ld", st);
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "HTTP status %ld", st);
	set_error(err, st, 0,
			  st >= 500 || st == 429 || strstr(code, "Throttl") != NULL || strcmp(code, "SlowDown") == 0 ||
			  strcmp(code, "RequestTimeout") == 0 || strcmp(code, "RequestThrottled") == 0,
			  code, msg);
}

static bool
curl_transient(CURLcode cc)
{
	switch (cc)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_RESOLVE_PROXY:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_SSL_CONNECT_ERROR:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return true;
		default:
			return false;
	}
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

/* One attempt. */
static int
perform_once(aws_client *c, const aws_request *req, aws_response *resp, aws_error *err)
{
	CURL	   *h;
	CURLcode	cc;
	vbuf		url = VBUF_INIT,
				query = VBUF_INIT,
				auth = VBUF_INIT,
				hv = VBUF_INIT,
				hb = VBUF_INIT;
	struct curl_slist *hl = NULL;
	sigv4_header sh[8];
	sigv4_input in;
	int			nh = 0,
				i,
				rc = -1;
	char		payload_hash[65],
				amz_date[17];
	xfer		x;

	if (c->curl == NULL)
	{
		c->curl = curl_easy_init();
		if (c->curl == NULL)
		{
			set_error(err, 0, 0, true, "CurlInit", "could not create a libcurl handle");
			return -1;
		}
	}
	h = c->curl;
	curl_easy_reset(h);

	sigv4_canonical_query(&query, req->query ? req->query : "");
	vbuf_printf(&url, "%s%s%s%s", req->base, req->path, query.len ? "?" : "", query.len ? query.data : "");
	vtp_sha256_hex(req->body ? req->body : "", req->body ? req->body_len : 0, payload_hash);
	sigv4_amz_date((long) time(NULL), amz_date);

	sh[nh++] = (sigv4_header) {"host", req->host};
	sh[nh++] = (sigv4_header) {"x-amz-date", amz_date};
	if (strcmp(req->service, "s3") == 0)
		sh[nh++] = (sigv4_header) {"x-amz-content-sha256", payload_hash};
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
		vbuf_printf(&hv, "\"%s\"", req->if_match);
		sh[nh++] = (sigv4_header) {"if-match", hv.data};
	}

	memset(&in, 0, sizeof(in));
	in.method = req->method;
	in.path = req->path;
	in.query = vbuf_str(&query);
	in.headers = sh;
	in.nheaders = nh;
	in.payload_hash = payload_hash;
	in.region = c->region;
	in.service = req->service;
	in.amz_date = amz_date;
	sigv4_authorization(&in, &c->creds, &auth);

	for (i = 0; i < nh; i++)
	{
		if (strcmp(sh[i].name, "host") == 0)
			continue;			/* curl sends Host from the URL */
		vbuf_reset(&hb);
		vbuf_printf(&hb, "%s: %s", sh[i].name, sh[i].value);
		hl = curl_slist_append(hl, hb.data);
	}
	vbuf_reset(&hb);
	vbuf_printf(&hb, "Authorization: %s", auth.data);
	hl = curl_slist_append(hl, hb.data);
	hl = curl_slist_append(hl, "Expect:");	/* unsigned: no 100-continue round trip */
	if (req->content_type == NULL)
		hl = curl_slist_append(hl, "Content-Type:");

	memset(&x, 0, sizeof(x));
	x.c = c;
	x.req = req;
	x.resp = resp;

	curl_easy_setopt(h, CURLOPT_URL, url.data);
	curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);	/* keys like a/../b are names, not paths */
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
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
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
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

	resp->status = 0;
	resp->etag[0] = '\0';
	resp->content_length = -1;
	resp->written = 0;
	vbuf_reset(&resp->body);

	cc = c->between ? perform_multi(c, h) : curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (cc == CURLE_ABORTED_BY_CALLBACK)
	{
		set_error(err, resp->status, cc, true, "Aborted", "request aborted: shutting down or cancelled");
		err->aborted = true;
	}
	else if (x.limit_hit)
		set_error(err, resp->status, cc, false, "TooLarge",
				  req->out_fd >= 0 ? "object is larger than the configured limit" : "response is too large");
	else if (x.write_failed)
		set_error(err, resp->status, cc, true, "WriteFailed", strerror(errno));
	else if (cc != CURLE_OK)
	{
		char		m[512];

		snprintf(m, sizeof(m), "%s %s: %s", req->method, req->base, curl_easy_strerror(cc));
		set_error(err, 0, cc, curl_transient(cc), "NetworkError", m);
	}
	else if (resp->status < 200 || resp->status >= 300)
		decode_http_error(req, resp, err);
	else
		rc = 0;

	curl_slist_free_all(hl);
	OPENSSL_cleanse(auth.data, auth.len);
	if (hb.data)
		OPENSSL_cleanse(hb.data, hb.len);
	vbuf_free(&auth);
	vbuf_free(&url);
	vbuf_free(&query);
	vbuf_free(&hv);
	vbuf_free(&hb);
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
			creds_expired_error(req, err))
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
