/*
 * http_int.h — what the upload endpoint's files share: the request handlers
 * (http.c), the answers (http_respond.c), the per-connection limits (header
 * deadline, body rate, connections per address, failed-token throttle) as
 * libmicrohttpd callbacks and helpers (http_limits.c), started and stopped
 * by http_server.c. No PostgreSQL headers.
 */
#ifndef VTP_HTTP_INT_H
#define VTP_HTTP_INT_H

#include <stdarg.h>

#include <microhttpd.h>

#include "http.h"

/* Start the reaper thread (header deadlines, body rates); false if it could not. */
extern bool http_limits_start(upload_server *srv);

/* Stop and join the reaper (if it runs). */
extern void http_limits_stop(upload_server *srv);

/* Monotonic seconds. */
extern double http_now(void);

/* libmicrohttpd callbacks (http_limits.c): refuse an address over its connection limit */
extern enum MHD_Result http_accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen);

/* ... track each connection the reaper watches, from its start to its close */
extern void http_notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
								   enum MHD_ConnectionNotificationCode toe);

/* ... libmicrohttpd's own messages, counted (overload) and rate-limited to stderr */
extern void http_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* libmicrohttpd callbacks (http.c): route a request and stream an upload's body */
extern enum MHD_Result http_on_request(void *cls, struct MHD_Connection *con, const char *url,
									   const char *method, const char *version, const char *data,
									   size_t *data_size, void **con_cls);

/* ... every request ends here, answered or cut off: an unfinished upload is aborted */
extern void http_on_completed(void *cls, struct MHD_Connection *con, void **con_cls,
							  enum MHD_RequestTerminationCode toe);

/* The connection's phase (the reaper's clock for each) changes to phase. */
extern void http_conn_phase(struct MHD_Connection *con, http_phase phase);

/* The server, not the client, holds the connection up (busy) or no longer does. */
extern void http_conn_busy(struct MHD_Connection *con, bool busy);

/* n body bytes arrived (for the minimum rate). */
extern void http_conn_received(struct MHD_Connection *con, size_t n);

/* Failed bearer tokens: seconds the address must wait before a new try (0: go on). */
extern int	http_auth_throttled(upload_server *srv, struct MHD_Connection *con);

/* Record a failed bearer token from the connection's address. */
extern void http_auth_failed(upload_server *srv, struct MHD_Connection *con);

/* Answers (http_respond.c): a JSON body, never cached, with one extra header if extra_name. */
extern enum MHD_Result http_respond(struct MHD_Connection *con, unsigned status, const char *json,
									const char *extra_name, const char *extra_value);

/* {"error": msg} with status (401 also says WWW-Authenticate: Bearer). */
extern enum MHD_Result http_respond_error(struct MHD_Connection *con, unsigned status, const char *msg);

/* The answer to a request whose token check gave st (401, 429 with Retry-After, 5xx). */
extern enum MHD_Result http_refuse_token(struct MHD_Connection *con, unsigned st, int retry_after);

/* 502 (or 503 if transient): S3 did not take the upload; err says why (no credentials in it). */
extern enum MHD_Result http_respond_store_failed(struct MHD_Connection *con, const aws_error *err);

/* 201: the video is recorded as Pending. */
extern enum MHD_Result http_respond_created(struct MHD_Connection *con, const char *id, const char *bucket,
											const char *key, int64_t bytes);

/* 202: stored under its video's id, the row not (known to be) written: its S3 notification registers it. */
extern enum MHD_Result http_respond_accepted(struct MHD_Connection *con, const char *id, const char *bucket,
											 const char *key, int64_t bytes);

#endif
