/*
 * worker.c — background worker plumbing: signal handlers installed before
 * unblocking, a database connection with a pinned search_path, waits on the
 * latch that exit on postmaster death, config reload on SIGHUP and exit on
 * SIGTERM (exit code 1: restarted if it was not a shutdown), and the one
 * loop skeleton every worker runs with its own step (vtp_worker_loop), as
 * PostgreSQL's workers keep theirs in one place.
 */
#include "worker.h"

#include <stdarg.h>

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

void
vtp_worker_start(const char *role, const char *activity)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(vtp_database, NULL, 0);
	/* worker SQL is schema-qualified; nothing may be found elsewhere */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("application_name", MyBgworkerEntry->bgw_name, PGC_USERSET, PGC_S_SESSION);
	pgstat_report_appname(MyBgworkerEntry->bgw_name);
	vtp_slot_attach(role, MyBgworkerEntry->bgw_name);
	vtp_worker_activity("%s", activity);
}

/* SIGHUP: re-read the configuration. Also runs between polls of a long poll. */
void
vtp_worker_reload_if_asked(void *arg)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

void
vtp_worker_poll_signals(void)
{
	CHECK_FOR_INTERRUPTS();
	if (ShutdownRequestPending)
	{
		ereport(LOG, (errmsg("%s shutting down", MyBgworkerEntry->bgw_name)));
		proc_exit(1);
	}
	vtp_worker_reload_if_asked(NULL);
	vtp_aws_note_credentials();
}

void
vtp_worker_wait(long ms)
{
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	vtp_worker_poll_signals();
}

void
vtp_worker_activity(const char *fmt,...)
{
	char		buf[256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pgstat_report_activity(STATE_RUNNING, buf);
}

/*
 * Configured, installed and with credentials? Sets up c for this round.
 * Logs each reason once per change; the caller waits and asks again.
 */
bool
vtp_worker_ready(const char *role, bool need_events, aws_client *c)
{
	static char last[512] = "";
	const char *why = NULL;
	char		err[512];
	bool		installed;
	char		notready[256];

	aws_client_cleanup(c);

	if (vtp_tasks_queue_url[0] == '\0')
		why = "vtp.tasks_queue_url is not set";
	else if (need_events && vtp_events_queue_url[0] == '\0')
		why = "vtp.events_queue_url is not set";
	else
	{
		StartTransactionCommand();
		installed = catalog_extension_ready(notready, sizeof(notready));
		CommitTransactionCommand();
		if (!installed)
			why = notready;
		else if (!vtp_aws_try_setup(c, err, sizeof(err)))
			why = err;
	}
	if (why == NULL)
	{
		last[0] = '\0';
		return true;
	}
	if (strcmp(last, why) != 0)
	{
		ereport(LOG, (errmsg("%s waiting: %s", role, why)));
		strlcpy(last, why, sizeof(last));
	}
	vtp_worker_activity("waiting: %s", why);
	vtp_slot_state("waiting", NULL, 0);
	return false;
}

/* Wait up to ms on the latch (and def's socket, if it has one): the WL_* bits that ended it. */
static int
loop_wait(const vtp_worker_def *def, long ms)
{
	int			events = WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH;

	if (def->sock == PGINVALID_SOCKET)
		return WaitLatch(MyLatch, events, ms, PG_WAIT_EXTENSION);
	return WaitLatchOrSocket(MyLatch, events | WL_SOCKET_READABLE, def->sock, ms, PG_WAIT_EXTENSION);
}

/*
 * The loop of every vtp worker (see vtp_worker_def). A wake-up that comes
 * while the step works is not lost: the latch stays set and the wait after
 * the step returns at once. An ERROR out of a step ends the worker (exit 1,
 * restarted); a step catches what one unit of work may fail with itself.
 */
void
vtp_worker_loop(const vtp_worker_def *def)
{
	MemoryContext loop_cxt;
	aws_client	c;
	int			woke = 0;		/* the WL_* bits of the last wait; 0: none */

	Assert(def->step != NULL);
	Assert(def->not_ready_ms > 0);
	memset(&c, 0, sizeof(c));
	if (def->start != NULL || def->ready_check == VTP_READY_ON_RELOAD)
	{
		while (!vtp_worker_ready(def->name, def->need_events, &c))
			vtp_worker_wait(def->not_ready_ms);
		if (def->start != NULL)
			def->start(&c, def->arg);
	}
	loop_cxt = AllocSetContextCreate(TopMemoryContext, "vtp worker loop", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSetIdentifier(loop_cxt, def->name);
	for (;;)
	{
		long		ms;

		MemoryContextSwitchTo(loop_cxt);
		MemoryContextReset(loop_cxt);
		ResetLatch(MyLatch);
		if (def->ready_check == VTP_READY_ON_RELOAD && (ConfigReloadPending || (woke & WL_TIMEOUT)))
		{
			vtp_worker_reload_if_asked(NULL);
			/* settings and credentials may have changed */
			if (vtp_worker_ready(def->name, def->need_events, &c) && def->on_ready != NULL)
				def->on_ready(&c, def->arg);
		}
		vtp_worker_poll_signals();	/* SIGTERM: exits here */
		if (def->ready_check == VTP_READY_EVERY_ROUND &&
			!vtp_worker_ready(def->name, def->need_events, &c))
		{
			woke = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 def->not_ready_ms, PG_WAIT_EXTENSION);
			continue;
		}
		/* a readiness check's transaction leaves TopMemoryContext current */
		MemoryContextSwitchTo(loop_cxt);
		ms = def->step(&c, def->arg);
		woke = ms > 0 ? loop_wait(def, ms) : 0;
	}
}
