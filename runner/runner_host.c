/*
 * runner_host.c — the job engine's host in vtp-runner (job.h's job_host):
 * each callback is one call of the runner protocol over libpq, naming the
 * video and the claim's lease token. Claim, publish, fail, release, trash
 * and the rest are made until the catalog answers (each is idempotent
 * through the token) or the runner stops; a heartbeat is made once, and one
 * that cannot reach the catalog keeps the job going (the lease lasts
 * vtp.visibility_timeout; the next beat tries again). A publish is never
 * taken as done without the catalog's "true". Waits are poll(2) on the
 * helper's pipes and the self-pipe; the slot's row in vtp_runners rides on
 * the heartbeat or goes from the waits.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"

static const char *const heartbeat_sql =
"SELECT %1$s.vtp_heartbeat($1, $2, $3, $4, $5) AS owned, "
"%1$s.vtp_runner_report($6, $7, $8, $9, $10, $11, $12, $13, $14)";
static const char *const heartbeat_alone_sql =
"SELECT %1$s.vtp_heartbeat($1, $2, $3, $4, $5) AS owned";
static const char *const trash_sql =
"SELECT %1$s.vtp_trash_object($1, $2, k, $4, $5) FROM pg_catalog.unnest($3::pg_catalog.text[]) AS k";

#define SLOT(arg) ((runner_slot *) (arg))

static void
host_claim(void *arg, const job *j, int lease_seconds, job_claim *out)
{
	runner_slot *s = SLOT(arg);
	char		lease[16];
	const char *v[4] = {j->id, s->worker, j->token, lease};
	const char *status;
	PGresult   *res;

	snprintf(lease, sizeof(lease), "%d", lease_seconds);
	if (runner_call(&s->db, true, "claim a video", "vtp_claim", 4, v, &res) != RDB_OK || PQntuples(res) != 1)
	{
		out->unanswered = true; /* the message comes back; the lease, if taken, runs out */
		PQclear(res);
		return;
	}
	out->found = runner_bool(res, "found");
	out->claimed = runner_bool(res, "claimed");
	out->held = runner_bool(res, "held");
	status = runner_value(res, "status");
	vtp_strlcpy(out->status, status ? status : "", sizeof(out->status));
	out->attempt = runner_value(res, "attempt") ? atoi(runner_value(res, "attempt")) : 0;
	if (out->claimed)
	{
		out->bucket = vtp_strdup(runner_value(res, "bucket"));
		out->key = vtp_strdup(runner_value(res, "key"));
		out->etag = vtp_strdup(runner_value(res, "etag"));
	}
	PQclear(res);
}

static bool
host_video_is(void *arg, const char *video_id, const char *bucket, const char *key)
{
	runner_slot *s = SLOT(arg);
	const char *v[3] = {video_id, bucket, key};
	PGresult   *res;
	bool		ours;

	ours = runner_call(&s->db, true, "look a video up", "vtp_video_is", 3, v, &res) == RDB_OK &&
		runner_bool(res, "vtp_video_is");
	PQclear(res);
	return ours;
}

/* A probe the catalog did not take at once goes with a later heartbeat. */
static void
send_facts(runner_slot *s, const job *j)
{
	const char *v[3] = {j->id, j->token, s->facts};
	PGresult   *res;

	if (s->facts == NULL)
		return;
	if (runner_call(&s->db, false, "record a probe", "vtp_set_probe", 3, v, &res) != RDB_AGAIN)
	{
		free(s->facts);
		s->facts = NULL;
	}
	PQclear(res);
}

/*
 * The heartbeat, with the slot's report riding on it when one is due (one
 * statement). No answer: go on, the lease outlasts a few missed beats.
 */
static bool
host_renew(void *arg, const job *j, int lease_seconds)
{
	runner_slot *s = SLOT(arg);
	char		lease[16],
				prog[32],
				eta[32];
	const char *v[5 + RUNNER_REPORT_PARAMS] = {j->id, j->token, lease, prog, j->eta_seconds >= 0 ? eta : NULL};
	bool		riding = runner_report_due(&s->rep, true);
	PGresult   *res;
	rdb_status	st;
	const char *owned;
	bool		lost;

	send_facts(s, j);
	snprintf(lease, sizeof(lease), "%d", lease_seconds);
	snprintf(prog, sizeof(prog), "%.2f", j->progress);
	snprintf(eta, sizeof(eta), "%.0f", j->eta_seconds);
	if (riding)
		runner_report_params(&s->rep, v + 5);
	st = runner_call_sql(&s->db, false, "renew a lease", riding ? heartbeat_sql : heartbeat_alone_sql,
						 riding ? 5 + RUNNER_REPORT_PARAMS : 5, v, &res);
	if (st == RDB_ERROR && riding)
	{
		PQclear(res);			/* the report's fault, perhaps: the lease matters more */
		st = runner_call_sql(&s->db, false, "renew a lease", heartbeat_alone_sql, 5, v, &res);
	}
	else if (st == RDB_OK && riding)
		runner_report_sent(&s->rep);
	/* only the catalog's "false" loses the lease: no answer, or an ERROR, keeps working */
	owned = st == RDB_OK ? runner_value(res, "owned") : NULL;
	lost = owned != NULL && strcmp(owned, "f") == 0;
	PQclear(res);
	return !lost;
}

static bool
host_take_cancel(void *arg)
{
	return false;				/* a cancel shows as a lost lease at the next heartbeat (5 s) */
}

static void
host_phase(void *arg, const job *j, const char *state, const char *activity)
{
	runner_slot *s = SLOT(arg);

	runner_report_state(&s->rep, state, j->id, j->attempt);
	runner_report_progress(&s->rep, j->progress, (int) j->child_pid);	/* "transcoding" names its helper */
	runner_report_send(&s->rep, &s->db, false);
}

static void
host_progress(void *arg, const job *j, const char *activity)
{
	runner_report_progress(&SLOT(arg)->rep, j->progress, (int) j->child_pid);
}

static void
host_facts(void *arg, const job *j, const char *facts_json)
{
	runner_slot *s = SLOT(arg);

	free(s->facts);
	s->facts = vtp_strdup(facts_json);
	send_facts(s, j);
}

static bool
host_publish(void *arg, const job *j)
{
	runner_slot *s = SLOT(arg);
	char		cpu[32],
				wall[32];
	vbuf		r = VBUF_INIT;
	const char *v[7] = {j->id, j->token, s->cfg.job.output_bucket, j->out_key, cpu, wall, NULL};
	PGresult   *res;
	bool		done;

	send_facts(s, j);
	snprintf(cpu, sizeof(cpu), "%.3f", j->cpu_seconds);
	snprintf(wall, sizeof(wall), "%.3f", j->wall_seconds);
	job_renditions_json(j, &r);
	v[6] = vbuf_str(&r);
	/* until answered: no answer (a stop meanwhile) is not a publish */
	done = runner_call(&s->db, true, "publish a video", "vtp_publish", 7, v, &res) == RDB_OK &&
		runner_bool(res, "vtp_publish");
	PQclear(res);
	vbuf_free(&r);
	return done;
}

static void
host_fail(void *arg, const job *j)
{
	runner_slot *s = SLOT(arg);
	const char *v[4] = {j->id, j->token, j->err_code, j->err_msg};
	PGresult   *res;

	(void) runner_call(&s->db, true, "record a failure", "vtp_fail", 4, v, &res);
	PQclear(res);
}

/* 'Pending' (retried), 'Failed', or NULL (the lease holds nothing): as catalog_release says. */
static bool
host_release(void *arg, const job *j, const char *code, const char *msg, bool refund, bool requeue)
{
	runner_slot *s = SLOT(arg);
	const char *v[6] = {j->id, j->token, code, msg, refund ? "true" : "false", requeue ? "true" : "false"};
	PGresult   *res;
	rdb_status	st;
	bool		retried;

	st = runner_call(&s->db, true, "hand a video back", "vtp_release", 6, v, &res);
	/* no answer: the video stays Processing until its lease runs out; keep its message */
	retried = st != RDB_OK || (runner_value(res, "vtp_release") &&
							   strcmp(runner_value(res, "vtp_release"), "Pending") == 0);
	PQclear(res);
	return retried;
}

static bool
host_video_status(void *arg, const char *video_id, char *status, size_t len)
{
	runner_slot *s = SLOT(arg);
	const char *v[1] = {video_id};
	PGresult   *res;
	bool		found = true;

	if (runner_call(&s->db, true, "look a video up", "vtp_video_status", 1, v, &res) != RDB_OK)
		vtp_strlcpy(status, "unknown", len);	/* neither Failed nor gone: the message stays */
	else if (runner_value(res, "vtp_video_status") == NULL)
		found = false;
	else
		vtp_strlcpy(status, runner_value(res, "vtp_video_status"), len);
	PQclear(res);
	return found;
}

/* n keys in one statement (one commit): a text[] literal of them, every element quoted. */
static void
host_trash(void *arg, const job *j, const char *bucket, const char *const *keys, int n, const char *etag,
		   const char *why)
{
	runner_slot *s = SLOT(arg);
	vbuf		arr = VBUF_INIT;
	const char *v[5] = {j->id, bucket, NULL, etag, why};
	PGresult   *res;
	const char *p;
	int			i;

	vbuf_putc(&arr, '{');
	for (i = 0; i < n; i++)
	{
		vbuf_puts(&arr, i ? ",\"" : "\"");
		for (p = keys[i]; *p; p++)
		{
			if (*p == '"' || *p == '\\')
				vbuf_putc(&arr, '\\');
			vbuf_putc(&arr, *p);
		}
		vbuf_putc(&arr, '"');
	}
	vbuf_putc(&arr, '}');
	v[2] = vbuf_str(&arr);
	(void) runner_call_sql(&s->db, true, "put uploads in the trash", trash_sql, 5, v, &res);
	PQclear(res);
	vbuf_free(&arr);
}

static void
host_source_deleted(void *arg, const job *j)
{
	runner_slot *s = SLOT(arg);
	const char *v[2] = {j->id, j->token};
	PGresult   *res;

	(void) runner_call(&s->db, true, "record the original's removal", "vtp_source_deleted", 2, v, &res);
	PQclear(res);
}

static void
host_wake_reconciler(void *arg)
{
	/* the catalog's reconciler empties the trash on its own round */
}

/* poll(2) on the helper's pipes and the self-pipe; then a report if one is due. */
static void
host_wait(void *arg, long timeout_ms, int fd1, int fd2)
{
	runner_slot *s = SLOT(arg);

	if (timeout_ms > 0 || fd1 >= 0 || fd2 >= 0)
		(void) runner_poll(timeout_ms, fd1, POLLIN, fd2, POLLIN);
	runner_report_send(&s->rep, &s->db, false);
}

static bool
host_stopping(void *arg)
{
	return runner_stopping();
}

static void
host_log(void *arg, job_level level, const char *msg, const char *detail, const char *hint)
{
	runner_log_full(level, msg, detail, hint);
}

/* The host as the engine sees it; s->cfg.job is its settings. */
void
runner_host_init(runner_slot *s)
{
	job_host   *h = &s->host;

	memset(h, 0, sizeof(*h));
	h->claim = host_claim;
	h->video_is = host_video_is;
	h->renew = host_renew;
	h->take_cancel = host_take_cancel;
	h->phase = host_phase;
	h->progress = host_progress;
	h->facts = host_facts;
	h->publish = host_publish;
	h->fail = host_fail;
	h->release = host_release;
	h->video_status = host_video_status;
	h->trash = host_trash;
	h->source_deleted = host_source_deleted;
	h->wake_reconciler = host_wake_reconciler;
	h->wait = host_wait;
	h->stopping = host_stopping;
	h->log = host_log;
	h->host = s;
	h->name = s->name;
	h->set = &s->cfg.job;
}
