/*
 * test_upload_queue.c — the request queue between the upload server's HTTP
 * threads and the worker's main thread (bgworker/upload_queue.c): a request
 * is answered, one nobody takes times out and leaves the queue, one taken
 * but never answered is released by upload_queue_close, and a closed queue refuses.
 * This file plays both sides: callers on threads, the main thread here.
 */
#include "unit.h"

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "upload_queue.h"

typedef struct caller
{
	upload_queue *q;
	upload_request	r;
	int			timeout_ms;
	bool		ok;
	atomic_bool returned;
	pthread_t	th;
} caller;

static void *
call_main(void *arg)
{
	caller	   *c = arg;

	c->ok = upload_queue_call(c->q, &c->r, c->timeout_ms);
	atomic_store(&c->returned, true);
	return NULL;
}

static void
start_call(caller *c, upload_queue *q, upload_request_kind kind, int timeout_ms)
{
	memset(c, 0, sizeof(*c));
	c->q = q;
	c->r.kind = kind;
	c->timeout_ms = timeout_ms;
	pthread_create(&c->th, NULL, call_main, c);
}

/* What the main thread does: wait on the eventfd (as WaitLatchOrSocket would), then take. */
static upload_request *
wait_and_take(upload_queue *q, int ms)
{
	struct pollfd p = {q->wake_fd, POLLIN, 0};

	if (poll(&p, 1, ms) != 1)
		return NULL;
	return upload_queue_take(q);
}

static void
sleep_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&t, NULL);
}

void
test_upload_queue(void)
{
	upload_queue q;
	caller		a,
				b;
	upload_request *	r;

	CHECK(upload_queue_init(&q) == 0);
	CHECK(upload_queue_take(&q) == NULL);	/* nothing queued, nothing signalled */

	/* answered: the caller sees the main thread's answer */
	start_call(&a, &q, UPLOAD_REQ_AUTH, 5000);
	r = wait_and_take(&q, 5000);
	CHECK(r == &a.r);
	if (r == &a.r)
	{
		CHECK(r->next == NULL);
		r->status = 200;
		upload_queue_answer(&q, r);
	}
	pthread_join(a.th, NULL);
	CHECK(a.ok);
	CHECK(a.r.status == 200);

	/* nobody takes it: the call times out and takes its request back out */
	start_call(&a, &q, UPLOAD_REQ_GET, 100);
	pthread_join(a.th, NULL);
	CHECK(!a.ok);
	CHECK(upload_queue_take(&q) == NULL);	/* the queue does not point at the caller's gone request */

	/* taken, never answered (the main thread is exiting): upload_queue_close releases the caller */
	start_call(&b, &q, UPLOAD_REQ_REGISTER, 100);
	r = wait_and_take(&q, 5000);
	CHECK(r == &b.r);
	sleep_ms(300);
	CHECK(!atomic_load(&b.returned));	/* past its timeout: a taken request is waited for */
	upload_queue_close(&q);
	pthread_join(b.th, NULL);
	CHECK(!b.ok);

	/* closed: refused at once */
	start_call(&a, &q, UPLOAD_REQ_AUTH, 5000);
	pthread_join(a.th, NULL);
	CHECK(!a.ok);
	CHECK(upload_queue_take(&q) == NULL);
	upload_queue_destroy(&q);
}
