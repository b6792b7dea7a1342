/*
 * upload.c — the upload server worker (on when vtp.upload_listen is set).
 * libmicrohttpd's threads take the HTTP traffic (http.c); this, the worker's
 * main thread, does every database step they need — token checks, recording
 * uploads as Pending videos, reading a video — answering the request queue
 * it waits on together with its latch. An ERROR while answering one
 * request answers that request 500 and the worker goes on; on SIGTERM (or a
 * FATAL) it closes the queue, then stops the HTTP side (in-flight uploads
 * are aborted, leaving no partial object); neither waits on a client.
 */
#include "worker.h"

#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "access/xact.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include <limits.h>

#include <curl/curl.h>

#include "http.h"

/* an HTTP thread waits DB_TIMEOUT_MS (http.c) for its answer; a statement never takes longer than this */
#define ANSWER_TIMEOUT_MS 20000	/* a whole answer */
#define ANSWER_LOCK_TIMEOUT "10s"	/* one lock wait (a DBA's LOCK, a long ALTER) */
#define REFUSALS_LOG_INTERVAL_MS 10000
#define VTP_S3_MAX_PARTS 10000	/* S3's most parts in one multipart upload (s3_int.h's S3_MAX_PARTS) */

/* The upload endpoint's GUCs (vtp_upload_init, at the end). */
static char *vtp_upload_listen = NULL;
static int	vtp_upload_max_mb = 10240;
static int	vtp_upload_max_concurrent = 8;
static int	vtp_upload_idle_timeout_s = 30;
/* its limits (issue 10) */
static int	vtp_upload_max_per_address = 8;
static int	vtp_upload_header_timeout_s = 10;
static int	vtp_upload_min_rate_kb = 16;
static int	vtp_upload_rate_window_s = 30;
static int	vtp_upload_auth_max_failures = 10;
static int	vtp_upload_auth_window_s = 60;

static upload_server srv;
static MemoryContext request_cxt;
static long internal_errors;
static long deferred_uploads;	/* stored, the row not written: answered 202 */

static void
stop_http(int code, Datum arg)
{
	if (srv.daemon)
	{
		http_stop(&srv);
		/* every HTTP thread is gone now: the queue can go too */
		upload_queue_destroy(&srv.q);
		ereport(LOG, (errmsg("vtp upload: stopped listening")));
	}
}

/*
 * vtp.upload_max_bytes, within what one multipart upload can hold: S3 takes
 * at most 10,000 parts of vtp.s3_part_size (a body of unknown length cannot
 * grow its parts as it goes). Beyond, the endpoint answers 413 up front
 * rather than fail after streaming 10,000 parts; a WARNING says so once per
 * setting.
 */
static int64
upload_limit(void)
{
	int64		want = (int64) vtp_upload_max_mb * 1024 * 1024;
	int64		most = (int64) VTP_S3_MAX_PARTS * vtp_part_size_mb * 1024 * 1024;
	static int64 warned_for = -1;

	Assert(vtp_part_size_mb > 0);
	if (want <= most)
		return want;
	if (warned_for != want)
		ereport(WARNING,
				(errmsg("vtp upload: vtp.upload_max_bytes (%d MB) is more than a multipart upload of 10,000 parts of vtp.s3_part_size (%d MB) can hold: uploads are limited to %lld MB",
						vtp_upload_max_mb, vtp_part_size_mb, (long long) (most / (1024 * 1024))),
				 errhint("Raise vtp.s3_part_size to at least vtp.upload_max_bytes / 10000.")));
	warned_for = want;
	return most;
}

/* Copy settings and credentials for the HTTP threads (under their lock); readiness said yes. */
static void
publish_settings(aws_client *c, void *arg)
{
	int64		max_bytes = upload_limit();	/* may log: not under the lock */

	pthread_mutex_lock(&srv.cfg_mu);
	aws_client_cleanup(&srv.tmpl);
	srv.tmpl = *c;
	srv.tmpl.curl = NULL;
	strlcpy(srv.temp_bucket, vtp_temp_bucket, sizeof(srv.temp_bucket));
	strlcpy(srv.prefix, vtp_upload_prefix, sizeof(srv.prefix));
	srv.max_bytes = max_bytes;
	srv.max_concurrent = vtp_upload_max_concurrent;
	srv.max_per_address = vtp_upload_max_per_address;
	srv.header_timeout_s = vtp_upload_header_timeout_s;
	srv.min_rate = vtp_upload_min_rate_kb * 1024;
	srv.rate_window_s = vtp_upload_rate_window_s;
	srv.auth_max_failures = vtp_upload_auth_max_failures;
	srv.auth_window_s = vtp_upload_auth_window_s;
	pthread_mutex_unlock(&srv.cfg_mu);
}

/* The answer to r, from the catalog (inside serve_one's transaction). */
static void
answer(upload_request *r)
{
	switch (r->kind)
	{
		case UPLOAD_REQ_AUTH:
			r->status = catalog_token_live(r->token_sha256) ? 200 : 401;
			break;
		case UPLOAD_REQ_REGISTER:
			{
				char		id[VTP_UUID_SIZE];
				vtp_reg		reg = catalog_register(r->bucket, r->key, r->etag, r->size, "", id);
				bool		created = reg == VTP_REG_CREATED || reg == VTP_REG_REPLACED;

				if (reg == VTP_REG_ID_TAKEN || reg == VTP_REG_SUPERSEDED)
				{
					r->status = 409;
					strlcpy(r->message, "the video id is taken", sizeof(r->message));
				}
				else
				{
					r->status = 201;
					strlcpy(r->id, id, sizeof(r->id));
					if (created)
						vtp_wake_ingest();	/* the outbox sends its task */
					ereport(LOG, (errmsg("vtp upload: video %s received: s3://%s/%s, %lld bytes",
										 id, r->bucket, r->key, (long long) r->size)));
				}
				break;
			}
		case UPLOAD_REQ_GET:
			{
				char	   *json = catalog_video_json(r->id);

				if (json != NULL)
				{
					/* the HTTP thread frees it: malloc, not palloc */
					r->body = malloc(strlen(json) + 2);
					if (r->body)
						sprintf(r->body, "%s\n", json);
					r->status = r->body ? 200 : 500;
				}
				else
				{
					r->status = 404;
					strlcpy(r->message, "no such video", sizeof(r->message));
				}
				break;
			}
	}
}

/*
 * Answer one request in a transaction of its own. An ERROR (a dropped
 * table, a statement timeout, a bug) aborts that transaction and answers the
 * request 500 "internal error"; the error's text goes only to the log, with
 * its SQLSTATE, never to the client.
 */
static void
serve_one(upload_request *r)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(request_cxt);

	/* between requests no transaction is open; the thread zeroed the answer */
	Assert(!IsTransactionState());
	Assert(r->status == 0 && r->body == NULL);
	PG_TRY();
	{
		catalog_begin();

		/*
		 * The HTTP thread waits for this: bound it (the thread's own wait is
		 * longer). SPI in a background worker never arms statement_timeout
		 * (postgres.c does, per client statement), so arm it here; and
		 * lock_timeout, which a lock wait honours itself, so a fast stop is
		 * not held up by somebody's lock for longer than that either.
		 */
		(void) set_config_option("lock_timeout", ANSWER_LOCK_TIMEOUT, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
		enable_timeout_after(STATEMENT_TIMEOUT, ANSWER_TIMEOUT_MS);
		answer(r);
		disable_timeout(STATEMENT_TIMEOUT, false);
		catalog_commit();
	}
	PG_CATCH();
	{
		ErrorData  *e;

		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(request_cxt);
		e = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(request_cxt);
		free(r->body);
		r->body = NULL;
		r->status = 500;
		strlcpy(r->message, "internal error", sizeof(r->message));
		if (r->kind == UPLOAD_REQ_REGISTER)
		{
			/* stored already: the HTTP side answers 202, the notification registers it */
			deferred_uploads++;
			ereport(LOG, (errcode(e->sqlerrcode),
						  errmsg("vtp upload: recording upload %s failed with SQLSTATE %s, answered 202 (it is registered from its S3 notification): %s",
								 r->id, unpack_sql_state(e->sqlerrcode), e->message)));
		}
		else
		{
			internal_errors++;
			ereport(LOG, (errcode(e->sqlerrcode),
						  errmsg("vtp upload: request failed with SQLSTATE %s, answered 500: %s",
								 unpack_sql_state(e->sqlerrcode), e->message)));
		}
		FreeErrorData(e);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(request_cxt);
}

static void
serve_queue(void)
{
	upload_request *	r = upload_queue_take(&srv.q);

	while (r)
	{
		upload_request *	next = r->next;	/* r may be gone once answered */

		serve_one(r);
		upload_queue_answer(&srv.q, r);
		r = next;
	}
}

/* One log line at most every REFUSALS_LOG_INTERVAL_MS for what the limits refused since the last. */
static void
log_refusals(void)
{
	static TimestampTz last;
	TimestampTz now = GetCurrentTimestamp();
	long		per_addr,
				header,
				slow,
				auth,
				overload,
				errors,
				deferred;

	if (!TimestampDifferenceExceeds(last, now, REFUSALS_LOG_INTERVAL_MS))
		return;
	last = now;
	per_addr = atomic_exchange(&srv.refused.per_address, 0);
	header = atomic_exchange(&srv.refused.header_deadline, 0);
	slow = atomic_exchange(&srv.refused.slow_body, 0);
	auth = atomic_exchange(&srv.refused.auth_throttled, 0);
	overload = atomic_exchange(&srv.refused.overload, 0);
	errors = internal_errors;
	internal_errors = 0;
	deferred = deferred_uploads;
	deferred_uploads = 0;
	if (per_addr + header + slow + auth + overload + errors + deferred > 0)
		ereport(LOG, (errmsg("vtp upload: refused since the last report: %ld connections over vtp.upload_max_per_address, "
							 "%ld past vtp.upload_header_timeout, %ld bodies below vtp.upload_min_rate, "
							 "%ld requests throttled after failed tokens, %ld connections over the server's limit; "
							 "%ld requests answered 500, %ld stored uploads answered 202 (the database step failed)",
							 per_addr, header, slow, auth, overload, errors, deferred)));
}

/* First ready: publish the settings, then listen (ERROR if it cannot: the worker restarts). */
static void
upload_start(aws_client *c, void *arg)
{
	char		err[512];

	publish_settings(c, NULL);
	if (!http_start(&srv, vtp_upload_listen, vtp_upload_idle_timeout_s, err, sizeof(err)))
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("vtp upload: %s", err)));
	before_shmem_exit(stop_http, (Datum) 0);
	ereport(LOG, (errmsg("vtp upload: listening on %s", vtp_upload_listen)));
	vtp_worker_activity("listening on %s", vtp_upload_listen);
	vtp_slot_state("listening", NULL, 0);
}

/* One round: answer what the HTTP threads queued, log what the limits refused. */
static long
upload_step(aws_client *c, void *arg)
{
	serve_queue();
	log_refusals();
	return 10000;				/* or until the queue's eventfd, the latch */
}

void
vtp_upload_main(Datum arg)
{
	vtp_worker_def def = {
		.name = "vtp upload",
		.need_events = false,
		.ready_check = VTP_READY_ON_RELOAD,
		.not_ready_ms = 2000,
		.start = upload_start,
		.on_ready = publish_settings,
		.step = upload_step,
	};

	vtp_worker_start("upload", "starting");
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.cfg_mu, NULL);
	request_cxt = AllocSetContextCreate(TopMemoryContext, "vtp upload request", ALLOCSET_DEFAULT_SIZES);
	if (upload_queue_init(&srv.q) != 0)
		ereport(ERROR, (errmsg("vtp upload: could not create an eventfd: %m")));
	/* before any thread exists: libcurl's global set-up is not thread-safe */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	def.sock = srv.q.wake_fd;	/* an HTTP thread queued a request */
	vtp_worker_loop(&def);		/* SIGTERM: exits, stop_http runs first */
}

void
vtp_upload_init(void)
{
	DefineCustomStringVariable("vtp.upload_listen", "host:port of the HTTP upload endpoint; empty disables it.", NULL,
							   &vtp_upload_listen, "", PGC_POSTMASTER, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_max_bytes", "Largest upload the HTTP endpoint accepts (413 beyond).",
							NULL, &vtp_upload_max_mb, 10240, 1, INT_MAX / 2, PGC_SIGHUP, GUC_UNIT_MB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_max_concurrent", "Uploads the HTTP endpoint streams at once (503 with Retry-After beyond).",
							NULL, &vtp_upload_max_concurrent, 8, 1, 1000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_idle_timeout", "An upload connection that sends nothing for this long is closed.",
							NULL, &vtp_upload_idle_timeout_s, 30, 1, 3600, PGC_POSTMASTER, GUC_UNIT_S, NULL, NULL, NULL);
	/* the upload endpoint's limits (issue 10) */
	DefineCustomIntVariable("vtp.upload_max_per_address", "Connections the HTTP endpoint holds at once from one client address (an IPv6 /64 counts as one); 0 = no limit.",
							NULL, &vtp_upload_max_per_address, 8, 0, 100000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_header_timeout", "A connection must send its request line and headers within this long, however it trickles; 0 = off.",
							NULL, &vtp_upload_header_timeout_s, 10, 0, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_min_rate", "Least request body per second (averaged over vtp.upload_rate_window) before the upload is cut off; 0 = off.",
							NULL, &vtp_upload_min_rate_kb, 16, 0, INT_MAX / 1024, PGC_SIGHUP, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_rate_window", "Window over which vtp.upload_min_rate is averaged.",
							NULL, &vtp_upload_rate_window_s, 30, 1, 3600, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_auth_max_failures", "Failed bearer tokens from one address within vtp.upload_auth_window before it gets 429; 0 = off.",
							NULL, &vtp_upload_auth_max_failures, 10, 0, 100000, PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("vtp.upload_auth_window", "Window over which failed bearer tokens are counted per address.",
							NULL, &vtp_upload_auth_window_s, 60, 1, 86400, PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
}

/* Is the upload endpoint on (vtp.upload_listen set)? Read once GUCs are defined. */
bool
vtp_upload_enabled(void)
{
	return vtp_upload_listen != NULL && vtp_upload_listen[0] != '\0';
}
