/*
 * runner.h — vtp-runner, the job engine's second host: a program on any
 * machine that transcodes the catalog's videos through the same tasks
 * queue, the same engine (src/job) and the same sandboxed helper as the
 * in-server workers, and reaches the catalog with libpq only (the SQL
 * functions of the runner protocol, docs/runner.md). This header is between
 * the runner's files:
 *
 *   main.c             the command line, then one slot or the supervisor
 *   supervise.c        --jobs N: slot processes, restarted when they die, stopped on SIGTERM
 *   runner_sys.c       signals through a self-pipe, poll(2) waits, the clock, log lines
 *   runner_db.c        the catalog connection and one statement, counted
 *   runner_call.c      catalog calls retried until answered, with backoff
 *   runner_settings.c  vtp_runner_settings() rows → the engine's settings and the AWS client
 *   runner_report.c    the slot's row in vtp_runners (vtp_runner_report)
 *   runner_host.c      the job_host callbacks
 *   runner_slot.c      one slot: start-up, the sandbox check, the receive loop
 *
 * A slot is one process with one connection, one AWS client and one task at
 * a time. No PostgreSQL server header here: libpq-fe.h only.
 */
#ifndef VTP_RUNNER_H
#define VTP_RUNNER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "aws.h"
#include "job.h"

/* Exit statuses (--help lists them). */
#define RUNNER_EXIT_OK 0			/* stopped by SIGTERM/SIGINT */
#define RUNNER_EXIT_ERROR 1			/* something unexpected: a supervisor restarts the slot */
#define RUNNER_EXIT_CONFIG 2		/* wrong options, a role without the grants: not worth a restart */

#define RUNNER_NAME_MAX 64			/* --name, without the "/N" of a slot */

/* The command line. */
typedef struct runner_options
{
	const char *conninfo;		/* --db or VTP_RUNNER_DB: never logged (it may hold a password) */
	char		name[RUNNER_NAME_MAX];
	int			jobs;
	char		scratch[1024];
	char		transcoder[1024];
	const char *profile;		/* --profile, else AWS_PROFILE (the chain's own rule) */
} runner_options;

/* --- runner_sys.c: the process --- */
extern void runner_sys_init(bool supervisor);
extern void runner_sys_after_fork(void);
extern bool runner_stopping(void);
extern void runner_request_stop(void);
extern bool runner_take_reload(void);
extern bool runner_take_child_exit(void);
extern int	runner_poll(long timeout_ms, int fd1, short ev1, int fd2, short ev2);
extern int64_t runner_now_ms(void);
extern int	runner_abort_check(void *arg);
extern int	runner_sleep_ms(long ms, void *arg);
extern void runner_never_abort(bool on);
extern void runner_log_as(const char *name);
extern void runner_log(job_level level, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void runner_log_full(job_level level, const char *msg, const char *detail, const char *hint);

/* runner_poll's answer: which descriptors are ready */
#define RUNNER_FD1 1
#define RUNNER_FD2 2

/* --- runner_db.c: the catalog connection --- */
typedef enum rdb_status
{
	RDB_OK,						/* the statement ran; its rows are in the result */
	RDB_AGAIN,					/* no answer (connection lost, unreachable, rolled back): try again */
	RDB_ERROR					/* the catalog answered with an ERROR (sqlstate, error) */
} rdb_status;

typedef struct runner_db
{
	const char *conninfo;
	char		appname[96];	/* fallback_application_name: "vtp-runner NAME" */
	PGconn	   *conn;
	char		schema[136];	/* the extension's schema, quoted, for this connection */
	long		statements;		/* sent, in total (the benchmark reads it from the exit line) */
	char		sqlstate[6];	/* of the last RDB_ERROR */
	char		error[512];		/* the last failure, one line */
	int			failures;		/* connection attempts failed in a row */
	int64_t		retry_at;		/* no new connection attempt before this (ms) */
	int64_t		down_since;		/* ms, 0 while the catalog answers */
	int64_t		down_logged;	/* when the outage was last logged (ms) */
	bool		was_up;			/* connected at least once */
} runner_db;

extern void rdb_init(runner_db *db, const char *conninfo, const char *appname);
extern rdb_status rdb_exec(runner_db *db, const char *sql, int n, const char *const *values,
						   long timeout_ms, PGresult **res);
extern void rdb_close(runner_db *db);
extern const char *rdb_user(runner_db *db);

/* --- runner_call.c: calls as the protocol wants them --- */
extern rdb_status runner_call(runner_db *db, bool until_answered, const char *what, const char *func,
							  int n, const char *const *values, PGresult **res);
extern rdb_status runner_call_sql(runner_db *db, bool until_answered, const char *what, const char *sql,
								  int n, const char *const *values, PGresult **res);
extern void runner_call_quiet(bool on);
extern const char *runner_value(PGresult *res, const char *column);
extern bool runner_bool(PGresult *res, const char *column);

/* --- runner_settings.c: what the catalog says a transcode needs --- */
typedef struct runner_aws
{
	char		region[64];
	char		s3_endpoint[512];
	char		sqs_endpoint[512];
	int			part_size_mb;
	int			request_timeout_s;
	int			max_retries;
} runner_aws;

typedef struct runner_config
{
	job_settings job;			/* the engine's (scratch, helper and SQS's limit are the runner's own) */
	runner_aws	aws;
	char		version[32];	/* the catalog's extension version */
} runner_config;

extern bool runner_settings_parse(int n, const char *const *names, const char *const *values,
								  runner_config *cfg, char *err, size_t errlen);
extern void runner_settings_aws(const runner_aws *a, aws_client *c);

/* --- runner_report.c: the slot's row in vtp_runners --- */
typedef struct runner_report
{
	char		name[RUNNER_NAME_MAX + 16];
	char		host[256];
	int			pid;
	char		state[64];
	char		video[VTP_UUID_SIZE];	/* "" none */
	int			attempt;
	double		progress;
	int			child_pid;
	char		sandbox[64];
	bool		changed;		/* state, video or sandbox since the last report: report now */
	bool		moved;			/* progress or helper since the last report */
	int64_t		sent_at;		/* ms, 0 never */
	char		bufs[5][64];	/* the parameters' text */
} runner_report;

#define RUNNER_REPORT_PARAMS 9

extern void runner_report_init(runner_report *r, const char *name);
extern void runner_report_state(runner_report *r, const char *state, const char *video, int attempt);
extern void runner_report_progress(runner_report *r, double progress, int child_pid);
extern void runner_report_sandbox(runner_report *r, const char *sandbox);
extern bool runner_report_due(const runner_report *r, bool riding);
extern void runner_report_params(runner_report *r, const char **v);
extern void runner_report_sent(runner_report *r);
extern void runner_report_send(runner_report *r, runner_db *db, bool force);
extern rdb_status runner_report_first(runner_report *r, runner_db *db);
extern void runner_report_gone(runner_report *r, runner_db *db);

/* --- runner_host.c and runner_slot.c: one slot --- */
typedef struct runner_slot
{
	const runner_options *opt;
	char		name[RUNNER_NAME_MAX + 16];	/* NAME, or NAME/i with --jobs */
	char		worker[RUNNER_NAME_MAX + 24];	/* "runner NAME": what claimed_by says */
	int			index;			/* 1..N */
	char		dir[1040];		/* this slot's scratch: <scratch>/w<index> */
	runner_db	db;
	runner_config cfg;			/* cfg.job is what the engine reads (host.set) */
	bool		cfg_ok;			/* the catalog's settings were read and fit */
	bool		denied;			/* the role may not call the protocol (42501): exit 2 */
	int64_t		cfg_read_at;	/* ms */
	bool		reload;			/* SIGHUP: read them again now */
	aws_client	c;
	runner_report rep;
	char	   *facts;			/* a probe the catalog did not take yet (malloc'd) */
	job_host	host;
} runner_slot;

extern void runner_host_init(runner_slot *s);
extern int	runner_slot_main(const runner_options *opt, const char *name, int index);
extern int	runner_supervise(const runner_options *opt);

#endif
