/*
 * runner_db.c — the runner's connection to its catalog: connected without
 * blocking (PQconnectStartParams, then poll(2) with the self-pipe, so a stop
 * is never stuck behind a catalog that does not answer), the extension's
 * schema found once per connection, and one statement at a time, always
 * parameterised (PQsendQueryParams, text in and out), counted, and awaited
 * with a deadline: a statement that does not answer in time costs the
 * connection, never the runner. What went wrong is sorted into "try again"
 * (no connection, a restart, a rollback the catalog may not repeat) and
 * "the catalog said no" (an ERROR with its SQLSTATE). Reconnection attempts
 * back off (VTP_BACKOFF_CATALOG); an outage is logged when it starts, once a
 * minute while it lasts, and when it ends.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "runner.h"

#define STOP_TIMEOUT_MS 5000	/* once stopping, no wait is longer (the task is handed back) */
#define CONNECT_TIMEOUT_MS 10000
#define OUTAGE_LOG_MS 60000

static const char *const find_schema =
"SELECT n.nspname FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n "
"ON n.oid = e.extnamespace WHERE e.extname = 'vtp'";

void
rdb_init(runner_db *db, const char *conninfo, const char *appname)
{
	memset(db, 0, sizeof(*db));
	db->conninfo = conninfo;
	vtp_strlcpy(db->appname, appname, sizeof(db->appname));
}

/* libpq's words on one line: newlines and the tabs after them become one space, none at the end. */
static void
set_error(runner_db *db, const char *prefix, const char *msg)
{
	char		raw[512];
	size_t		i,
				o = 0;

	snprintf(raw, sizeof(raw), "%s%s", prefix, msg ? msg : "");
	for (i = 0; raw[i] && o < sizeof(db->error) - 1; i++)
	{
		bool		space = raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == ' ';

		if (space && (o == 0 || db->error[o - 1] == ' '))
			continue;
		db->error[o++] = space ? ' ' : raw[i];
	}
	while (o > 0 && db->error[o - 1] == ' ')
		o--;
	db->error[o] = '\0';
}

/* The catalog's NOTICEs and WARNINGs (a shutdown, say) as the runner's own log lines. */
static void
on_notice(void *arg, const char *message)
{
	runner_db  *db = arg;
	char		saved[sizeof(db->error)];

	memcpy(saved, db->error, sizeof(saved));
	set_error(db, "", message);
	runner_log(JOB_LOG, "the catalog says: %s", db->error);
	memcpy(db->error, saved, sizeof(saved));
}

void
rdb_close(runner_db *db)
{
	if (db->conn)
		PQfinish(db->conn);
	db->conn = NULL;
	db->schema[0] = '\0';
}

/* The role this connection logged in as ("" when there is none). */
const char *
rdb_user(runner_db *db)
{
	const char *u = db->conn ? PQuser(db->conn) : NULL;

	return u ? u : "";
}

/* A deadline of timeout_ms from now, shortened once stopping. */
static int64_t
deadline(long timeout_ms)
{
	if (runner_stopping() && timeout_ms > STOP_TIMEOUT_MS)
		timeout_ms = STOP_TIMEOUT_MS;
	return runner_now_ms() + timeout_ms;
}

/* until, or sooner once stopping: a stop that comes while waiting is not kept waiting long. */
static int64_t
left_ms(int64_t *until)
{
	int64_t		now = runner_now_ms();

	if (runner_stopping() && *until > now + STOP_TIMEOUT_MS)
		*until = now + STOP_TIMEOUT_MS;
	return *until - now;
}

/* Drive PQconnectPoll to its end or the deadline; true when connected. */
static bool
connect_poll(runner_db *db, int64_t until)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;

	while (st != PGRES_POLLING_OK)
	{
		int64_t		left = left_ms(&until);

		if (st == PGRES_POLLING_FAILED)
		{
			set_error(db, "", PQerrorMessage(db->conn));
			return false;
		}
		if (left <= 0)
		{
			set_error(db, "", "no answer from the catalog within the connection timeout");
			return false;
		}
		if (runner_poll(left, PQsocket(db->conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, -1, 0) != 0)
			st = PQconnectPoll(db->conn);
	}
	return true;
}

/*
 * Open the connection: the runner's defaults first, so that the conninfo
 * (expanded from dbname) overrides them; keepalives find a dead peer.
 */
static bool
open_connection(runner_db *db, long timeout_ms)
{
	const char *const keys[] = {"fallback_application_name", "keepalives", "keepalives_idle",
	"keepalives_interval", "keepalives_count", "dbname", NULL};
	const char *const vals[] = {db->appname, "1", "30", "10", "3", db->conninfo, NULL};

	rdb_close(db);
	db->conn = PQconnectStartParams(keys, vals, 1);
	if (db->conn == NULL)
	{
		set_error(db, "", "out of memory");
		return false;
	}
	if (PQstatus(db->conn) == CONNECTION_BAD)
	{
		set_error(db, "", PQerrorMessage(db->conn));
		return false;
	}
	PQsetNoticeProcessor(db->conn, on_notice, db);
	return connect_poll(db, deadline(timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms : CONNECT_TIMEOUT_MS));
}

static rdb_status run(runner_db *db, const char *sql, int n, const char *const *values, long timeout_ms,
					  PGresult **res);

/* The extension's schema, quoted, for this connection's statements. */
static rdb_status
load_schema(runner_db *db)
{
	PGresult   *res;
	rdb_status	st = run(db, find_schema, 0, NULL, CONNECT_TIMEOUT_MS, &res);
	char	   *q;

	if (st != RDB_OK)
		return st;
	if (PQntuples(res) != 1)
	{
		PQclear(res);
		set_error(db, "", "this database has no vtp extension (CREATE EXTENSION vtp, or --db names the wrong database)");
		rdb_close(db);
		return RDB_AGAIN;		/* it may be created yet */
	}
	q = PQescapeIdentifier(db->conn, PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)));
	PQclear(res);
	if (q == NULL || strlen(q) >= sizeof(db->schema))
	{
		set_error(db, "", "the vtp extension's schema name is too long");
		PQfreemem(q);
		rdb_close(db);
		return RDB_AGAIN;
	}
	vtp_strlcpy(db->schema, q, sizeof(db->schema));
	PQfreemem(q);
	return RDB_OK;
}

/* Say when an outage begins, once a minute while it lasts (with why), and when it ends. */
static void
note_outage(runner_db *db, bool up)
{
	int64_t		now = runner_now_ms();

	if (up)
	{
		if (db->down_since && db->was_up)
			runner_log(JOB_LOG, "the catalog answers again, after %ld s", (long) ((now - db->down_since) / 1000));
		else if (!db->was_up)
			runner_log(JOB_LOG, "connected to the catalog: database \"%s\" on %s as role \"%s\", extension schema %s",
					   PQdb(db->conn), PQhost(db->conn), PQuser(db->conn), db->schema);
		db->down_since = 0;
		db->was_up = true;
		return;
	}
	if (db->down_since == 0)
	{
		db->down_since = db->down_logged = now;
		runner_log(JOB_WARNING, "%s the catalog: %s; trying again", db->was_up ? "lost" : "could not reach",
				   db->error);
	}
	else if (now - db->down_logged >= OUTAGE_LOG_MS)
	{
		db->down_logged = now;
		runner_log(JOB_WARNING, "the catalog has not answered for %ld s: %s; still trying",
				   (long) ((now - db->down_since) / 1000), db->error);
	}
}

/*
 * A usable connection, or RDB_AGAIN. Attempts back off after a failure;
 * once stopping, one more attempt is allowed (to hand the task back). A
 * call's own timeout bounds its connection attempt too (a heartbeat's is
 * short: the helper's watch waits meanwhile).
 */
static rdb_status
ensure_connected(runner_db *db, long timeout_ms)
{
	static bool tried_stopping = false;
	rdb_status	st;

	if (db->conn && PQstatus(db->conn) == CONNECTION_OK && db->schema[0])
		return RDB_OK;
	if (runner_stopping() ? tried_stopping : runner_now_ms() < db->retry_at)
		return RDB_AGAIN;
	tried_stopping = runner_stopping();
	st = open_connection(db, timeout_ms) ? load_schema(db) : RDB_AGAIN;
	if (st == RDB_OK)
	{
		db->failures = 0;
		note_outage(db, true);
		return RDB_OK;
	}
	rdb_close(db);
	db->retry_at = runner_now_ms() + vtp_backoff_delay(&VTP_BACKOFF_CATALOG, db->failures++);
	note_outage(db, false);
	return st == RDB_ERROR ? RDB_ERROR : RDB_AGAIN;
}

/* Wait for the answer until the deadline; false if the connection is gone or too slow. */
static bool
await_result(runner_db *db, int64_t until)
{
	while (PQisBusy(db->conn))
	{
		int64_t		left = left_ms(&until);

		if (left <= 0)
		{
			set_error(db, "", "no answer from the catalog within the statement's deadline");
			return false;
		}
		if (runner_poll(left, PQsocket(db->conn), POLLIN, -1, 0) != 0 && !PQconsumeInput(db->conn))
		{
			set_error(db, "", PQerrorMessage(db->conn));
			return false;
		}
	}
	return true;
}

/* Is this SQLSTATE one the catalog may not say again (a rollback, a restart)? lost: the session too. */
static bool
transient_state(const char *s, bool *lost)
{
	*lost = strncmp(s, "08", 2) == 0 || strncmp(s, "57P", 3) == 0 || strcmp(s, "25006") == 0;
	return *lost || strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0 ||
		strcmp(s, "57014") == 0 || strncmp(s, "53", 2) == 0;
}

/* Sort a failed result: try again, or the catalog's ERROR. */
static rdb_status
classify(runner_db *db, PGresult *r)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	bool		lost = false;

	vtp_strlcpy(db->sqlstate, state ? state : "", sizeof(db->sqlstate));
	set_error(db, "", msg ? msg : PQerrorMessage(db->conn));
	if (PQstatus(db->conn) != CONNECTION_OK || state == NULL || transient_state(state, &lost))
	{
		if (lost || PQstatus(db->conn) != CONNECTION_OK)
			rdb_close(db);
		return RDB_AGAIN;
	}
	return RDB_ERROR;
}

/* Send one statement on the open connection and take its one result. */
static rdb_status
run(runner_db *db, const char *sql, int n, const char *const *values, long timeout_ms, PGresult **res)
{
	PGresult   *r = NULL,
			   *extra;
	rdb_status	st;

	*res = NULL;
	db->sqlstate[0] = '\0';
	if (!PQsendQueryParams(db->conn, sql, n, NULL, values, NULL, NULL, 0))
	{
		set_error(db, "", PQerrorMessage(db->conn));
		rdb_close(db);
		return RDB_AGAIN;
	}
	db->statements++;
	if (!await_result(db, deadline(timeout_ms)))
	{
		rdb_close(db);			/* its fate is unknown: every call is safe to repeat */
		return RDB_AGAIN;
	}
	r = PQgetResult(db->conn);
	while ((extra = PQgetResult(db->conn)) != NULL)
		PQclear(extra);			/* one statement, one result: nothing else is expected */
	if (r && PQresultStatus(r) == PGRES_TUPLES_OK)
	{
		*res = r;
		return RDB_OK;
	}
	st = classify(db, r);
	PQclear(r);
	return st;
}

/*
 * Run sql with n text parameters (NULL: SQL NULL), connecting first if need
 * be; its one "%s" is the extension's schema (quoted), which is the
 * connection's to know. RDB_OK with the rows in *res (to PQclear),
 * RDB_AGAIN when there is no answer to be had now, RDB_ERROR with
 * db->sqlstate and db->error.
 */
rdb_status
rdb_exec(runner_db *db, const char *sql, int n, const char *const *values, long timeout_ms, PGresult **res)
{
	rdb_status	st = ensure_connected(db, timeout_ms);
	char		text[2048];

	*res = NULL;
	if (st != RDB_OK)
		return st;
	if (snprintf(text, sizeof(text), sql, db->schema) >= (int) sizeof(text))
	{
		set_error(db, "", "statement too long");
		return RDB_ERROR;
	}
	st = run(db, text, n, values, timeout_ms, res);
	if (st == RDB_AGAIN && db->conn == NULL)
	{
		db->retry_at = 0;		/* it was up a moment ago: reconnect at once, then back off */
		note_outage(db, false);
	}
	return st;
}
