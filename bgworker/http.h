/*
 * http.h — the upload server's HTTP side, shared by its threads (http.c, no
 * PostgreSQL headers, so no Postgres call can run there) and the worker's
 * main thread (upload.c), which does all database work through the queue.
 */
#ifndef VTP_HTTP_H
#define VTP_HTTP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../src/aws.h"
#include "../src/upq.h"

typedef struct upload_server
{
	upq			q;
	pthread_mutex_t cfg_mu;		/* guards the fields below it up to 'active' */
	aws_client	tmpl;			/* settings and credentials each upload copies */
	char		temp_bucket[64];
	char		prefix[256];
	int64_t		max_bytes;
	int			max_concurrent;
	atomic_int	active;			/* uploads streaming now */
	atomic_bool stopping;
	void	   *daemon;			/* struct MHD_Daemon * */
} upload_server;

/* Start listening on "host:port" (IPv4, or [IPv6]:port). NULL-terminated error on failure. */
extern bool http_start(upload_server *srv, const char *listen, int idle_timeout_s, char *err, size_t errlen);

/* Start without a listening socket; connections come from http_add_connection (tests, fuzzing). */
extern bool http_start_unbound(upload_server *srv, int idle_timeout_s, char *err, size_t errlen);

/* Serve an already connected socket (the server owns and closes it). */
extern bool http_add_connection(upload_server *srv, int fd);

/* Stop: in-flight transfers abort within about a second; returns when threads are gone. */
extern void http_stop(upload_server *srv);

#endif
