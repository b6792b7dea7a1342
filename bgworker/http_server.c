/*
 * http_server.c — the upload endpoint's lifecycle: vtp.upload_listen parsed
 * (IPv4, [IPv6]:port, "*" or "localhost"), libmicrohttpd started with one
 * thread per connection and the limits' callbacks (http_limits.c), the
 * request handlers in http.c, and stopped without waiting on a client or
 * the database. Its threads never take the worker's signals. No PostgreSQL
 * calls.
 */
#include "http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "host:port" into ss; false (and why in err) if it is not an address with a port. */
static bool
parse_listen(const char *listen, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char		host[256];
	const char *colon = strrchr(listen, ':');
	long		port;

	memset(ss, 0, sizeof(*ss));
	if (colon == NULL || (port = strtol(colon + 1, NULL, 10)) <= 0 || port > 65535)
	{
		snprintf(err, errlen, "vtp.upload_listen \"%s\" is not host:port", listen);
		return false;
	}
	snprintf(host, sizeof(host), "%.*s", (int) (colon - listen), listen);
	if (host[0] == '[')
	{
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
		size_t		n = strlen(host);

		if (n < 2 || host[n - 1] != ']')
			goto bad;
		host[n - 1] = '\0';
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t) port);
		if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
			goto bad;
		return true;
	}
	else
	{
		struct sockaddr_in *s4 = (struct sockaddr_in *) ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t) port);
		if (strcmp(host, "*") == 0 || host[0] == '\0')
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (strcmp(host, "localhost") == 0)
			s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &s4->sin_addr) != 1)
			goto bad;
		return true;
	}
bad:
	snprintf(err, errlen, "vtp.upload_listen \"%s\": not an IP address", listen);
	return false;
}

static bool
start_daemon(upload_server *srv, const struct sockaddr_storage *ss, int idle_timeout_s, char *err, size_t errlen)
{
	sigset_t	all,
				old;
	unsigned int flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;

	if (ss == NULL)
		flags |= MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
	else if (ss->ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* the HTTP threads and the reaper must never take the worker's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (!http_limits_start(srv))
	{
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		snprintf(err, errlen, "could not start the HTTP server's reaper thread");
		return false;
	}
	if (ss)
		srv->daemon = MHD_start_daemon(flags, 0, http_accept_policy, srv, http_on_request, srv,
									   MHD_OPTION_EXTERNAL_LOGGER, http_log, srv,
									   MHD_OPTION_SOCK_ADDR, (struct sockaddr *) ss,
									   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) idle_timeout_s,
									   MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, srv,
									   MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, srv,
									   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024,
									   MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1024,
									   MHD_OPTION_END);
	else
		srv->daemon = MHD_start_daemon(flags, 0, http_accept_policy, srv, http_on_request, srv,
									   MHD_OPTION_EXTERNAL_LOGGER, http_log, srv,
									   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) idle_timeout_s,
									   MHD_OPTION_NOTIFY_COMPLETED, http_on_completed, srv,
									   MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, srv,
									   MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) 64 * 1024,
									   MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 1024,
									   MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (srv->daemon == NULL)
	{
		http_limits_stop(srv);
		snprintf(err, errlen, "could not start the HTTP server");
		return false;
	}
	return true;
}

bool
http_start(upload_server *srv, const char *listen, int idle_timeout_s, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (!parse_listen(listen, &ss, err, errlen))
		return false;
	if (!start_daemon(srv, &ss, idle_timeout_s, err, errlen))
	{
		snprintf(err, errlen, "could not listen on %s (in use, or not an address of this host)", listen);
		return false;
	}
	return true;
}

bool
http_start_unbound(upload_server *srv, int idle_timeout_s, char *err, size_t errlen)
{
	return start_daemon(srv, NULL, idle_timeout_s, err, errlen);
}

bool
http_add_connection(upload_server *srv, int fd)
{
	struct sockaddr_in peer;

	memset(&peer, 0, sizeof(peer));
	peer.sin_family = AF_INET;
	peer.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return MHD_add_connection(srv->daemon, fd, (struct sockaddr *) &peer, sizeof(peer)) == MHD_YES;
}

/*
 * Never blocks on a client or the database: the queue closes first (every
 * thread waiting in upload_queue_call returns), transfers see 'stopping' within a
 * second, and libmicrohttpd shuts every socket down before it joins threads.
 */
void
http_stop(upload_server *srv)
{
	atomic_store(&srv->stopping, true);
	upload_queue_close(&srv->q);
	http_limits_stop(srv);
	if (srv->daemon)
		MHD_stop_daemon(srv->daemon);
	srv->daemon = NULL;
}
