/*
 * aws_error.c — what went wrong, said once: the one aws_error setter every
 * file of the AWS client uses (and other rooms may), AWS error bodies (S3 XML,
 * SQS JSON) decoded, and which failures are worth a retry or a fresh
 * credential (no PostgreSQL).
 */
#include "aws_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>

#include "json.h"

void
aws_error_set(aws_error *err, long http_status, const char *code, bool transient, const char *fmt,...)
{
	va_list		ap;

	memset(err, 0, sizeof(*err));
	err->http_status = http_status;
	err->transient = transient;
	vtp_strlcpy(err->code, code, sizeof(err->code));
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
}

bool
aws_error_creds_expired(const aws_request *req, const aws_error *err)
{
	if (strcmp(req->method, "HEAD") == 0 && err->http_status == 400)
		return true;
	return strcmp(err->code, "ExpiredToken") == 0 || strcmp(err->code, "ExpiredTokenException") == 0 ||
		strcmp(err->code, "TokenRefreshRequired") == 0 || strcmp(err->code, "InvalidToken") == 0;
}

/* The code and message of an SQS JSON error body ("__type": "…#Code"). */
static void
sqs_error_body(const char *body, size_t len, char *code, size_t codelen, char *msg, size_t msglen)
{
	json_value *j = json_parse(body, len, NULL, 0);
	const char *t = json_get_str(j, "__type");
	const char *m = json_get_str(j, "message");

	if (m == NULL)
		m = json_get_str(j, "Message");
	if (t)
	{
		const char *hash = strrchr(t, '#');

		vtp_strlcpy(code, hash ? hash + 1 : t, codelen);
	}
	if (m)
		vtp_strlcpy(msg, m, msglen);
	json_free(j);
}

void
aws_error_from_http(const aws_request *req, aws_response *resp, aws_error *err)
{
	char		code[96] = "",
				msg[512] = "";
	long		st = resp->status;
	const char *body = vbuf_str(&resp->body);

	if (strcmp(req->service, "sqs") == 0 && body[0] == '{')
		sqs_error_body(body, resp->body.len, code, sizeof(code), msg, sizeof(msg));
	else
	{
		aws_xml_value(body, "Code", code, sizeof(code));
		aws_xml_value(body, "Message", msg, sizeof(msg));
	}
	if (code[0] == '\0')
		snprintf(code, sizeof(code), st == 404 ? "NotFound" : st == 403 ? "AccessDenied" : "HTTP%ld", st);
	if (msg[0] == '\0')
		snprintf(msg, sizeof(msg), "HTTP status %ld", st);
	aws_error_set(err, st, code,
				  st >= 500 || st == 429 || strstr(code, "Throttl") != NULL || strcmp(code, "SlowDown") == 0 ||
				  strcmp(code, "RequestTimeout") == 0 || strcmp(code, "RequestThrottled") == 0,
				  "%s", msg);
}

/* Network failures a later attempt may not meet. */
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

void
aws_error_from_curl(const aws_request *req, int curl_code, aws_error *err)
{
	aws_error_set(err, 0, "NetworkError", curl_transient((CURLcode) curl_code), "%s %s: %s",
				  req->method, req->base, curl_easy_strerror((CURLcode) curl_code));
	err->curl_code = curl_code;
}
