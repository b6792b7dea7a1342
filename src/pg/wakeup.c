/*
 * wakeup.c — waking vtp's workers: by role (the ingest worker's outbox, the
 * reconciler's trash), the ones busy with a video (told to check their
 * claim), and any of these only once the calling transaction commits
 * (RegisterXactCallback, as pg_net wakes its worker), so that a rolled-back
 * change wakes no one and a woken worker sees the change.
 */
#include "slots.h"

#include "access/xact.h"
#include "storage/latch.h"
#include "storage/proc.h"

static int	wake_pending = 0;
static bool callback_registered = false;

/*
 * Set the latch of every worker of role (NULL: any) — with busy_only, those
 * working on a video, which are also told to check their claim now.
 */
static void
signal_slots(const char *role, bool busy_only)
{
	int			i,
				procnos[VTP_MAX_WORKERS],
				n = 0;

	if (vtp_shared == NULL)
		return;
	SpinLockAcquire(&vtp_shared->mutex);
	for (i = 0; i < VTP_MAX_WORKERS; i++)
	{
		VtpWorkerSlot *s = &vtp_shared->slots[i];

		if (s->pid == 0 || (role && strcmp(s->role, role) != 0) || (busy_only && s->video_id[0] == '\0'))
			continue;
		if (busy_only)
			s->cancel = true;
		procnos[n++] = s->procno;
	}
	SpinLockRelease(&vtp_shared->mutex);
	for (i = 0; i < n; i++)
		SetLatch(&ProcGlobal->allProcs[procnos[i]].procLatch);
}

void
vtp_signal_busy(void)
{
	signal_slots(NULL, true);
}

void
vtp_wake_role(const char *role)
{
	signal_slots(role, false);
}

void
vtp_wake_ingest(void)
{
	vtp_wake_role("ingest");
}

static void
at_commit(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT)
	{
		if (wake_pending & VTP_WAKE_INGEST)
			vtp_wake_ingest();
		if (wake_pending & VTP_WAKE_RECONCILE)
			vtp_wake_role("reconcile");
		if (wake_pending & VTP_WAKE_BUSY)
			vtp_signal_busy();
	}
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT)
		wake_pending = 0;
}

void
vtp_wake_at_commit(int what)
{
	if (!callback_registered)
	{
		RegisterXactCallback(at_commit, NULL);
		callback_registered = true;
	}
	wake_pending |= what;
}
