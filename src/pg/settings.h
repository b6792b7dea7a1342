/*
 * settings.h — the GUCs several parts of vtp read: the database, the
 * buckets and prefixes, the queues, the limits every step applies. Each
 * subsystem defines its own GUCs in its own vtp_xxx_init(); these are the
 * shared ones (settings.c), defined first by _PG_init.
 */
#ifndef VTP_SETTINGS_H
#define VTP_SETTINGS_H

#include "postgres.h"

extern char *vtp_database;
extern char *vtp_temp_bucket;
extern char *vtp_output_bucket;
extern char *vtp_output_prefix;
extern char *vtp_upload_prefix;
extern char *vtp_source_buckets;
extern char *vtp_events_queue_url;
extern char *vtp_tasks_queue_url;
extern int	vtp_max_attempts;
extern int	vtp_max_source_size_mb;
extern char *vtp_scratch_dir;

/* Define the shared GUCs (from _PG_init, before any subsystem's). */
extern void vtp_settings_init(void);

/* May bucket be a source (vtp.temp_bucket or in vtp.source_buckets)? */
extern bool vtp_source_bucket_allowed(const char *bucket);

/* The scratch root: vtp.scratch_dir, else base/pgsql_tmp/vtp in the data directory (palloc'd). */
extern char *vtp_scratch_path(void);

#endif
