/*
 * upload_queue.h — how the upload server's HTTP threads ask the worker's main thread
 * for database work (no Postgres call may run off the main thread). A thread
 * queues a request, wakes the main thread through an eventfd it waits on
 * with WaitLatchOrSocket, and sleeps on a condition variable until answered.
 * Pure C: pthreads and an eventfd.
 */
#ifndef VTP_UPLOAD_QUEUE_H
#define VTP_UPLOAD_QUEUE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "names.h"

typedef enum upload_request_kind
{
	UPLOAD_REQ_AUTH,					/* is token_sha256 a live token? */
	UPLOAD_REQ_REGISTER,				/* record an uploaded object as a Pending video */
	UPLOAD_REQ_GET						/* a video as JSON */
} upload_request_kind;

typedef struct upload_request
{
	upload_request_kind	kind;
	char		token_sha256[65];
	char		id[VTP_UUID_SIZE];
	char		bucket[64];
	const char *key;
	char		etag[128];
	int64_t		size;
	/* the answer */
	int			status;			/* HTTP status to give */
	char	   *body;			/* malloc'd JSON, or NULL */
	char		message[256];
	bool		done;
	struct upload_request *next;
} upload_request;

typedef struct upload_queue
{
	pthread_mutex_t mu;
	pthread_cond_t cv;
	upload_request *	head;
	upload_request *	tail;
	int			wake_fd;		/* eventfd the main thread waits on */
	bool		closing;
} upload_queue;

/* An empty queue and its eventfd; -1 (errno set) if the eventfd cannot be made. */
extern int	upload_queue_init(upload_queue *q);

/* Free the queue, once no thread can call it any more (after http_stop). */
extern void upload_queue_destroy(upload_queue *q);

/*
 * Thread side: queue r and wait up to timeout_ms (longer only while the main
 * thread is answering r). False if the queue is or becomes closed, or the
 * request timed out before the main thread took it.
 */
extern bool upload_queue_call(upload_queue *q, upload_request *r, int timeout_ms);

/* Main thread: take every queued request (a list linked by next; NULL if none). */
extern upload_request *upload_queue_take(upload_queue *q);

/* Main thread: r's answer is written; wake the thread waiting for it (r may be gone after). */
extern void upload_queue_answer(upload_queue *q, upload_request *r);

/*
 * Main thread: refuse new requests and wake every waiter, including those
 * whose request it took but will never answer (it is exiting): after this,
 * the main thread must not touch any request it took.
 */
extern void upload_queue_close(upload_queue *q);

#endif
