/*
 * slots.h — vtp's shared memory: one fixed-size slot per worker (its live
 * state, shown by vtp_workers), and the wake-ups that set workers' latches,
 * now or when the calling transaction commits.
 */
#ifndef VTP_SLOTS_H
#define VTP_SLOTS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "storage/spin.h"

#include "names.h"

/* Fixed-size status only, one slot per worker (slots.c). */
#define VTP_MAX_WORKERS 40

typedef struct VtpWorkerSlot
{
	pid_t		pid;			/* 0: free */
	int			procno;
	char		role[16];		/* ingest, transcode, upload, reconcile */
	char		name[64];
	char		state[32];
	char		video_id[VTP_UUID_SIZE];
	int			attempt;
	float		progress;		/* < 0: none */
	pid_t		child_pid;
	TimestampTz started_at;
	TimestampTz state_since;
	TimestampTz heartbeat;		/* last lease renewal; 0: none */
	bool		cancel;			/* look at the claim again now */
	char		sandbox[64];	/* the transcoder's sandbox as last checked ("" n/a) */
} VtpWorkerSlot;

typedef struct VtpShared
{
	slock_t		mutex;
	VtpWorkerSlot slots[VTP_MAX_WORKERS];
} VtpShared;

/* The slots, once the postmaster has made them (NULL before, and outside shared_preload_libraries). */
extern VtpShared *vtp_shared;

/* Install the shared memory request and startup hooks (from _PG_init). */
extern void vtp_slots_init(void);

/* Take a free slot for this worker (ERROR if none); it is freed at exit. */
extern void vtp_slot_attach(const char *role, const char *name);

/* This worker's new state; video_id NULL clears the video, attempt and progress. */
extern void vtp_slot_state(const char *state, const char *video_id, int attempt);

/* This worker's progress (percent) and its transcoder child's pid (0: none). */
extern void vtp_slot_progress(double progress, pid_t child_pid);

/* This worker renewed its lease now. */
extern void vtp_slot_heartbeat(void);

/* Was this worker asked to look at its video again (cancel, delete)? Clears the flag. */
extern bool vtp_slot_take_cancel(void);

/* What this worker's transcoder sandbox is, as last checked (shown in vtp_workers). */
extern void vtp_slot_sandbox(const char *sandbox);

/* Wake-ups (wakeup.c). */
#define VTP_WAKE_INGEST 1		/* the outbox has tasks */
#define VTP_WAKE_RECONCILE 2	/* the trash has objects */
#define VTP_WAKE_BUSY 4			/* a worker's video changed under it */

/* Ask every worker busy with a video to check its claim now (after vtp_cancel, vtp_delete). */
extern void vtp_signal_busy(void);

/* Wake every worker of a role ("ingest", "reconcile"). */
extern void vtp_wake_role(const char *role);

/* Wake the ingest worker (its outbox has tasks to send). */
extern void vtp_wake_ingest(void);

/* Send the VTP_WAKE_* wake-ups in what when the calling transaction commits (none on abort). */
extern void vtp_wake_at_commit(int what);

#endif
