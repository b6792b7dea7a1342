/*
 * http_limits.c — the upload endpoint's defences against clients that hold
 * its threads (one per connection) without doing an upload:
 *   connections at once per address (IPv4, or IPv6 /64), refused on accept;
 *   an absolute deadline for the request line and headers, and a minimum
 *   body rate over fixed windows, both enforced by a reaper thread that shuts
 *   the socket down (libmicrohttpd's own timeout is an idle timeout, which a
 *   byte-a-second client never trips), so the request ends as a client abort
 *   and its multipart upload is aborted;
 *   failed bearer tokens per address, in a fixed-size table, so a throttled
 *   address gets 429 without a database call.
 * What is refused is counted in srv->refused; the worker logs it, bounded.
 * Runs on libmicrohttpd's threads and the reaper: no PostgreSQL calls.
 */
#include "http_int.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vtp_assert.h"

#define REAP_INTERVAL_MS 250
#define LOG_LINES_PER_MINUTE 20

/* Monotonic seconds. */
double
http_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The key limits are counted by: IPv4 (also when v4-mapped) or an IPv6 /64. */
static int
addr_key(const struct sockaddr *sa, unsigned char *out)
{
	if (sa && sa->sa_family == AF_INET)
	{
		memcpy(out, &((const struct sockaddr_in *) sa)->sin_addr, 4);
		return 4;
	}
	if (sa && sa->sa_family == AF_INET6)
	{
		const unsigned char *a = ((const struct sockaddr_in6 *) sa)->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

		if (memcmp(a, mapped, 12) == 0)
		{
			memcpy(out, a + 12, 4);
			return 4;
		}
		memcpy(out, a, 8);
		return 8;
	}
	out[0] = 0;					/* a socket handed in without an IP address */
	return 1;
}

/* The limits as last published by the worker (SIGHUP reaches them within 10 s). */
static void
settings(upload_server *srv, int *per_addr, int *header_s, int *rate, int *window_s)
{
	pthread_mutex_lock(&srv->cfg_mu);
	*per_addr = srv->max_per_address;
	*header_s = srv->header_timeout_s;
	*rate = srv->min_rate;
	*window_s = srv->rate_window_s > 0 ? srv->rate_window_s : 30;
	pthread_mutex_unlock(&srv->cfg_mu);
}

/* Accept only while the address holds fewer than vtp.upload_max_per_address connections. */
enum MHD_Result
http_accept_policy(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	upload_server *srv = cls;
	unsigned char key[16];
	int			len = addr_key(addrlen >= sizeof(struct sockaddr_in) ? addr : NULL, key);
	int			per_addr,
				header_s,
				rate,
				window_s,
				n = 0;
	http_conn  *c;

	settings(srv, &per_addr, &header_s, &rate, &window_s);
	if (per_addr <= 0)
		return MHD_YES;
	/*
	 * Connections join the list in the accepting thread right after this
	 * (NOTIFY_CONNECTION), so the count cannot be raced past the cap.
	 */
	pthread_mutex_lock(&srv->conns_mu);
	for (c = srv->conns; c; c = c->next)
		if (c->addr_len == len && memcmp(c->addr, key, len) == 0)
			n++;
	pthread_mutex_unlock(&srv->conns_mu);
	if (n < per_addr)
		return MHD_YES;
	atomic_fetch_add(&srv->refused.per_address, 1);
	return MHD_NO;
}

/* A connection starts (joins the list, header deadline from now) or ends. */
void
http_notify_connection(void *cls, struct MHD_Connection *con, void **socket_context,
					   enum MHD_ConnectionNotificationCode toe)
{
	upload_server *srv = cls;
	http_conn  *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *fd = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

		if ((c = calloc(1, sizeof(http_conn))) == NULL)
			return;				/* untracked: only its idle timeout applies */
		c->srv = srv;
		c->fd = fd ? fd->connect_fd : -1;
		c->addr_len = addr_key(ad ? ad->client_addr : NULL, c->addr);
		c->phase = HC_HEADERS;
		c->phase_start = http_now();
		pthread_mutex_lock(&srv->conns_mu);
		c->next = srv->conns;
		if (srv->conns)
			srv->conns->prev = c;
		srv->conns = c;
		pthread_mutex_unlock(&srv->conns_mu);
		*socket_context = c;
	}
	else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && c)
	{
		/* called before libmicrohttpd closes the socket: the reaper never sees a reused fd */
		pthread_mutex_lock(&srv->conns_mu);
		VTP_ASSERT(c->prev ? c->prev->next == c : srv->conns == c);
		VTP_ASSERT(c->next == NULL || c->next->prev == c);
		if (c->prev)
			c->prev->next = c->next;
		else
			srv->conns = c->next;
		if (c->next)
			c->next->prev = c->prev;
		pthread_mutex_unlock(&srv->conns_mu);
		free(c);
		*socket_context = NULL;
	}
}

/* The connection's entry, its list locked; NULL (nothing locked) if untracked. */
static http_conn *
conn_locked(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(con, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	http_conn  *c = i ? (http_conn *) i->socket_context : NULL;

	if (c)
		pthread_mutex_lock(&c->srv->conns_mu);
	return c;
}

/* A new rate window from now (under conns_mu). */
static void
restart_window(http_conn *c, double now)
{
	c->window_start = now;
	c->window_bytes = c->body_bytes;
}

/* The request moved on: its clock for the deadline or the rate starts now. */
void
http_conn_phase(struct MHD_Connection *con, http_phase phase)
{
	http_conn  *c = conn_locked(con);

	if (c == NULL)
		return;
	c->phase = phase;
	c->phase_start = http_now();
	restart_window(c, c->phase_start);
	pthread_mutex_unlock(&c->srv->conns_mu);
}

/* The server is working for this request (S3, the database): the client is not slow. */
void
http_conn_busy(struct MHD_Connection *con, bool busy)
{
	http_conn  *c = conn_locked(con);

	if (c == NULL)
		return;
	VTP_ASSERT(busy || c->busy > 0);	/* busy(false) only after busy(true) */
	/* time spent busy does not count against the client's rate */
	if (busy && c->busy++ == 0)
		c->busy_since = http_now();
	else if (!busy && --c->busy == 0)
		c->window_start += http_now() - c->busy_since;
	pthread_mutex_unlock(&c->srv->conns_mu);
}

/* n more body bytes arrived. */
void
http_conn_received(struct MHD_Connection *con, size_t n)
{
	http_conn  *c = conn_locked(con);

	if (c == NULL)
		return;
	c->body_bytes += (int64_t) n;
	pthread_mutex_unlock(&c->srv->conns_mu);
}

/* One pass over the connections: cut those past the header deadline or below the rate. */
static void
reap(upload_server *srv)
{
	int			per_addr,
				header_s,
				rate,
				window_s;
	double		now = http_now();
	http_conn  *c;

	settings(srv, &per_addr, &header_s, &rate, &window_s);
	for (c = srv->conns; c; c = c->next)
	{
		atomic_long *counter = NULL;

		if (c->cut || c->fd < 0)
			continue;
		if (c->busy > 0)
			continue;

		if (c->phase == HC_HEADERS && header_s > 0 && now - c->phase_start >= header_s)
			counter = &srv->refused.header_deadline;
		else if (c->phase == HC_BODY && rate > 0 && now - c->window_start >= window_s)
		{
			if (c->body_bytes - c->window_bytes < (int64_t) rate * window_s)
				counter = &srv->refused.slow_body;
			restart_window(c, now);
		}
		if (counter)
		{
			/* the connection's thread sees the end of the stream and closes it */
			shutdown(c->fd, SHUT_RDWR);
			c->cut = true;
			atomic_fetch_add(counter, 1);
		}
	}
}

/* The reaper thread: a pass every REAP_INTERVAL_MS until http_limits_stop. */
static void *
reaper_main(void *arg)
{
	upload_server *srv = arg;

	pthread_mutex_lock(&srv->conns_mu);
	while (srv->reaper_running)
	{
		struct timespec until;

		reap(srv);
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += REAP_INTERVAL_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L)
		{
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&srv->reaper_cv, &srv->conns_mu, &until);
	}
	pthread_mutex_unlock(&srv->conns_mu);
	return NULL;
}

/* Before the daemon starts (signals are blocked by the caller): locks, table, reaper. */
bool
http_limits_start(upload_server *srv)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&srv->conns_mu, NULL);
	pthread_mutex_init(&srv->auth_mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->reaper_cv, &ca);
	pthread_condattr_destroy(&ca);
	srv->conns = NULL;
	memset(srv->auth, 0, sizeof(srv->auth));
	srv->reaper_running = true;
	if (pthread_create(&srv->reaper, NULL, reaper_main, srv) != 0)
	{
		srv->reaper_running = false;
		return false;
	}
	return true;
}

/* Stop the reaper (within a wake-up; never waits on a client). */
void
http_limits_stop(upload_server *srv)
{
	pthread_mutex_lock(&srv->conns_mu);
	if (!srv->reaper_running)
	{
		pthread_mutex_unlock(&srv->conns_mu);
		return;
	}
	srv->reaper_running = false;
	pthread_cond_broadcast(&srv->reaper_cv);
	pthread_mutex_unlock(&srv->conns_mu);
	pthread_join(srv->reaper, NULL);
}

/* The address's entry in the failed-token table; with create, evict its set's least recently used. */
static http_auth_entry *
auth_entry(upload_server *srv, struct MHD_Connection *con, bool create, double now, int window_s)
{
	const union MHD_ConnectionInfo *ad = MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	unsigned char key[16];
	int			len = addr_key(ad ? ad->client_addr : NULL, key);
	uint32_t	h = 2166136261u;
	http_auth_entry *set,
			   *victim = NULL;
	int			i;

	for (i = 0; i < len; i++)
		h = (h ^ key[i]) * 16777619u;
	set = &srv->auth[(h % HTTP_AUTH_SETS) * HTTP_AUTH_WAYS];
	for (i = 0; i < HTTP_AUTH_WAYS; i++)
	{
		http_auth_entry *e = &set[i];

		if (e->addr_len == len && memcmp(e->addr, key, len) == 0)
		{
			if (now - e->window_start >= window_s)
			{
				e->failures = 0;	/* a new window */
				e->window_start = now;
			}
			e->last_used = now;
			return e;
		}
		if (victim == NULL || e->addr_len == 0 ||
			(victim->addr_len != 0 && e->last_used < victim->last_used))
			victim = e;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, key, len);
	victim->addr_len = len;
	victim->window_start = victim->last_used = now;
	return victim;
}

/* The failed-token limits as last published. */
static void
auth_settings(upload_server *srv, int *max_failures, int *window_s)
{
	pthread_mutex_lock(&srv->cfg_mu);
	*max_failures = srv->auth_max_failures;
	*window_s = srv->auth_window_s > 0 ? srv->auth_window_s : 60;
	pthread_mutex_unlock(&srv->cfg_mu);
}

/* Seconds until the address may try a token again; 0 if it may now. */
int
http_auth_throttled(upload_server *srv, struct MHD_Connection *con)
{
	int			max_failures,
				window_s,
				wait = 0;
	double		now = http_now();
	http_auth_entry *e;

	auth_settings(srv, &max_failures, &window_s);
	if (max_failures <= 0)
		return 0;
	pthread_mutex_lock(&srv->auth_mu);
	e = auth_entry(srv, con, false, now, window_s);
	if (e && e->failures >= max_failures)
		wait = (int) (e->window_start + window_s - now) + 1;
	pthread_mutex_unlock(&srv->auth_mu);
	if (wait > 0)
		atomic_fetch_add(&srv->refused.auth_throttled, 1);
	return wait;
}

/* Count one failed token for the connection's address. */
void
http_auth_failed(upload_server *srv, struct MHD_Connection *con)
{
	int			max_failures,
				window_s;
	http_auth_entry *e;

	auth_settings(srv, &max_failures, &window_s);
	if (max_failures <= 0)
		return;
	pthread_mutex_lock(&srv->auth_mu);
	e = auth_entry(srv, con, true, http_now(), window_s);
	e->failures++;
	pthread_mutex_unlock(&srv->auth_mu);
}

/*
 * libmicrohttpd's own messages (refused connections among them) go to the
 * server's stderr, at most LOG_LINES_PER_MINUTE a minute; the rest are counted.
 */
void
http_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static double minute;
	static int	lines;
	static long suppressed;
	upload_server *srv = cls;
	double		now = http_now();
	bool		print;

	if (strstr(fmt, "connection limit") != NULL)
		atomic_fetch_add(&srv->refused.overload, 1);
	pthread_mutex_lock(&mu);
	if (now - minute >= 60)
	{
		if (suppressed > 0)
			fprintf(stderr, "vtp upload: libmicrohttpd: %ld more messages in the last minute not shown\n", suppressed);
		minute = now;
		lines = 0;
		suppressed = 0;
	}
	print = lines < LOG_LINES_PER_MINUTE;
	if (print)
		lines++;
	else
		suppressed++;
	pthread_mutex_unlock(&mu);
	if (print)
	{
		char		line[512];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "vtp upload: libmicrohttpd: %s%s", line, line[0] && line[strlen(line) - 1] == '\n' ? "" : "\n");
	}
}
