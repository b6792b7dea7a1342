/*
 * linebuf.c — a pipe from the helper read line by line into a fixed buffer,
 * at most READ_BUDGET bytes per call, so that a helper that prints without
 * end can never keep its reader from its other duties. No Postgres calls.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "linebuf.h"

/* An empty line buffer over data (cap bytes). */
void
linebuf_init(linebuf *lb, char *data, size_t cap)
{
	lb->data = data;
	lb->cap = cap;
	lb->len = 0;
	lb->skipping = false;
}

/*
 * Read at most READ_BUDGET bytes from fd, handing each complete line to fn
 * (a line longer than the buffer is handed over cut, its rest skipped).
 * False at end of file (a last line without newline is handed over first).
 */
bool
linebuf_read(int fd, linebuf *lb, line_fn fn, void *arg)
{
	size_t		got = 0;

	while (got < READ_BUDGET)
	{
		size_t		want = lb->cap - lb->len;
		ssize_t		n;
		size_t		start = 0,
					i;

		if (want == 0)
		{
			if (!lb->skipping)
				fn(arg, lb->data, lb->len, true);
			lb->len = 0;
			lb->skipping = true;
			want = lb->cap;
		}
		if (want > READ_BUDGET - got)
			want = READ_BUDGET - got;
		n = read(fd, lb->data + lb->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK;
		if (n == 0)
		{
			if (lb->len > 0 && !lb->skipping)
				fn(arg, lb->data, lb->len, false);
			lb->len = 0;
			return false;
		}
		for (i = lb->len; i < lb->len + (size_t) n; i++)
			if (lb->data[i] == '\n')
			{
				if (lb->skipping)
					lb->skipping = false;
				else
					fn(arg, lb->data + start, i - start, false);
				start = i + 1;
			}
		lb->len += (size_t) n;
		memmove(lb->data, lb->data + start, lb->len - start);
		lb->len -= start;
		got += (size_t) n;
	}
	return true;
}
