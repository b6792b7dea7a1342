/*
 * http_int.h — what http.c and http_limits.c share: the per-connection limits
 * (header deadline, body rate, connections per address, failed-token
 * throttle) as libmicrohttpd callbacks and helpers. No PostgreSQL headers.
 */
#ifndef VTP_HTTP_INT_H
#define VTP_HTTP_INT_H

#include <stdarg.h>

#include <microhttpd.h>

#include "http.h"

extern bool http_limits_start(upload_server *srv);
extern void http_limits_stop(upload_server *srv);
extern double http_now(void);

/* libmicrohttpd callbacks */
extern enum MHD_Result http_accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen);
extern void http_notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
								   enum MHD_ConnectionNotificationCode toe);
extern void http_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* the connection's state, from the request handler */
extern void http_conn_phase(struct MHD_Connection *con, http_phase phase);
extern void http_conn_busy(struct MHD_Connection *con, bool busy);
extern void http_conn_received(struct MHD_Connection *con, size_t n);

/* failed bearer tokens: seconds the address must wait (0: go on), and record one */
extern int	http_auth_throttled(upload_server *srv, struct MHD_Connection *con);
extern void http_auth_failed(upload_server *srv, struct MHD_Connection *con);

#endif
