/*
 * vtp.c — the module: _PG_init defines the GUCs (each subsystem its own),
 * requests the shared memory and registers the static background workers.
 * Nothing else happens at load time.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/guc.h"

#include "aws_glue.h"
#include "settings.h"
#include "slots.h"
#include "transcode_settings.h"
#include "worker_main.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

static void
register_worker(const char *name, const char *type, const char *fn, int index)
{
	BackgroundWorker w;

	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = 5;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "vtp");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "%s", fn);
	snprintf(w.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(w.bgw_type, BGW_MAXLEN, "%s", type);
	w.bgw_main_arg = Int32GetDatum(index);
	RegisterBackgroundWorker(&w);
}

void
_PG_init(void)
{
	int			i;

	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vtp must be loaded via shared_preload_libraries"),
				 errhint("Add vtp to shared_preload_libraries in postgresql.conf and restart the server.")));

	/* the GUCs, each subsystem its own; then no other vtp.* name may be used */
	vtp_settings_init();
	vtp_aws_init();
	vtp_transcode_init();
	vtp_upload_init();
	vtp_reconcile_init();
	MarkGUCPrefixReserved("vtp");
	if (IsBinaryUpgrade)
		return;

	vtp_slots_init();

	register_worker("vtp ingest", "vtp ingest", "vtp_ingest_main", 0);
	register_worker("vtp reconcile", "vtp reconcile", "vtp_reconcile_main", 0);
	for (i = 0; i < vtp_transcode_workers; i++)
	{
		char		name[BGW_MAXLEN];

		snprintf(name, sizeof(name), "vtp transcode %d", i + 1);
		register_worker(name, "vtp transcode", "vtp_transcode_main", i + 1);
	}
	if (vtp_upload_enabled())
		register_worker("vtp upload", "vtp upload", "vtp_upload_main", 0);
}
