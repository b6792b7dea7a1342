/*
 * ingest.c — the ingest worker ("Worker Server"): long-polls the events
 * queue of S3 notifications; each ObjectCreated record becomes a Pending row
 * (once per bucket, key and ETag, however often it is announced); the event
 * message is deleted only after that commit. Transcode tasks go out from the
 * outbox (Pending rows whose task is not sent yet), so a task is never lost
 * between the commit and SQS, and vtp_enqueue() needs no SQS call of its own.
 *
 * The long poll is never aborted for a wake-up: a message SQS hands to an
 * abandoned poll stays invisible for the visibility timeout. Instead the poll
 * runs on libcurl's multi interface and wake-ups (vtp_enqueue's commit,
 * SIGHUP) are served between polls of its socket, on a second client.
 */
#include "worker.h"

#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/memutils.h"

#include "s3event.h"

#define OUTBOX_BATCH 100
#define EVENTS_WAIT_SECONDS 20
#define EVENTS_VISIBILITY 60

/* Send tasks for every Pending row whose task is not sent. False on an SQS error. */
static bool
flush_outbox(aws_client *c)
{
	vtp_outbox_row *rows;
	int			n,
				i;

	do
	{
		catalog_begin();
		n = catalog_outbox(OUTBOX_BATCH, &rows);
		catalog_commit();
		for (i = 0; i < n; i++)
		{
			aws_error	err;
			vbuf		body = VBUF_INIT;
			int			rc;

			vbuf_puts(&body, "{\"video_id\":");
			vbuf_json_string(&body, rows[i].id);
			vbuf_puts(&body, ",\"bucket\":");
			vbuf_json_string(&body, rows[i].bucket);
			vbuf_puts(&body, ",\"key\":");
			vbuf_json_string(&body, rows[i].key);
			/* which catalog the task is for: another installation on this queue leaves it alone */
			vbuf_puts(&body, ",\"catalog\":");
			vbuf_json_string(&body, vtp_catalog_identity());
			vbuf_putc(&body, '}');
			rc = sqs_send(c, vtp_tasks_queue_url, body.data, &err);
			vbuf_free(&body);
			if (rc != 0)
			{
				if (!err.aborted)
					vtp_aws_ereport(WARNING, &err, "send a transcode task");
				return false;
			}
			catalog_begin();
			catalog_mark_sent(rows[i].id);
			catalog_commit();
		}
	} while (n == OUTBOX_BATCH);
	return true;
}

/* Log what one registered record became; names escaped and cut. */
static void
log_registered(vtp_reg reg, const s3_record *r, const char *id)
{
	char		b[80],
				k[VTP_LOG_NAME],
				e[VTP_LOG_NAME];

	vtp_escape_name(r->bucket, b, sizeof(b));
	vtp_escape_name(r->key, k, sizeof(k));
	vtp_escape_name(r->etag, e, sizeof(e));
	switch (reg)
	{
		case VTP_REG_CREATED:
			ereport(LOG, (errmsg("vtp ingest: video %s registered for s3://%s/%s", id, b, k)));
			break;
		case VTP_REG_REPLACED:
			ereport(LOG, (errmsg("vtp ingest: video %s now stands for the newer upload of s3://%s/%s (ETag %s)",
								 id, b, k, e)));
			break;
		case VTP_REG_EXISTS:
			break;
		case VTP_REG_SUPERSEDED:
			ereport(LOG, (errmsg("vtp ingest: ignoring an older announcement of s3://%s/%s (ETag %s, sequencer %s): a newer version is known",
								 b, k, e, r->sequencer)));
			break;
		case VTP_REG_ID_TAKEN:
			ereport(WARNING,
					(errmsg("vtp ingest: ignoring s3://%s/%s (ETag %s): its video %s already works on another version of the object",
							b, k, e, id),
					 errhint("A presigned upload URL was used twice after its video started; the first upload is the video.")));
			break;
	}
}

/*
 * One S3 notification. True if the message may be deleted. Records that
 * fail the parser's checks, or name a bucket that is not a source, are
 * dropped with one LOG line each; the others are registered.
 */
static bool
handle_event(const sqs_message *m)
{
	s3_event	ev;
	char		err[512];
	int			i,
				created = 0;

	if (s3event_parse(m->body, strlen(m->body), &ev, err, sizeof(err)) != 0)
	{
		/* it can never succeed: drop it, loudly */
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("vtp ingest: dropping malformed S3 notification %s", m->message_id),
				 errdetail("%s", err)));
		return true;
	}
	if (ev.kind == S3EV_TEST)
	{
		ereport(LOG, (errmsg("vtp ingest: S3 test event received; notifications are configured")));
		s3event_free(&ev);
		return true;
	}
	for (i = 0; i < ev.nrejected; i++)
		ereport(LOG,
				(errmsg("vtp ingest: dropping a record of S3 notification %s: %s",
						m->message_id, ev.rejected[i].reason)));
	catalog_begin();
	for (i = 0; i < ev.nrecords; i++)
	{
		s3_record  *r = &ev.records[i];
		char		id[VTP_UUID_SIZE];
		vtp_reg		reg;

		if (!vtp_source_bucket_allowed(r->bucket))
		{
			char		b[80],
						k[VTP_LOG_NAME];

			vtp_escape_name(r->bucket, b, sizeof(b));
			vtp_escape_name(r->key, k, sizeof(k));
			ereport(LOG,
					(errmsg("vtp ingest: dropping a record of S3 notification %s: bucket \"%s\" is not a source bucket (key \"%s\")",
							m->message_id, b, k),
					 errhint("Sources are read from vtp.temp_bucket and the buckets listed in vtp.source_buckets.")));
			continue;
		}
		reg = catalog_register(r->bucket, r->key, r->etag, r->size, r->sequencer, id);
		if (reg == VTP_REG_CREATED || reg == VTP_REG_REPLACED)
			created++;
		log_registered(reg, r, id);
	}
	catalog_commit();
	if (ev.nrecords > created)
		ereport(DEBUG1, (errmsg("vtp ingest: %d record(s) in %s made no new video", ev.nrecords - created, m->message_id)));
	s3event_free(&ev);
	return true;
}

static aws_client sender;		/* sends tasks while the poll waits */
static bool outbox_ok = true;

/* Called by the AWS client between polls of the long poll's socket. */
static void
while_polling(void *arg)
{
	vtp_worker_reload_if_asked(NULL);
	if (!MyLatch->is_set || ShutdownRequestPending)
		return;
	ResetLatch(MyLatch);
	outbox_ok = flush_outbox(&sender);
}

/* Send what the outbox holds; say once when SQS stops taking tasks. */
static void
send_tasks(void)
{
	vtp_worker_activity("sending tasks");
	vtp_slot_state("sending tasks", NULL, 0);
	if (!flush_outbox(&sender))
	{
		if (outbox_ok)
			ereport(LOG, (errmsg("vtp ingest: tasks will be sent when SQS answers again")));
		outbox_ok = false;
	}
	else
		outbox_ok = true;
}

/*
 * One round of the loop: send the outbox, long-poll the events queue (the
 * outbox is served between polls), register what came, each message deleted
 * after its commit. Returns the wait before the next round.
 */
static long
ingest_step(aws_client *c, void *arg)
{
	sqs_message *msgs = NULL;
	int			n = 0,
				i;
	aws_error	err;
	char		err_text[512];

	aws_client_cleanup(&sender);
	if (!vtp_aws_try_setup(&sender, err_text, sizeof(err_text)))
		return 0;				/* vtp_worker_ready just loaded them: a race with a file change */
	send_tasks();

	vtp_worker_activity("waiting for S3 events");
	vtp_slot_state("waiting for S3 events", NULL, 0);
	c->between = while_polling;
	if (sqs_receive(c, vtp_events_queue_url, 10, outbox_ok ? EVENTS_WAIT_SECONDS : 2,
					EVENTS_VISIBILITY, &msgs, &n, &err) != 0)
	{
		c->between = NULL;
		if (err.aborted)
			return 0;
		vtp_aws_ereport(WARNING, &err, "receive S3 events");
		return 5000;
	}
	c->between = NULL;
	for (i = 0; i < n; i++)
	{
		vtp_worker_activity("ingesting %s", msgs[i].message_id);
		if (handle_event(&msgs[i]))
		{
			flush_outbox(&sender);
			if (sqs_delete(c, vtp_events_queue_url, msgs[i].receipt_handle, &err) != 0 && !err.aborted)
				vtp_aws_ereport(WARNING, &err, "delete an S3 event message");
		}
	}
	sqs_messages_free(msgs, n);
	return outbox_ok ? 0 : 5000;
}

void
vtp_ingest_main(Datum arg)
{
	static const vtp_worker_def def = {
		.name = "vtp ingest",
		.need_events = true,
		.ready_check = VTP_READY_EVERY_ROUND,
		.not_ready_ms = 2000,
		.sock = PGINVALID_SOCKET,
		.step = ingest_step,
	};

	vtp_worker_start("ingest", "starting");
	vtp_worker_loop(&def);
}
