/*
 * http_respond.c — the upload endpoint's answers: JSON bodies, never cached,
 * with the headers each status needs (WWW-Authenticate on 401, Retry-After
 * on 429/503, Location on 201/202). Runs on libmicrohttpd's threads: no
 * PostgreSQL calls.
 */
#include "http_int.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"

enum MHD_Result
http_respond(struct MHD_Connection *con, unsigned status, const char *json, const char *extra_name,
			 const char *extra_value)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(json), (void *) json, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "Content-Type", "application/json");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (extra_name)
		MHD_add_response_header(r, extra_name, extra_value);
	ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result
http_respond_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
	vbuf		b = VBUF_INIT;
	enum MHD_Result ret;

	vbuf_puts(&b, "{\"error\":");
	vbuf_json_string(&b, msg);
	vbuf_puts(&b, "}\n");
	ret = http_respond(con, status, b.data, status == 401 ? "WWW-Authenticate" : NULL, "Bearer realm=\"vtp\"");
	vbuf_free(&b);
	return ret;
}

enum MHD_Result
http_refuse_token(struct MHD_Connection *con, unsigned st, int retry_after)
{
	char		secs[16];

	if (st == 429)
	{
		snprintf(secs, sizeof(secs), "%d", retry_after);
		return http_respond(con, 429, "{\"error\":\"too many failed tokens from this address; try again later\"}\n",
							"Retry-After", secs);
	}
	if (st == 401)
		return http_respond_error(con, 401, "a valid bearer token is required");
	return http_respond_error(con, st, st == 500 ? "internal error" : "the database did not answer");
}

enum MHD_Result
http_respond_store_failed(struct MHD_Connection *con, const aws_error *err)
{
	char		msg[600];

	snprintf(msg, sizeof(msg), "could not store the upload: %s (%s)", err->message, err->code);
	return http_respond_error(con, err->transient ? 503 : 502, msg);
}

/* {"id","bucket","key" ...: what 201 and 202 both begin with. */
static void
stored_object(vbuf *b, const char *id, const char *bucket, const char *key)
{
	vbuf_puts(b, "{\"id\":");
	vbuf_json_string(b, id);
	vbuf_puts(b, ",\"bucket\":");
	vbuf_json_string(b, bucket);
	vbuf_puts(b, ",\"key\":");
	vbuf_json_string(b, key);
}

enum MHD_Result
http_respond_created(struct MHD_Connection *con, const char *id, const char *bucket, const char *key,
					 int64_t bytes)
{
	vbuf		b = VBUF_INIT;
	char		loc[64];
	enum MHD_Result ret;

	stored_object(&b, id, bucket, key);
	vbuf_puts(&b, ",\"status\":\"Pending\",\"bytes\":");
	vbuf_printf(&b, "%lld}\n", (long long) bytes);
	snprintf(loc, sizeof(loc), "/videos/%s", id);
	ret = http_respond(con, 201, b.data, "Location", loc);
	vbuf_free(&b);
	return ret;
}

enum MHD_Result
http_respond_accepted(struct MHD_Connection *con, const char *id, const char *bucket, const char *key,
					  int64_t bytes)
{
	vbuf		b = VBUF_INIT;
	char		loc[64];
	enum MHD_Result ret;

	stored_object(&b, id, bucket, key);
	vbuf_printf(&b, ",\"bytes\":%lld,\"registered\":false,", (long long) bytes);
	vbuf_puts(&b, "\"message\":\"stored; the database did not answer in time: the video is registered with this id "
			  "from the object's S3 notification (GET /videos/{id} answers 404 until then); do not upload it again\"}\n");
	snprintf(loc, sizeof(loc), "/videos/%s", id);
	ret = http_respond(con, 202, b.data, "Location", loc);
	vbuf_free(&b);
	return ret;
}
