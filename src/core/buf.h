/*
 * buf.h — a growable byte buffer on malloc, for the parts of vtp that must
 * not depend on PostgreSQL (AWS client, JSON, SigV4, the transcoder helper).
 * Allocation failure aborts: these buffers are small and bounded by callers.
 */
#ifndef VTP_BUF_H
#define VTP_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct vbuf
{
	char	   *data;			/* always NUL-terminated when non-NULL */
	size_t		len;
	size_t		cap;
} vbuf;

#define VBUF_INIT {NULL, 0, 0}

extern void vbuf_reserve(vbuf *b, size_t extra);
extern void vbuf_append(vbuf *b, const void *data, size_t len);
extern void vbuf_puts(vbuf *b, const char *s);
extern void vbuf_putc(vbuf *b, char c);
extern void vbuf_printf(vbuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));
extern void vbuf_reset(vbuf *b);
extern void vbuf_free(vbuf *b);
extern const char *vbuf_str(vbuf *b);

/* Append s as a JSON string literal, quotes included. */
extern void vbuf_json_string(vbuf *b, const char *s);

/* Value of a hex digit, or -1. */
extern int	vtp_hexval(char c);

/* strdup that aborts on allocation failure; NULL gives "". */
extern char *vtp_strdup(const char *s);

/* Bounded string copy that always terminates; returns dst. */
extern char *vtp_strlcpy(char *dst, const char *src, size_t size);

#endif
