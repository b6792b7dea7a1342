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
#include <sys/socket.h>

#include "aws.h"
#include "upload_queue.h"

/* Where a connection is; the reaper enforces the header deadline and the body rate. */
typedef enum http_phase
{
	HC_HEADERS,					/* from accept, or the end of the last request */
	HC_BODY,					/* headers complete, the body arriving */
	HC_REPLY					/* the body is in: answering */
} http_phase;

/* One TCP connection (libmicrohttpd's socket context), on upload_server.conns. */
typedef struct http_conn
{
	struct upload_server *srv;
	struct http_conn *prev;
	struct http_conn *next;
	int			fd;
	unsigned char addr[16];		/* IPv4, or an IPv6 /64 */
	int			addr_len;
	/* below: under conns_mu */
	http_phase	phase;
	double		phase_start;	/* monotonic seconds */
	int			busy;			/* >0: the server, not the client, is the hold-up */
	double		busy_since;
	int64_t		body_bytes;
	double		window_start;
	int64_t		window_bytes;	/* body_bytes when the window began */
	bool		cut;
} http_conn;

/* Failed bearer tokens per address: a fixed table, 8-way sets, LRU within a set. */
#define HTTP_AUTH_SETS 128
#define HTTP_AUTH_WAYS 8
typedef struct http_auth_entry
{
	unsigned char addr[16];
	int			addr_len;		/* 0: free */
	int			failures;
	double		window_start;
	double		last_used;
} http_auth_entry;

/* What the limits refused, since the worker last logged it. */
typedef struct http_refusals
{
	atomic_long per_address;
	atomic_long header_deadline;
	atomic_long slow_body;
	atomic_long auth_throttled;
	atomic_long overload;		/* MHD's own refusals (global limit, memory) */
} http_refusals;

typedef struct upload_server
{
	upload_queue q;
	pthread_mutex_t cfg_mu;		/* guards the fields below it up to 'active' */
	aws_client	tmpl;			/* settings and credentials each upload copies */
	char		temp_bucket[64];
	char		prefix[256];
	int64_t		max_bytes;
	int			max_concurrent;
	int			max_per_address;	/* connections at once from one address; 0: any */
	int			header_timeout_s;	/* request line and headers within this; 0: off */
	int			min_rate;		/* body bytes/s over each rate window; 0: off */
	int			rate_window_s;
	int			auth_max_failures;	/* bad tokens per address per window; 0: off */
	int			auth_window_s;
	atomic_int	active;			/* uploads streaming now */
	atomic_bool stopping;
	void	   *daemon;			/* struct MHD_Daemon * */
	/* http_limits.c */
	pthread_mutex_t conns_mu;
	pthread_cond_t reaper_cv;
	http_conn  *conns;
	pthread_t	reaper;
	bool		reaper_running;
	pthread_mutex_t auth_mu;
	http_auth_entry auth[HTTP_AUTH_SETS * HTTP_AUTH_WAYS];
	http_refusals refused;
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
