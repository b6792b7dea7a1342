/*
 * upload.c — the upload server worker (on when vtp.upload_listen is set).
 * libmicrohttpd's threads take the HTTP traffic (http.c); this, the worker's
 * main thread, does every database step they need — token checks, recording
 * uploads as Pending videos, reading a video — answering the request queue
 * it waits on together with its latch. On SIGTERM it stops the HTTP side
 * first (in-flight uploads are aborted, leaving no partial object).
 */
#include "worker.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include <curl/curl.h>

#include "http.h"

static upload_server srv;

static void
stop_http(int code, Datum arg)
{
	if (srv.daemon)
	{
		http_stop(&srv);
		/* every HTTP thread is gone now: the queue can go too */
		upq_destroy(&srv.q);
		ereport(LOG, (errmsg("vtp upload: stopped listening")));
	}
}

/* Copy settings and credentials for the HTTP threads (under their lock). */
static void
publish_settings(aws_client *c)
{
	pthread_mutex_lock(&srv.cfg_mu);
	aws_client_cleanup(&srv.tmpl);
	srv.tmpl = *c;
	srv.tmpl.curl = NULL;
	strlcpy(srv.temp_bucket, vtp_temp_bucket, sizeof(srv.temp_bucket));
	strlcpy(srv.prefix, vtp_upload_prefix, sizeof(srv.prefix));
	srv.max_bytes = (int64) vtp_upload_max_mb * 1024 * 1024;
	srv.max_concurrent = vtp_upload_max_concurrent;
	pthread_mutex_unlock(&srv.cfg_mu);
}

static void
answer(upq_req *r)
{
	char	   *schema = catalog_schema_quoted();

	switch (r->kind)
	{
		case UPQ_AUTH:
			{
				Oid			t[1] = {TEXTOID};
				Datum		v[1] = {CStringGetTextDatum(r->token_sha256)};
				char	   *sql = psprintf("SELECT 1 FROM %s.vtp_tokens WHERE token_sha256 = $1 AND revoked_at IS NULL", schema);

				if (SPI_execute_with_args(sql, 1, t, v, NULL, true, 1) != SPI_OK_SELECT)
					elog(ERROR, "vtp upload: token lookup failed");
				r->status = SPI_processed == 1 ? 200 : 401;
				break;
			}
		case UPQ_REGISTER:
			{
				char		id[37];
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
		case UPQ_GET:
			{
				Oid			t[1] = {TEXTOID};
				Datum		v[1] = {CStringGetTextDatum(r->id)};
				char	   *sql = psprintf(
										   "SELECT pg_catalog.json_build_object("
										   "'id', v.id, 'bucket', v.bucket, 'key', v.key, 'status', v.status, "
										   "'attempts', v.attempts, 'progress', v.progress, 'error_code', v.error_code, "
										   "'error', v.error, 'output_bucket', v.output_bucket, 'output_key', v.output_key, "
										   "'created_at', v.created_at, 'updated_at', v.updated_at, 'published_at', v.published_at, "
										   "'renditions', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
										   "'name', r.name, 'key', r.key, 'width', r.width, 'height', r.height, 'bytes', r.bytes, "
										   "'bitrate', r.bitrate, 'duration', r.duration, 'url', u.url) ORDER BY r.height) "
										   "FROM %s.vtp_renditions r LEFT JOIN %s.vtp_output_urls(v.id) u ON u.rendition = r.name "
										   "WHERE r.video_id = v.id), '[]'::pg_catalog.json))::pg_catalog.text "
										   "FROM %s.vtp_videos v WHERE v.id = $1::pg_catalog.uuid", schema, schema, schema);

				if (SPI_execute_with_args(sql, 1, t, v, NULL, true, 1) != SPI_OK_SELECT)
					elog(ERROR, "vtp upload: video lookup failed");
				if (SPI_processed == 1)
				{
					char	   *json = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

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

static void
serve_queue(void)
{
	upq_req    *r = upq_take(&srv.q);

	while (r)
	{
		upq_req    *next = r->next;	/* r may be gone once answered */

		catalog_begin();
		answer(r);
		catalog_commit();
		upq_answer(&srv.q, r);
		r = next;
	}
}

void
vtp_upload_main(Datum arg)
{
	aws_client	c;
	char		err[512];

	vtp_worker_start("upload", "starting");
	memset(&srv, 0, sizeof(srv));
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&srv.cfg_mu, NULL);
	if (upq_init(&srv.q) != 0)
		ereport(ERROR, (errmsg("vtp upload: could not create an eventfd: %m")));
	/* before any thread exists: libcurl's global set-up is not thread-safe */
	curl_global_init(CURL_GLOBAL_DEFAULT);

	while (!vtp_worker_ready("vtp upload", false, &c))
		vtp_worker_wait(2000);
	publish_settings(&c);
	if (!http_start(&srv, vtp_upload_listen, vtp_upload_idle_timeout_s, err, sizeof(err)))
		ereport(ERROR, (errcode(ERRCODE_CONFIG_FILE_ERROR), errmsg("vtp upload: %s", err)));
	before_shmem_exit(stop_http, (Datum) 0);
	ereport(LOG, (errmsg("vtp upload: listening on %s", vtp_upload_listen)));
	vtp_worker_activity("listening on %s", vtp_upload_listen);
	vtp_slot_state("listening", NULL, 0);

	for (;;)
	{
		int			rc = WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
										   srv.q.wake_fd, 10000, PG_WAIT_EXTENSION);

		ResetLatch(MyLatch);
		if (ConfigReloadPending || (rc & WL_TIMEOUT))
		{
			vtp_worker_reload_if_asked(NULL);
			/* settings and credentials may have changed */
			if (vtp_worker_ready("vtp upload", false, &c))
				publish_settings(&c);
		}
		vtp_worker_poll_signals();	/* SIGTERM: exits, stop_http runs first */
		serve_queue();
	}
}
