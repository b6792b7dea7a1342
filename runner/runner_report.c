/*
 * runner_report.c — the slot's row in vtp_runners, which vtp_workers shows
 * beside the in-server workers: vtp_runner_report(name, host, pid, state,
 * video, attempt, progress, helper pid, sandbox). Sent at once when the
 * state, the video or the sandbox changes; progress at most every 5 s (it
 * rides on the lease's heartbeat, which goes every 5 s while a job runs, so
 * it costs no statement of its own); and at least every 15 s whatever
 * happens, so that a runner that has gone quiet shows as silent only when
 * it is. vtp_runner_gone removes the row on a clean exit. A report that does
 * not reach the catalog is tried again at the next wake-up; it is never
 * waited for.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"

#define REPORT_PROGRESS_MS 5000	/* progress at most this often */
#define REPORT_ALONE_MS 7500	/* ... on its own only when no heartbeat carried it meanwhile */
#define REPORT_IDLE_MS 15000	/* and a sign of life at least this often */

void
runner_report_init(runner_report *r, const char *name)
{
	memset(r, 0, sizeof(*r));
	vtp_strlcpy(r->name, name, sizeof(r->name));
	if (gethostname(r->host, sizeof(r->host) - 1) != 0)
		vtp_strlcpy(r->host, "", sizeof(r->host));
	r->pid = (int) getpid();
	vtp_strlcpy(r->state, "starting", sizeof(r->state));
	r->changed = true;
}

/* What the slot does now, and for which video ("" or NULL: none). */
void
runner_report_state(runner_report *r, const char *state, const char *video, int attempt)
{
	if (video == NULL)
		video = "";
	if (strcmp(video, r->video) != 0 || attempt != r->attempt)
	{
		r->progress = 0;		/* a new job starts from nothing */
		r->child_pid = 0;
		r->changed = true;
	}
	if (strcmp(state, r->state) != 0)
		r->changed = true;
	vtp_strlcpy(r->state, state, sizeof(r->state));
	vtp_strlcpy(r->video, video, sizeof(r->video));
	r->attempt = attempt;
}

void
runner_report_progress(runner_report *r, double progress, int child_pid)
{
	if (progress != r->progress || child_pid != r->child_pid)
		r->moved = true;
	r->progress = progress;
	r->child_pid = child_pid;
}

void
runner_report_sandbox(runner_report *r, const char *sandbox)
{
	if (strcmp(sandbox, r->sandbox) != 0)
		r->changed = true;
	vtp_strlcpy(r->sandbox, sandbox, sizeof(r->sandbox));
}

/* Is a report due now, riding on a heartbeat (riding) or on its own? */
bool
runner_report_due(const runner_report *r, bool riding)
{
	int64_t		age = runner_now_ms() - r->sent_at;

	if (r->changed || r->sent_at == 0)
		return true;
	if (r->moved && age >= (riding ? REPORT_PROGRESS_MS : REPORT_ALONE_MS))
		return true;
	return age >= REPORT_IDLE_MS;
}

/* The nine parameters of vtp_runner_report, as text (NULL: none); valid until the next call. */
void
runner_report_params(runner_report *r, const char **v)
{
	bool		job = r->video[0] != '\0';

	snprintf(r->bufs[0], sizeof(r->bufs[0]), "%d", r->pid);
	snprintf(r->bufs[1], sizeof(r->bufs[1]), "%d", r->attempt);
	snprintf(r->bufs[2], sizeof(r->bufs[2]), "%.1f", r->progress);
	snprintf(r->bufs[3], sizeof(r->bufs[3]), "%d", r->child_pid);
	v[0] = r->name;
	v[1] = r->host;
	v[2] = r->bufs[0];
	v[3] = r->state;
	v[4] = job ? r->video : NULL;
	v[5] = job ? r->bufs[1] : NULL;
	v[6] = job ? r->bufs[2] : NULL;
	v[7] = r->child_pid > 0 ? r->bufs[3] : NULL;
	v[8] = r->sandbox[0] ? r->sandbox : NULL;
}

/* The catalog has it. */
void
runner_report_sent(runner_report *r)
{
	r->changed = r->moved = false;
	r->sent_at = runner_now_ms();
}

/* Report on its own if due (force: now), trying once. */
void
runner_report_send(runner_report *r, runner_db *db, bool force)
{
	const char *v[RUNNER_REPORT_PARAMS];
	PGresult   *res;
	rdb_status	st;

	if (!force && !runner_report_due(r, false))
		return;
	runner_report_params(r, v);
	st = runner_call(db, false, "record this runner's state", "vtp_runner_report", RUNNER_REPORT_PARAMS, v, &res);
	PQclear(res);
	if (st != RDB_AGAIN)
		runner_report_sent(r);	/* an ERROR is logged; again in 15 s, not at every wake-up */
}

/*
 * The first report, until answered: the name may be another role's
 * (42501), which the slot cannot fix by trying again.
 */
rdb_status
runner_report_first(runner_report *r, runner_db *db)
{
	const char *v[RUNNER_REPORT_PARAMS];
	PGresult   *res;
	rdb_status	st;

	runner_report_params(r, v);
	st = runner_call(db, true, "record this runner's state", "vtp_runner_report", RUNNER_REPORT_PARAMS, v, &res);
	PQclear(res);
	if (st == RDB_OK)
		runner_report_sent(r);
	return st;
}

/* A clean exit: the row goes (once; a runner gone silent is dropped by the catalog anyway). */
void
runner_report_gone(runner_report *r, runner_db *db)
{
	const char *v[1] = {r->name};
	PGresult   *res;

	(void) runner_call(db, false, "remove this runner's row", "vtp_runner_gone", 1, v, &res);
	PQclear(res);
}
