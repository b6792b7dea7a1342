/*
 * upload_queue.c — request queue between the upload server's HTTP threads and the
 * worker's main thread (pure C).
 */
#include "upload_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vtp_assert.h"

int
upload_queue_init(upload_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	return q->wake_fd >= 0 ? 0 : -1;
}

void
upload_queue_destroy(upload_queue *q)
{
	if (q->wake_fd >= 0)
		close(q->wake_fd);
	q->wake_fd = -1;
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
}

bool
upload_queue_call(upload_queue *q, upload_request *r, int timeout_ms)
{
	struct timespec until;
	uint64_t	one = 1;
	bool		ok;

	VTP_ASSERT(timeout_ms > 0);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
	{
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	r->done = false;
	r->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->closing)
	{
		pthread_mutex_unlock(&q->mu);
		return false;
	}
	VTP_ASSERT((q->head == NULL) == (q->tail == NULL));
	if (q->tail)
		q->tail->next = r;
	else
		q->head = r;
	q->tail = r;
	if (write(q->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
	{
		/* the main thread will still see it on its next round */
	}
	while (!r->done && !q->closing)
		if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT)
			break;
	ok = r->done;
	if (!ok)
	{
		/* not answered: take it back out if it is still queued */
		upload_request **pp = &q->head,
				   *prev = NULL;

		while (*pp && *pp != r)
		{
			prev = *pp;
			pp = &(*pp)->next;
		}
		if (*pp == r)
		{
			*pp = r->next;
			if (q->tail == r)
				q->tail = prev;
		}
		else
		{
			/*
			 * The main thread has it and may still write the answer: wait
			 * for that, or for the queue to close (the main thread closes it
			 * only when it will answer nothing more, on its way out). Its
			 * work is bounded by the statement timeout it sets.
			 */
			while (!r->done && !q->closing)
				pthread_cond_wait(&q->cv, &q->mu);
			ok = r->done;
		}
	}
	pthread_mutex_unlock(&q->mu);
	return ok;
}

upload_request *
upload_queue_take(upload_queue *q)
{
	upload_request *	list;
	uint64_t	n;

	if (read(q->wake_fd, &n, sizeof(n)) < 0)
	{
		/* EAGAIN: nothing signalled; take whatever is queued anyway */
	}
	pthread_mutex_lock(&q->mu);
	VTP_ASSERT((q->head == NULL) == (q->tail == NULL));
	list = q->head;
	q->head = q->tail = NULL;
	pthread_mutex_unlock(&q->mu);
	return list;
}

void
upload_queue_answer(upload_queue *q, upload_request *r)
{
	pthread_mutex_lock(&q->mu);
	VTP_ASSERT(!r->done);		/* taken once, answered once */
	r->done = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

void
upload_queue_close(upload_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closing = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}
