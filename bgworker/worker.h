/*
 * worker.h — what vtp's background workers share: start-up, the latch wait
 * that handles SIGHUP/SIGTERM, and readiness checks.
 */
#ifndef VTP_WORKER_H
#define VTP_WORKER_H

#include "aws_glue.h"
#include "catalog.h"
#include "settings.h"
#include "slots.h"
#include "worker_main.h"

#include "storage/latch.h"

extern void vtp_worker_start(const char *role, const char *activity);
extern void vtp_worker_wait(long ms);
extern void vtp_worker_poll_signals(void);
extern void vtp_worker_reload_if_asked(void *arg);
extern bool vtp_worker_ready(const char *role, bool need_events, aws_client *c);
extern void vtp_worker_activity(const char *fmt,...) pg_attribute_printf(1, 2);

#endif
