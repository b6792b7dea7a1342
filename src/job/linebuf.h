/*
 * linebuf.h — reading a pipe line by line into a fixed buffer, a bounded
 * amount at a time (linebuf.c).
 */
#ifndef VTP_LINEBUF_H
#define VTP_LINEBUF_H

#include <stdbool.h>
#include <stddef.h>

#define READ_BUDGET (64 * 1024)	/* bytes per pipe per call */

/* A pipe read line by line into a fixed buffer. */
typedef struct linebuf
{
	char	   *data;
	size_t		cap;
	size_t		len;
	bool		skipping;		/* the rest of a cut line: up to its newline */
} linebuf;

typedef void (*line_fn) (void *arg, const char *line, size_t len, bool cut);

/* An empty line buffer over data (cap bytes). */
extern void linebuf_init(linebuf *lb, char *data, size_t cap);

/*
 * Read at most READ_BUDGET bytes from fd, handing each complete line to fn
 * (a line longer than the buffer is handed over cut, its rest skipped).
 * False at end of file (a last line without newline is handed over first).
 */
extern bool linebuf_read(int fd, linebuf *lb, line_fn fn, void *arg);

#endif
