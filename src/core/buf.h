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

/* Make room for extra more bytes (and the NUL). */
extern void vbuf_reserve(vbuf *b, size_t extra);

/* Append len bytes of data. */
extern void vbuf_append(vbuf *b, const void *data, size_t len);

/* Append the string s. */
extern void vbuf_puts(vbuf *b, const char *s);

/* Append one character. */
extern void vbuf_putc(vbuf *b, char c);

/* Append printf-formatted text. */
extern void vbuf_printf(vbuf *b, const char *fmt,...) __attribute__((format(printf, 2, 3)));

/* Empty the buffer, keeping its memory. */
extern void vbuf_reset(vbuf *b);

/* Free the memory; the buffer is VBUF_INIT again. */
extern void vbuf_free(vbuf *b);

/* The contents as a string ("" when nothing was ever appended). */
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
