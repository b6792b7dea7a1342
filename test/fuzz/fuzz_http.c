/*
 * fuzz_http.c — libFuzzer target: the upload server's request handling
 * (bgworker/http*.c on libmicrohttpd, exactly as the worker runs it) on
 * arbitrary bytes from a client. Each input is written to a connected
 * socket handed to the server; the answer is read back and must be an HTTP
 * response or a closed connection. A thread stands in for the worker's main
 * thread: token "fuzz-token" is live, uploads are registered, videos are
 * unknown. S3 is a closed local port, so stored uploads fail fast (503).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "http.h"
#include "sigv4.h"

int			LLVMFuzzerInitialize(int *argc, char ***argv);
int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static upload_server srv;
static char live_token[65];

static void *
answer_loop(void *arg)
{
	for (;;)
	{
		struct pollfd p = {srv.q.wake_fd, POLLIN, 0};
		uint64_t	n;
		upload_request *	r;

		if (poll(&p, 1, 1000) <= 0)
			continue;
		if (read(srv.q.wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
			continue;
		for (r = upload_queue_take(&srv.q); r;)
		{
			upload_request *	next = r->next;

			switch (r->kind)
			{
				case UPLOAD_REQ_AUTH:
					r->status = strcmp(r->token_sha256, live_token) == 0 ? 200 : 401;
					break;
				case UPLOAD_REQ_REGISTER:
					r->status = 201;
					break;
				case UPLOAD_REQ_GET:
					r->status = 404;
					snprintf(r->message, sizeof(r->message), "no such video");
					break;
			}
			upload_queue_answer(&srv.q, r);
			r = next;
		}
	}
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	pthread_t	th;
	char		err[256];

	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&srv, 0, sizeof(srv));
	pthread_mutex_init(&srv.cfg_mu, NULL);
	if (upload_queue_init(&srv.q) != 0)
		abort();
	aws_client_defaults(&srv.tmpl);
	strcpy(srv.tmpl.s3_endpoint, "http://127.0.0.1:9");
	strcpy(srv.tmpl.creds.access_key, "AKIDFUZZ");
	strcpy(srv.tmpl.creds.secret_key, "fuzzsecret");
	srv.tmpl.max_retries = 0;
	srv.tmpl.timeout_ms = 1000;
	srv.tmpl.connect_timeout_ms = 500;
	strcpy(srv.temp_bucket, "temp-video-bucket");
	strcpy(srv.prefix, "uploads/");
	srv.max_bytes = 64 * 1024;
	srv.max_concurrent = 4;
	/* the limits on, tight enough to be reached by the fuzzer */
	srv.max_per_address = 4;
	srv.header_timeout_s = 2;
	srv.min_rate = 1024;
	srv.rate_window_s = 2;
	srv.auth_max_failures = 20;
	srv.auth_window_s = 1;
	vtp_sha256_hex("fuzz-token", strlen("fuzz-token"), live_token);
	if (!http_start_unbound(&srv, 2, err, sizeof(err)))
	{
		fprintf(stderr, "fuzz_http: %s\n", err);
		abort();
	}
	pthread_create(&th, NULL, answer_loop, NULL);
	pthread_detach(th);
	return 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int			sv[2];
	size_t		off = 0;
	char		buf[4096],
				head[8];
	size_t		got = 0,
				hl = 0;
	double		deadline = now() + 5;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	if (!http_add_connection(&srv, sv[1]))
	{
		close(sv[0]);
		return 0;				/* refused (connection limit): nothing to check */
	}
	/* send everything (the server may answer early and stop reading) */
	while (off < size && now() < deadline)
	{
		struct pollfd p = {sv[0], POLLOUT, 0};
		ssize_t		w;

		if (poll(&p, 1, 100) <= 0)
			continue;
		if (p.revents & (POLLERR | POLLHUP))
			break;
		w = send(sv[0], data + off, size - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (w <= 0)
			break;
		off += (size_t) w;
	}
	shutdown(sv[0], SHUT_WR);
	/* read the answer until the server closes */
	while (now() < deadline)
	{
		struct pollfd p = {sv[0], POLLIN, 0};
		ssize_t		r;

		if (poll(&p, 1, 100) <= 0)
			continue;
		r = recv(sv[0], buf, sizeof(buf), 0);
		if (r <= 0)
			break;
		if (hl < sizeof(head))
		{
			size_t		k = sizeof(head) - hl < (size_t) r ? sizeof(head) - hl : (size_t) r;

			memcpy(head + hl, buf, k);
			hl += k;
		}
		got += (size_t) r;
	}
	if (now() >= deadline)
	{
		fprintf(stderr, "fuzz_http: the server neither answered nor closed within 5 s\n");
		abort();
	}
	if (got > 0 && (hl < 7 || memcmp(head, "HTTP/1.", 7) != 0))
	{
		fprintf(stderr, "fuzz_http: the answer is not HTTP: %.*s\n", (int) hl, head);
		abort();
	}
	close(sv[0]);
	return 0;
}
