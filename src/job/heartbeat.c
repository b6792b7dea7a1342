/*
 * heartbeat.c — what keeps a running job its video: the task message kept
 * invisible (ChangeMessageVisibility every half visibility timeout, on a
 * client of its own while the transfer client is busy) and the lease renewed
 * through the host with the progress (every 5 s, at once after a cancel).
 * When the host says the lease is gone (cancelled, deleted, taken over) the
 * job stops and its transfers in flight are cut.
 *
 * SQS keeps a received message invisible at most 12 hours after the receive
 * (ChangeMessageVisibility beyond that is refused), while a transcode may
 * run up to vtp.transcode_timeout (7 days). Before the heartbeat would have
 * to go past it, the job deletes its message and goes on under its lease
 * alone: the message is only a redelivery for a worker that dies, and for
 * that the lease is enough (the reconciler sends a fresh task once it runs
 * out; the worker's restart does too). Re-sending a copy instead would not
 * help: idle workers would receive it, find the video held, and hand it
 * back every visibility timeout until it dead-letters.
 */
#include "job_int.h"

#define SQS_VISIBILITY_MARGIN 5	/* time() is whole seconds, and the request takes a while to arrive */
#define LEASE_RENEW_SECONDS 5

/* Keep the message invisible another visibility timeout, or give it up before SQS's limit. */
static void
keep_message(job *j, time_t now)
{
	job_host   *h = j->h;
	const job_settings *s = h->set;
	aws_error	err;

	if (j->msg_gone)
		return;					/* the lease alone now */
	if (job_message_must_go(j->received_at, now, s->visibility_timeout_s, s->sqs_max_visibility))
	{
		if (sqs_delete(&j->hb, s->tasks_queue_url, j->receipt, &err) == 0)
		{
			j->msg_gone = true;
			job_logf(h, JOB_LOG, "vtp transcode: video %s attempt %d has run %ld s: its task message is given up before SQS's %d s visibility limit; the lease holds the video",
					 j->id, j->attempt, (long) (now - j->received_at), s->sqs_max_visibility);
		}
		else if (!err.aborted)
			job_log_aws(h, JOB_WARNING, &err, "give up the task message before SQS's visibility limit");
	}
	else if (sqs_change_visibility(&j->hb, s->tasks_queue_url, j->receipt, s->visibility_timeout_s, &err) != 0 &&
			 !err.aborted)
		job_log_aws(h, JOB_WARNING, &err, "extend the task's visibility");
}

/* Keep the lease and the message alive (see job_int.h). */
bool
job_heartbeat(job *j, bool force)
{
	job_host   *h = j->h;
	time_t		now = time(NULL);

	VTP_ASSERT(j->claimed);
	if (j->lost)
		return false;
	if (h->take_cancel(h->host))
		force = true;			/* a cancel or delete committed: look now */
	if (force || now - j->last_heartbeat >= h->set->visibility_timeout_s / 2)
	{
		keep_message(j, now);
		j->last_heartbeat = now;
		j->last_progress = 0;	/* renew the lease below too */
	}
	if (force || now - j->last_progress >= LEASE_RENEW_SECONDS)
	{
		bool		owned = h->renew(h->host, j, h->set->visibility_timeout_s);

		j->last_progress = now;
		if (!owned)
		{
			j->lost = true;
			job_abort_transfers(true);	/* cut transfers in flight */
			job_logf(h, JOB_LOG, "vtp transcode: video %s attempt %d is no longer this worker's (cancelled, deleted or taken over): stopping",
					 j->id, j->attempt);
			return false;
		}
	}
	return true;
}

/*
 * Would keeping the message invisible for another visibility seconds from
 * now go past SQS's limit, counted from the receive? Then it must go now.
 */
bool
job_message_must_go(time_t received_at, time_t now, int visibility, int max_visibility)
{
	return (long) (now - received_at) + visibility + SQS_VISIBILITY_MARGIN > max_visibility;
}
