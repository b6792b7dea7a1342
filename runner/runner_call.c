/*
 * runner_call.c — the protocol's calls as the runner makes them: "SELECT *
 * FROM <schema>.vtp_xxx($1, ...)", once (a heartbeat, a report: the next
 * beat tries again) or until the catalog answers (claim, publish, fail,
 * release, ...: each is idempotent through the lease token, so a call whose
 * answer was lost with the connection is simply made again), with a backoff
 * between tries and no more tries once the runner is stopping. And reading
 * the one row such a call returns.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backoff.h"
#include "runner.h"

#define CALL_TIMEOUT_MS 30000	/* a call's statement: it touches one row */

static bool quiet = false;
#define ONCE_TIMEOUT_MS 5000	/* a heartbeat or report must not hold up the helper's watch long */

/*
 * Run sql (its "%s" is the extension's schema: rdb_exec) once,
 * or until answered: RDB_OK, RDB_ERROR (logged, with what it was for), or
 * RDB_AGAIN (no answer: once, or until answered but stopping).
 */
rdb_status
runner_call_sql(runner_db *db, bool until_answered, const char *what, const char *sql, int n,
				const char *const *values, PGresult **res)
{
	rdb_status	st;
	int			tries = 0;

	for (;;)
	{
		st = rdb_exec(db, sql, n, values, until_answered ? CALL_TIMEOUT_MS : ONCE_TIMEOUT_MS, res);
		if (st != RDB_AGAIN || !until_answered || runner_stopping())
			break;
		/* no connection: until the next attempt is allowed; a rolled-back statement: a backoff */
		if (db->conn == NULL && db->retry_at > runner_now_ms())
			(void) runner_sleep_ms((long) (db->retry_at - runner_now_ms()), NULL);
		else
			(void) runner_sleep_ms(vtp_backoff_delay(&VTP_BACKOFF_CATALOG, tries++), NULL);
	}
	if (st == RDB_ERROR && !quiet)
		runner_log(JOB_WARNING, "the catalog refused to %s: %s (SQLSTATE %s)", what, db->error, db->sqlstate);
	return st;
}

/* The caller says what an ERROR means itself (start-up: a role without the grants). */
void
runner_call_quiet(bool on)
{
	quiet = on;
}

/* As runner_call_sql, for one function of the protocol with n arguments. */
rdb_status
runner_call(runner_db *db, bool until_answered, const char *what, const char *func, int n,
			const char *const *values, PGresult **res)
{
	char		sql[256];
	int			len,
				i;

	len = snprintf(sql, sizeof(sql), "SELECT * FROM %%s.%s(", func);
	for (i = 1; i <= n && len < (int) sizeof(sql) - 8; i++)
		len += snprintf(sql + len, sizeof(sql) - len, i > 1 ? ", $%d" : "$%d", i);
	snprintf(sql + len, sizeof(sql) - len, ")");
	return runner_call_sql(db, until_answered, what, sql, n, values, res);
}

/* The first row's value of column (NULL: SQL NULL, or no such column or row). */
const char *
runner_value(PGresult *res, const char *column)
{
	int			c = res ? PQfnumber(res, column) : -1;

	if (c < 0 || PQntuples(res) < 1 || PQgetisnull(res, 0, c))
		return NULL;
	return PQgetvalue(res, 0, c);
}

/* A boolean column of the first row: true only if it says so. */
bool
runner_bool(PGresult *res, const char *column)
{
	const char *v = runner_value(res, column);

	return v != NULL && strcmp(v, "t") == 0;
}
