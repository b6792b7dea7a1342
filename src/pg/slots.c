/*
 * slots.c — the live state of vtp's workers in shared memory: the request
 * for it and its set-up at postmaster start (shmem hooks), one slot per
 * worker (role, state, video, attempt, progress, child pid, heartbeat), the
 * cancel signal a transcode worker acts on (set by wakeup.c), and the
 * vtp_worker_status() function behind the vtp_workers view (its last column,
 * sandbox, only when the SQL definition has it: 1.2 on, not 1.1). Fixed-size
 * fields only; everything durable is in tables. A worker writes only its
 * own slot.
 */
#include "slots.h"

#include <unistd.h>

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/uuid.h"

PG_FUNCTION_INFO_V1(vtp_worker_status);

VtpShared  *vtp_shared = NULL;

static VtpWorkerSlot *my_slot = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
shmem_size(void)
{
	return MAXALIGN(sizeof(VtpShared));
}

static void
shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(shmem_size());
}

static void
shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	vtp_shared = ShmemInitStruct("vtp", shmem_size(), &found);
	if (!found)
	{
		memset(vtp_shared, 0, sizeof(*vtp_shared));
		SpinLockInit(&vtp_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

void
vtp_slots_init(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shmem_startup;
}

/* This worker's own slot, under the mutex: it writes no other. */
#define ASSERT_MY_SLOT() Assert(my_slot != NULL && my_slot->pid == MyProcPid)

static void
slot_detach(int code, Datum arg)
{
	if (my_slot == NULL || vtp_shared == NULL)
		return;
	SpinLockAcquire(&vtp_shared->mutex);
	ASSERT_MY_SLOT();
	memset(my_slot, 0, sizeof(*my_slot));
	SpinLockRelease(&vtp_shared->mutex);
	my_slot = NULL;
}

void
vtp_slot_attach(const char *role, const char *name)
{
	int			i;
	TimestampTz now = GetCurrentTimestamp();

	Assert(my_slot == NULL);	/* once per process */
	SpinLockAcquire(&vtp_shared->mutex);
	for (i = 0; i < VTP_MAX_WORKERS && my_slot == NULL; i++)
		if (vtp_shared->slots[i].pid == 0)
			my_slot = &vtp_shared->slots[i];
	if (my_slot)
	{
		memset(my_slot, 0, sizeof(*my_slot));
		my_slot->pid = MyProcPid;
		my_slot->procno = MyProc->pgprocno;
		strlcpy(my_slot->role, role, sizeof(my_slot->role));
		strlcpy(my_slot->name, name, sizeof(my_slot->name));
		strlcpy(my_slot->state, "starting", sizeof(my_slot->state));
		my_slot->progress = -1;
		my_slot->started_at = my_slot->state_since = now;
	}
	SpinLockRelease(&vtp_shared->mutex);
	if (my_slot == NULL)
		elog(ERROR, "vtp: no free worker slot");
	before_shmem_exit(slot_detach, (Datum) 0);
}

void
vtp_slot_state(const char *state, const char *video_id, int attempt)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&vtp_shared->mutex);
	ASSERT_MY_SLOT();
	if (strcmp(my_slot->state, state) != 0)
		my_slot->state_since = GetCurrentTimestamp();
	strlcpy(my_slot->state, state, sizeof(my_slot->state));
	if (video_id == NULL)
	{
		my_slot->video_id[0] = '\0';
		my_slot->attempt = 0;
		my_slot->progress = -1;
		my_slot->child_pid = 0;
		my_slot->heartbeat = 0;
		my_slot->cancel = false;
	}
	else
	{
		if (strcmp(my_slot->video_id, video_id) != 0)
			my_slot->cancel = false;
		strlcpy(my_slot->video_id, video_id, sizeof(my_slot->video_id));
		my_slot->attempt = attempt;
	}
	SpinLockRelease(&vtp_shared->mutex);
}

void
vtp_slot_progress(double progress, pid_t child_pid)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&vtp_shared->mutex);
	ASSERT_MY_SLOT();
	my_slot->progress = (float) progress;
	my_slot->child_pid = child_pid;
	SpinLockRelease(&vtp_shared->mutex);
}

void
vtp_slot_heartbeat(void)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&vtp_shared->mutex);
	ASSERT_MY_SLOT();
	my_slot->heartbeat = GetCurrentTimestamp();
	SpinLockRelease(&vtp_shared->mutex);
}

bool
vtp_slot_take_cancel(void)
{
	bool		c = false;

	if (my_slot == NULL)
		return false;
	SpinLockAcquire(&vtp_shared->mutex);
	ASSERT_MY_SLOT();
	c = my_slot->cancel;
	my_slot->cancel = false;
	SpinLockRelease(&vtp_shared->mutex);
	return c;
}

void
vtp_slot_sandbox(const char *sandbox)
{
	if (my_slot == NULL)
		return;
	SpinLockAcquire(&vtp_shared->mutex);
	ASSERT_MY_SLOT();
	strlcpy(my_slot->sandbox, sandbox, sizeof(my_slot->sandbox));
	SpinLockRelease(&vtp_shared->mutex);
}

Datum
vtp_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VtpWorkerSlot copy[VTP_MAX_WORKERS];
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	if (rsinfo->setDesc->natts != 11 && rsinfo->setDesc->natts != 12)
		elog(ERROR, "vtp_worker_status: the SQL definition has %d columns; this library knows 11 (1.1) or 12 (1.2)",
			 rsinfo->setDesc->natts);
	if (vtp_shared == NULL)
		return (Datum) 0;
	SpinLockAcquire(&vtp_shared->mutex);
	memcpy(copy, vtp_shared->slots, sizeof(copy));
	SpinLockRelease(&vtp_shared->mutex);

	for (i = 0; i < VTP_MAX_WORKERS; i++)
	{
		VtpWorkerSlot *s = &copy[i];
		Datum		v[12];
		bool		n[12];

		if (s->pid == 0)
			continue;
		memset(n, 0, sizeof(n));
		v[0] = Int32GetDatum(s->pid);
		v[1] = CStringGetTextDatum(s->role);
		v[2] = CStringGetTextDatum(s->name);
		v[3] = CStringGetTextDatum(s->state);
		if (s->video_id[0])
			v[4] = DirectFunctionCall1(uuid_in, CStringGetDatum(s->video_id));
		else
			n[4] = true;
		v[5] = Int32GetDatum(s->attempt);
		n[5] = s->video_id[0] == '\0';
		v[6] = Float4GetDatum(s->progress);
		n[6] = s->progress < 0;
		v[7] = Int32GetDatum(s->child_pid);
		n[7] = s->child_pid == 0;
		v[8] = TimestampTzGetDatum(s->started_at);
		v[9] = TimestampTzGetDatum(s->state_since);
		v[10] = TimestampTzGetDatum(s->heartbeat);
		n[10] = s->heartbeat == 0;
		/* sandbox is new in 1.2: a 1.1 definition of the function has 11 columns and gets 11 */
		v[11] = CStringGetTextDatum(s->sandbox);
		n[11] = s->sandbox[0] == '\0';
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v, n);
	}
	return (Datum) 0;
}
