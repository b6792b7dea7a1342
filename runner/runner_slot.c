/*
 * runner_slot.c — one job slot of vtp-runner, as bgworker/transcode.c is
 * one transcode worker: its scratch (0700, checked, locked against another
 * runner of the same name), the catalog (connected, its settings read and
 * checked, the role's grants proven by the first call), AWS credentials
 * from the chain, the helper's sandbox checked before any task is taken
 * (again every minute while it says no, and when vtp.sandbox changes), and
 * then the loop: settings read again every minute and before each task, one
 * long-polled receive, the task run by the engine. A task received while
 * stopping is handed back at once. A clean exit removes the slot's row from
 * vtp_runners and logs how many statements the slot sent.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "creds.h"
#include "runner.h"

#define TASK_WAIT_SECONDS 20
#define SETTINGS_EVERY_MS 60000
#define NOT_READY_MS 60000		/* no tasks (settings refused, no sandbox): look again after this */
#define START_RETRY_MS 10000	/* the catalog or AWS not ready at start */
#define SQS_MAX_VISIBILITY 43200
#define TEST_MAX_VISIBILITY_ENV "VTP_TEST_SQS_MAX_VISIBILITY"	/* tests only, as in the server */

/* The sandbox as last checked. */
static bool sandbox_ok = false;
static int64_t sandbox_checked = 0;
static int	sandbox_mode_checked = -1;

/* A refusal is logged once until it changes (or once a minute, for start-up retries). */
static char last_refusal[512];
static int64_t refusal_logged = 0;

static void
refusal(const char *what, const char *why, const char *hint)
{
	char		msg[1024];

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	if (strcmp(msg, last_refusal) == 0 && runner_now_ms() - refusal_logged < 60000)
		return;
	vtp_strlcpy(last_refusal, msg, sizeof(last_refusal));
	refusal_logged = runner_now_ms();
	runner_log_full(JOB_WARNING, msg, NULL, hint);
}

/* Sleep up to ms in steps, reporting when due; cut short by a stop or SIGHUP (then settings again). */
static void
slot_wait(runner_slot *s, long ms)
{
	int64_t		until = runner_now_ms() + ms;
	int64_t		left;

	while (!runner_stopping() && (left = until - runner_now_ms()) > 0)
	{
		(void) runner_poll(left < 1000 ? left : 1000, -1, 0, -1, 0);
		if (runner_take_reload())
		{
			s->reload = true;
			return;
		}
		runner_report_send(&s->rep, &s->db, false);
	}
}

/*
 * Read vtp_runner_settings() into s->cfg: RDB_OK when answered (cfg_ok says
 * whether they fit; the old ones stay when not), else the call's status.
 */
static rdb_status
read_settings(runner_slot *s, bool until_answered)
{
	PGresult   *res;
	rdb_status	st = runner_call(&s->db, until_answered, "give its settings", "vtp_runner_settings", 0, NULL, &res);
	const char **names,
			  **values;
	char		err[512];
	bool		was_ok;
	int			i,
				n;

	if (st != RDB_OK)
	{
		/* the role's grants are gone (revoked, or never given): stop, with why (not_granted) */
		s->denied = st == RDB_ERROR && strcmp(s->db.sqlstate, "42501") == 0;
		if (s->denied)
			runner_request_stop();
		PQclear(res);
		return st;
	}
	n = PQntuples(res);
	names = calloc(n + 1, sizeof(char *));
	values = calloc(n + 1, sizeof(char *));
	for (i = 0; names && values && i < n; i++)
	{
		names[i] = PQgetisnull(res, i, 0) ? NULL : PQgetvalue(res, i, 0);
		values[i] = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
	}
	was_ok = s->cfg_ok;
	s->cfg_ok = names && values && PQnfields(res) == 2 &&
		runner_settings_parse(n, names, values, &s->cfg, err, sizeof(err));
	if (s->cfg_ok && !was_ok && s->cfg_read_at != 0 && !s->denied)
		runner_log(JOB_LOG, "the catalog's settings fit again: taking transcode tasks");
	if (!s->cfg_ok)
		refusal("not taking transcode tasks: a setting of the catalog does not fit", names && values ? err : "out of memory",
				"Fix the setting on the catalog's server (ALTER SYSTEM, then SELECT pg_reload_conf()); runners follow within a minute.");
	s->cfg_read_at = runner_now_ms();
	free(names);
	free(values);
	PQclear(res);
	runner_settings_aws(&s->cfg.aws, &s->c);
	return RDB_OK;
}

/* A role without the grants (at start, or revoked since): the server's words, who, what fixes it; exit 2. */
static int
not_granted(runner_slot *s, const char *what)
{
	const char *role = rdb_user(&s->db);
	char		quoted[256];
	size_t		i,
				o = 0;

	for (i = 0; role[i] && o < sizeof(quoted) - 2; i++)
	{
		if (role[i] == '\'')
			quoted[o++] = '\'';
		quoted[o++] = role[i];
	}
	quoted[o] = '\0';
	fprintf(stderr, "vtp-runner: role \"%s\" may not run vtp jobs: %s\n", role, s->db.error);
	fprintf(stderr, "vtp-runner: hint: a superuser grants a runner role what it needs (%s) with: SELECT vtp_grant_runner('%s')\n",
			what, quoted);
	return RUNNER_EXIT_CONFIG;
}

/*
 * The catalog at start: its settings until answered (the first call proves
 * the role's grants), then the slot's row. RUNNER_EXIT_OK when ready (or
 * stopping), else the exit status.
 */
static int
start_catalog(runner_slot *s)
{
	rdb_status	st;

	while (!runner_stopping())
	{
		runner_call_quiet(true);
		st = read_settings(s, true);
		runner_call_quiet(false);
		if (s->denied)
			return RUNNER_EXIT_CONFIG;
		if (st == RDB_ERROR)
		{
			refusal("the catalog cannot serve runners yet", s->db.error,
					strcmp(s->db.sqlstate, "42883") == 0 ? "The runner protocol came with vtp 1.4: ALTER EXTENSION vtp UPDATE on the catalog." : NULL);
			slot_wait(s, START_RETRY_MS);
			continue;
		}
		if (st != RDB_OK)
			continue;			/* stopping */
		if (s->cfg_ok && strcmp(s->cfg.version, VTP_VERSION) != 0)
			runner_log(JOB_WARNING, "the catalog runs vtp %s, this runner is %s: keep them the same version",
					   s->cfg.version, VTP_VERSION);
		runner_call_quiet(true);
		st = runner_report_first(&s->rep, &s->db);
		runner_call_quiet(false);
		if (st == RDB_ERROR && strcmp(s->db.sqlstate, "42501") == 0)
		{
			fprintf(stderr, "vtp-runner %s: %s\n", s->name, s->db.error);
			fprintf(stderr, "vtp-runner %s: hint: another role runs a runner of this name: give each its own --name\n", s->name);
			return RUNNER_EXIT_CONFIG;
		}
		return RUNNER_EXIT_OK;
	}
	return RUNNER_EXIT_OK;
}

/* The AWS client: hooks that watch the stop flag, the catalog's settings, credentials from the chain. */
static void
start_aws(runner_slot *s)
{
	char		err[512];
	aws_creds_info info;

	aws_client_defaults(&s->c);
	s->c.abort_check = runner_abort_check;
	s->c.sleep_fn = runner_sleep_ms;
	runner_settings_aws(&s->cfg.aws, &s->c);
	while (!runner_stopping())
	{
		if (aws_client_use_chain(&s->c, s->opt->profile, err, sizeof(err)) == 0)
		{
			if (aws_creds_peek(&info))
				runner_log(JOB_LOG, "AWS credentials from %s (%s)", info.provider, info.detail);
			return;
		}
		refusal("no AWS credentials", err,
				"The environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the shared credentials file (AWS_PROFILE or --profile), a container or an instance role.");
		slot_wait(s, START_RETRY_MS);
	}
}

/*
 * (Re)run the helper's sandbox check: at start, when vtp.sandbox changed,
 * and every minute while it says no (then no tasks are taken).
 */
static bool
check_sandbox(runner_slot *s, bool force)
{
	char		state[64],
				why[256],
				err[256],
				dir[1100];
	int			mode = s->cfg.job.sandbox_required;

	if (!force && sandbox_mode_checked == mode && (sandbox_ok || runner_now_ms() - sandbox_checked < NOT_READY_MS))
		return sandbox_ok;
	sandbox_checked = runner_now_ms();
	sandbox_mode_checked = mode;
	snprintf(dir, sizeof(dir), "%s/sandbox-check", s->dir);
	if (job_scratch_dir(dir, err, sizeof(err)) != 0)
	{
		vtp_strlcpy(why, err, sizeof(why));
		snprintf(state, sizeof(state), "unavailable: %.50s", err);
		sandbox_ok = false;
	}
	else
		sandbox_ok = job_check_sandbox(&s->host, dir, state, sizeof(state), why, sizeof(why));
	job_remove_tree(dir);
	runner_report_sandbox(&s->rep, state);
	if (sandbox_ok)
		runner_log(JOB_LOG, "transcoder sandbox: %s (vtp.sandbox = %s)", state, mode ? "required" : "best_effort");
	else
		refusal("not taking transcode tasks", why,
				"Set vtp.sandbox = 'best_effort' on the catalog to transcode without Landlock, or use a kernel with Landlock.");
	return sandbox_ok;
}

/* Messages received just as the slot stops, or that it may not run now: back to their queue at once. */
static void
hand_back(runner_slot *s, const char *queue, sqs_message *msgs, int from, int n)
{
	aws_error	err;
	int			i;

	runner_never_abort(true);
	s->c.max_retries = 0;
	s->c.timeout_ms = 2000;
	for (i = from; i < n; i++)
		if (sqs_change_visibility(&s->c, queue, msgs[i].receipt_handle, 0, &err) != 0)
			runner_log(JOB_LOG, "could not hand a task back: %s", err.message);
	runner_never_abort(false);
	runner_settings_aws(&s->cfg.aws, &s->c);
}

/* Between the long poll's socket polls: the slot's row stays fresh while it waits. */
static void
receive_tick(void *arg)
{
	runner_slot *s = arg;

	runner_report_send(&s->rep, &s->db, false);
}

/*
 * The scratch directory, again before each task: something (systemd-tmpfiles,
 * an operator) may have removed it since the start. Made again if so; a task
 * is not taken (it goes back to the queue) if it cannot be.
 */
static bool
scratch_still_there(runner_slot *s)
{
	char		err[256];

	if (job_scratch_dir(s->opt->scratch, err, sizeof(err)) == 0 && job_scratch_dir(s->dir, err, sizeof(err)) == 0)
		return true;
	runner_log(JOB_WARNING, "not taking the task: scratch directory: %s", err);
	return false;
}

/* Wait for one task and run it; how long to wait before the next round. */
static long
receive_and_run(runner_slot *s)
{
	sqs_message *msgs = NULL;
	aws_error	err;
	time_t		received_at = time(NULL);	/* SQS's 12 h count starts no earlier */
	char		queue[sizeof(s->cfg.job.tasks_queue_url)];
	int			i,
				n = 0,
				rc;

	runner_report_state(&s->rep, "idle", NULL, 0);
	runner_report_send(&s->rep, &s->db, false);
	s->c.between = receive_tick;
	s->c.cb_arg = s;
	vtp_strlcpy(queue, s->cfg.job.tasks_queue_url, sizeof(queue));
	rc = sqs_receive(&s->c, queue, 1, TASK_WAIT_SECONDS, s->cfg.job.visibility_timeout_s, &msgs, &n, &err);
	s->c.between = NULL;
	s->c.cb_arg = NULL;
	if (rc != 0)
	{
		if (!err.aborted)
			runner_log(JOB_WARNING, "could not receive transcode tasks: %s (%s, HTTP status %ld)", err.message,
					   err.code, err.http_status);
		return err.aborted ? 0 : 5000;
	}
	for (i = 0; i < n && !runner_stopping(); i++)
	{
		(void) read_settings(s, false); /* before each task: no answer keeps the last ones */
		/* (a task of a queue the catalog no longer names goes back to it: the next receive takes the new one) */
		if (runner_stopping() || !s->cfg_ok || strcmp(queue, s->cfg.job.tasks_queue_url) != 0 ||
			!check_sandbox(s, false) || !scratch_still_there(s))
			break;
		(void) job_run_message(&s->host, &s->c, &msgs[i], received_at);
		runner_settings_aws(&s->cfg.aws, &s->c);	/* a hand-back shortens the client's timeouts */
		runner_report_state(&s->rep, "idle", NULL, 0);
	}
	if (i < n)
		hand_back(s, queue, msgs, i, n);
	sqs_messages_free(msgs, n);
	return 0;
}

/* One round: settings every minute (or after SIGHUP), no tasks while they or the sandbox say no. */
static long
slot_step(runner_slot *s)
{
	if (runner_take_reload() || s->reload || runner_now_ms() - s->cfg_read_at >= SETTINGS_EVERY_MS)
		(void) read_settings(s, false);
	s->reload = false;
	if (!s->cfg_ok)
	{
		runner_report_state(&s->rep, "not taking tasks: a setting does not fit", NULL, 0);
		runner_report_send(&s->rep, &s->db, false);
		return NOT_READY_MS;
	}
	if (!check_sandbox(s, false))
	{
		runner_report_state(&s->rep, "sandbox unavailable", NULL, 0);
		runner_report_send(&s->rep, &s->db, false);
		return NOT_READY_MS;
	}
	return receive_and_run(s);
}

/*
 * The slot's scratch: the root (made 0700 and checked like the server's),
 * a lock in it that another runner of the same name and scratch cannot
 * take, and the slot's own directory, emptied of what a crash left. False
 * (logged) when it cannot have them: no restart helps (exit status 2).
 */
static bool
prepare_scratch(runner_slot *s, int *lock_fd)
{
	char		err[1200],
				lock[1100];

	if (job_scratch_dir(s->opt->scratch, err, sizeof(err)) != 0)
	{
		runner_log(JOB_WARNING, "%s", err);
		return false;
	}
	snprintf(lock, sizeof(lock), "%s/w%d.lock", s->opt->scratch, s->index);
	*lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*lock_fd < 0)
	{
		runner_log(JOB_WARNING, "could not open \"%s\": %m", lock);
		return false;
	}
	if (flock(*lock_fd, LOCK_EX | LOCK_NB) != 0)
	{
		runner_log(JOB_WARNING, "scratch directory \"%s\" is in use by another vtp-runner: give each runner on a machine its own --name or --scratch",
				   s->dir);
		return false;
	}
	if (access(s->dir, F_OK) == 0)
		job_remove_tree(s->dir);	/* what a crash of this slot left behind */
	if (job_scratch_dir(s->dir, err, sizeof(err)) != 0)
	{
		runner_log(JOB_WARNING, "%s", err);
		return false;
	}
	return true;
}

/* The slot's names, its settings that are its own (scratch, helper, SQS's limit), its host. */
static void
slot_init(runner_slot *s, const runner_options *opt, const char *name, int index)
{
	const char *lower = getenv(TEST_MAX_VISIBILITY_ENV);
	char		app[96];

	memset(s, 0, sizeof(*s));
	s->opt = opt;
	s->index = index;
	vtp_strlcpy(s->name, name, sizeof(s->name));
	snprintf(s->worker, sizeof(s->worker), "runner %s", name);
	snprintf(s->dir, sizeof(s->dir), "%s/w%d", opt->scratch, index);
	runner_log_as(name);
	vtp_strlcpy(s->cfg.job.scratch_dir, s->dir, sizeof(s->cfg.job.scratch_dir));
	vtp_strlcpy(s->cfg.job.transcoder_path, opt->transcoder, sizeof(s->cfg.job.transcoder_path));
	s->cfg.job.sqs_max_visibility = SQS_MAX_VISIBILITY;
	if (lower && atoi(lower) > 0 && atoi(lower) < SQS_MAX_VISIBILITY)
	{
		s->cfg.job.sqs_max_visibility = atoi(lower);
		runner_log(JOB_LOG, "SQS's visibility limit taken as %d s (%s, for tests only)",
				   s->cfg.job.sqs_max_visibility, TEST_MAX_VISIBILITY_ENV);
	}
	runner_report_init(&s->rep, name);
	runner_host_init(s);
	snprintf(app, sizeof(app), "vtp-runner %s", name);
	rdb_init(&s->db, opt->conninfo, app);
}

/* Run one slot until SIGTERM/SIGINT: the exit status. */
int
runner_slot_main(const runner_options *opt, const char *name, int index)
{
	static runner_slot s;
	int			lock_fd = -1;
	int			rc = RUNNER_EXIT_CONFIG;

	slot_init(&s, opt, name, index);
	if (prepare_scratch(&s, &lock_fd))
		rc = start_catalog(&s);
	if (rc == RUNNER_EXIT_OK && !runner_stopping())
	{
		start_aws(&s);
		runner_log(JOB_LOG, "started: tasks from %s, helper %s, scratch %s", s.cfg.job.tasks_queue_url,
				   s.cfg.job.transcoder_path, s.dir);
		(void) check_sandbox(&s, true);
	}
	while (rc == RUNNER_EXIT_OK && !runner_stopping())
	{
		long		ms = slot_step(&s);

		if (ms > 0)
			slot_wait(&s, ms);
	}
	if (s.denied)
		rc = not_granted(&s, "EXECUTE on the runner protocol's functions");
	else if (rc == RUNNER_EXIT_OK)
		runner_report_gone(&s.rep, &s.db);
	runner_log(JOB_LOG, "stopped: %ld statements", s.db.statements);
	rdb_close(&s.db);
	aws_client_cleanup(&s.c);
	free(s.facts);
	if (lock_fd >= 0)
	{
		job_remove_tree(s.dir);
		close(lock_fd);
	}
	return rc;
}
