/*
 * worker_main.h — what _PG_init needs of the background workers: their
 * entry points (bgw_function_name) and the init functions that define the
 * GUCs of the workers that have their own (the transcode workers' are in
 * transcode_settings.h).
 */
#ifndef VTP_WORKER_MAIN_H
#define VTP_WORKER_MAIN_H

#include "postgres.h"

/* The ingest worker: S3 events in, tasks out of the outbox (ingest.c). */
extern PGDLLEXPORT void vtp_ingest_main(Datum arg);

/* A transcode worker, arg its number from 1 (transcode.c). */
extern PGDLLEXPORT void vtp_transcode_main(Datum arg);

/* The HTTP upload endpoint's worker (upload.c). */
extern PGDLLEXPORT void vtp_upload_main(Datum arg);

/* The reconciler: expired leases, lost tasks, orphans, the trash (reconcile.c). */
extern PGDLLEXPORT void vtp_reconcile_main(Datum arg);

/* Define the reconciler's GUCs (reconcile.c). */
extern void vtp_reconcile_init(void);

/* Define the upload endpoint's GUCs (upload.c). */
extern void vtp_upload_init(void);

/* Is the upload endpoint on (vtp.upload_listen set)? After vtp_upload_init. */
extern bool vtp_upload_enabled(void);

#endif
