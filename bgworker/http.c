/*
 * http.c — the upload endpoint's request handlers, on libmicrohttpd's
 * threads (one per connection; the server's lifecycle is http_server.c,
 * its answers http_respond.c, its limits http_limits.c):
 *   POST /videos     the body (Content-Length or chunked) is streamed to the
 *                    temp bucket as it arrives, one part buffered at a time;
 *                    201 {"id","bucket","key","status"} once the row exists;
 *                    202 with the id when the database did not answer after
 *                    the object was stored (its notification registers it)
 *   GET /videos/{id} the row as JSON with its renditions and presigned URLs
 *   GET /healthz
 * Bearer tokens are checked, rows written and read by the worker's main
 * thread through the request queue: nothing here calls PostgreSQL.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "names.h"
#include "vtp_assert.h"

#define DB_TIMEOUT_MS 30000
#define THROTTLE_DELAY_MS 500

typedef struct upload
{
	upload_server *srv;
	aws_client	c;
	s3_stream	st;
	char		id[VTP_UUID_SIZE];
	char	   *key;
	int64_t		received;
	bool		counted;		/* holds a slot of max_concurrent */
	bool		finished;		/* the object is complete in S3 */
	bool		answered;		/* a response is queued */
} upload;

static int
stop_check(void *arg)
{
	return atomic_load(&((upload_server *) arg)->stopping) ? 1 : 0;
}

/* The worker's main thread answers r (the connection waits on the server, not the client). */
static bool
ask_worker(upload_server *srv, struct MHD_Connection *con, upload_request *r)
{
	bool		ok;

	http_conn_busy(con, true);
	ok = upload_queue_call(&srv->q, r, DB_TIMEOUT_MS);
	http_conn_busy(con, false);
	return ok;
}

/*
 * 0 if the bearer token is live, else the HTTP status to answer. An address
 * with too many failed tokens lately gets 429 (after a short pause) without
 * asking the database; *retry_after says for how long.
 */
static unsigned
check_token(upload_server *srv, struct MHD_Connection *con, int *retry_after)
{
	const char *auth = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Authorization");
	upload_request	r;

	if ((*retry_after = http_auth_throttled(srv, con)) > 0)
	{
		struct timespec pause = {0, THROTTLE_DELAY_MS * 1000000L};

		nanosleep(&pause, NULL);
		return 429;
	}
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0 || auth[7] == '\0')
	{
		http_auth_failed(srv, con);
		return 401;
	}
	memset(&r, 0, sizeof(r));
	r.kind = UPLOAD_REQ_AUTH;
	vtp_sha256_hex(auth + 7, strlen(auth + 7), r.token_sha256);
	if (!ask_worker(srv, con, &r))
		return 503;
	if (r.status == 401)
		http_auth_failed(srv, con);
	return r.status == 200 ? 0 : r.status;
}

/* The client's file name: ?filename=, else Content-Disposition's filename. */
static void
client_filename(struct MHD_Connection *con, char *out, size_t outlen)
{
	const char *q = MHD_lookup_connection_value(con, MHD_GET_ARGUMENT_KIND, "filename");
	const char *cd = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Disposition");
	char		name[1024] = "";

	if (q && q[0])
		snprintf(name, sizeof(name), "%s", q);
	else if (cd && (cd = strstr(cd, "filename=")) != NULL)
	{
		cd += 9;
		if (*cd == '"')
		{
			const char *end = strchr(cd + 1, '"');

			snprintf(name, sizeof(name), "%.*s", end ? (int) (end - cd - 1) : (int) strlen(cd + 1), cd + 1);
		}
		else
			snprintf(name, sizeof(name), "%.*s", (int) strcspn(cd, "; \t"), cd);
	}
	vtp_safe_filename(name, out, outlen);
}

static void
copy_settings(upload_server *srv, aws_client *c, char *bucket, size_t blen, char *prefix, size_t plen,
			  int64_t *max_bytes, int *max_concurrent)
{
	pthread_mutex_lock(&srv->cfg_mu);
	*c = srv->tmpl;
	c->curl = NULL;
	c->abort_check = stop_check;
	c->sleep_fn = NULL;
	c->between = NULL;
	c->cb_arg = srv;
	snprintf(bucket, blen, "%s", srv->temp_bucket);
	snprintf(prefix, plen, "%s", srv->prefix);
	*max_bytes = srv->max_bytes;
	*max_concurrent = srv->max_concurrent;
	pthread_mutex_unlock(&srv->cfg_mu);
}

static enum MHD_Result
start_upload(upload_server *srv, struct MHD_Connection *con, void **con_cls)
{
	const char *cl = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "Content-Length");
	upload	   *u = calloc(1, sizeof(upload));
	char		bucket[64],
				prefix[256],
				name[VTP_NAME_MAX + 1];
	int64_t		max_bytes;
	int			max_conc;
	unsigned	st;
	int			retry;

	if (u == NULL)
		return MHD_NO;
	u->srv = srv;
	copy_settings(srv, &u->c, bucket, sizeof(bucket), prefix, sizeof(prefix), &max_bytes, &max_conc);
	*con_cls = u;				/* freed by the completion callback */
	if ((st = check_token(srv, con, &retry)) != 0)
	{
		u->answered = true;
		return http_refuse_token(con, st, retry);
	}
	if (cl && strtoll(cl, NULL, 10) > max_bytes)
	{
		u->answered = true;
		return http_respond_error(con, 413, "the upload is larger than vtp.upload_max_bytes");
	}
	if (atomic_fetch_add(&srv->active, 1) >= max_conc)
	{
		int			was = atomic_fetch_sub(&srv->active, 1);

		VTP_ASSERT(was > 0);
		(void) was;
		u->answered = true;
		return http_respond(con, 503, "{\"error\":\"too many uploads at once; try again shortly\"}\n",
				    "Retry-After", "5");
	}
	u->counted = true;
	vtp_uuid_v4(u->id);
	client_filename(con, name, sizeof(name));
	u->key = malloc(strlen(prefix) + VTP_UUID_SIZE + strlen(name) + 1);
	if (u->key == NULL)
		return MHD_NO;
	sprintf(u->key, "%s%s/%s", prefix, u->id, name);
	s3_stream_begin(&u->st, &u->c, bucket, u->key, "application/octet-stream");
	return MHD_YES;
}

static enum MHD_Result
finish_upload(upload *u, struct MHD_Connection *con)
{
	aws_error	err;
	upload_request	r;
	int			st;

	u->answered = true;
	http_conn_phase(con, HC_REPLY);
	if (u->received == 0)
		return http_respond_error(con, 400, "the request body is empty: send the video file as the body");
	memset(&r, 0, sizeof(r));
	http_conn_busy(con, true);
	st = s3_stream_finish(&u->st, r.etag, sizeof(r.etag), &err);
	if (st != 0)
	{
		/*
		 * The last step may have worked with its answer lost (a retried
		 * CompleteMultipartUpload then says NoSuchUpload): the key is this
		 * upload's alone, so an object there of the size received is it,
		 * and it will become the video whatever is answered. Look before
		 * answering a 5xx that a client would retry into a second video.
		 */
		s3_object_info info;
		aws_error	herr;

		if (s3_head(&u->c, u->st.bucket, u->key, &info, &herr) == 0 && info.size == u->received)
		{
			snprintf(r.etag, sizeof(r.etag), "%s", info.etag);
			st = 0;
		}
	}
	http_conn_busy(con, false);
	if (st != 0)
		return http_respond_store_failed(con, &err);
	u->finished = true;
	r.kind = UPLOAD_REQ_REGISTER;
	memcpy(r.id, u->id, sizeof(r.id));
	snprintf(r.bucket, sizeof(r.bucket), "%s", u->st.bucket);
	r.key = u->key;
	r.size = u->received;
	/*
	 * The object is stored under a key that carries its video's id, and its
	 * S3 notification (or the reconciler's scan for objects no video knows)
	 * registers it with that id whatever happens here. So when the database
	 * does not answer, or its step ERRORs (logged), the answer is 202 with
	 * the id: the upload is acknowledged and will not be lost, and a client
	 * has nothing to retry. (A 5xx here used to invite a retry that made a
	 * second video of the same file; and if the row did commit but the
	 * answer was lost, the id is the same one.)
	 */
	if (!ask_worker(u->srv, con, &r) || r.status == 500)
		return http_respond_accepted(con, u->id, u->st.bucket, u->key, u->received);
	if (r.status != 201)
		/* the object is stored: its S3 notification will register it */
		return http_respond_error(con, 503, r.message[0] ? r.message : "stored, but the database did not answer");
	return http_respond_created(con, r.id, u->st.bucket, u->key, u->received);
}

static enum MHD_Result
get_video(upload_server *srv, struct MHD_Connection *con, const char *id)
{
	upload_request	r;
	unsigned	st;
	int			retry;
	enum MHD_Result ret;

	if ((st = check_token(srv, con, &retry)) != 0)
		return http_refuse_token(con, st, retry);
	if (!vtp_is_uuid(id))
		return http_respond_error(con, 404, "no such video");
	memset(&r, 0, sizeof(r));
	r.kind = UPLOAD_REQ_GET;
	memcpy(r.id, id, VTP_UUID_SIZE);
	if (!ask_worker(srv, con, &r))
		return http_respond_error(con, 503, "the database did not answer");
	if (r.status != 200 || r.body == NULL)
		ret = http_respond_error(con, r.status ? (unsigned) r.status : 500, r.message[0] ? r.message : "no such video");
	else
		ret = http_respond(con, 200, r.body, NULL, NULL);
	free(r.body);
	return ret;
}

/* Body bytes of an upload, streamed to S3 one part at a time (413 past the limit). */
static enum MHD_Result
receive_body(upload *u, struct MHD_Connection *con, const char *data, size_t *data_size)
{
	aws_error	err;
	int64_t		limit;
	int			st;

	pthread_mutex_lock(&u->srv->cfg_mu);
	limit = u->srv->max_bytes;
	pthread_mutex_unlock(&u->srv->cfg_mu);
	u->received += (int64_t) *data_size;
	if (u->received > limit)
	{
		*data_size = 0;
		u->answered = true;
		return http_respond_error(con, 413, "the upload is larger than vtp.upload_max_bytes");
	}
	http_conn_busy(con, true);
	st = s3_stream_write(&u->st, data, *data_size, &err);
	http_conn_busy(con, false);
	*data_size = 0;
	if (st != 0)
	{
		u->answered = true;
		return http_respond_store_failed(con, &err);
	}
	return MHD_YES;
}

/* libmicrohttpd's request handler: routes, then the body of an upload as it arrives. */
enum MHD_Result
http_on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
		const char *version, const char *data, size_t *data_size, void **con_cls)
{
	upload_server *srv = cls;
	upload	   *u = *con_cls;

	if (u == NULL)
	{
		/* the request line and headers are in: the body's clock starts */
		http_conn_phase(con, HC_BODY);
		if (strcmp(url, "/videos") == 0 && strcmp(method, "POST") == 0)
			return start_upload(srv, con, con_cls);
		/* requests without a body: answer on the first call */
		if (strcmp(method, "GET") == 0 && strcmp(url, "/healthz") == 0)
			return http_respond(con, 200, "{\"status\":\"ok\"}\n", NULL, NULL);
		if (strcmp(method, "GET") == 0 && strncmp(url, "/videos/", 8) == 0)
			return get_video(srv, con, url + 8);
		if (strcmp(url, "/videos") == 0 || strncmp(url, "/videos/", 8) == 0)
			return http_respond_error(con, 405, "method not allowed");
		return http_respond_error(con, 404, "not found");
	}
	http_conn_received(con, *data_size);
	if (u->answered)
	{
		*data_size = 0;			/* a response is queued: drop the rest */
		return MHD_YES;
	}
	if (*data_size > 0)
		return receive_body(u, con, data, data_size);
	return finish_upload(u, con);
}

/* Every request ends here, answered or cut off: nothing half-made is left. */
void
http_on_completed(void *cls, struct MHD_Connection *con, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	upload	   *u = *con_cls;

	/* a next request on this connection has its own header deadline */
	http_conn_phase(con, HC_HEADERS);
	if (u == NULL)
		return;
	if (u->key)
	{
		if (!u->finished)
			s3_stream_abort(&u->st);	/* aborts the multipart upload, if one began */
		else
			s3_stream_free(&u->st);
	}
	aws_client_cleanup(&u->c);
	if (u->counted)
	{
		int			was = atomic_fetch_sub(&u->srv->active, 1);

		VTP_ASSERT(was > 0);	/* this upload held one of the slots */
		(void) was;
	}
	VTP_ASSERT(!u->finished || u->answered);
	free(u->key);
	free(u);
	*con_cls = NULL;
}
