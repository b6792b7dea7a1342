/*
 * buf.c — growable byte buffer and JSON string quoting (no PostgreSQL).
 */
#include "buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
vbuf_reserve(vbuf *b, size_t extra)
{
	size_t		need = b->len + extra + 1;

	if (need <= b->cap)
		return;
	if (b->cap == 0)
		b->cap = 256;
	while (b->cap < need)
		b->cap *= 2;
	b->data = realloc(b->data, b->cap);
	if (b->data == NULL)
	{
		fprintf(stderr, "vtp: out of memory\n");
		abort();
	}
	/* a buffer with storage is always a string, even before anything is appended */
	b->data[b->len] = '\0';
}

void
vbuf_append(vbuf *b, const void *data, size_t len)
{
	vbuf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
vbuf_puts(vbuf *b, const char *s)
{
	vbuf_append(b, s, strlen(s));
}

void
vbuf_putc(vbuf *b, char c)
{
	vbuf_append(b, &c, 1);
}

void
vbuf_printf(vbuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;
	char		probe[1];

	va_start(ap, fmt);
	n = vsnprintf(probe, sizeof(probe), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	vbuf_reserve(b, (size_t) n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t) n;
}

void
vbuf_reset(vbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void
vbuf_free(vbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

const char *
vbuf_str(vbuf *b)
{
	if (b->data == NULL)
		vbuf_reserve(b, 0), b->data[0] = '\0';
	return b->data;
}

void
vbuf_json_string(vbuf *b, const char *s)
{
	const unsigned char *p;

	vbuf_putc(b, '"');
	for (p = (const unsigned char *) s; *p; p++)
	{
		switch (*p)
		{
			case '"':
				vbuf_puts(b, "\\\"");
				break;
			case '\\':
				vbuf_puts(b, "\\\\");
				break;
			case '\n':
				vbuf_puts(b, "\\n");
				break;
			case '\r':
				vbuf_puts(b, "\\r");
				break;
			case '\t':
				vbuf_puts(b, "\\t");
				break;
			default:
				if (*p < 0x20)
					vbuf_printf(b, "\\u%04x", *p);
				else
					vbuf_putc(b, (char) *p);
		}
	}
	vbuf_putc(b, '"');
}

int
vtp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *
vtp_strdup(const char *s)
{
	char	   *d = strdup(s ? s : "");

	if (d == NULL)
	{
		fprintf(stderr, "vtp: out of memory\n");
		abort();
	}
	return d;
}

char *
vtp_strlcpy(char *dst, const char *src, size_t size)
{
	size_t		n;

	if (size == 0)
		return dst;
	n = strlen(src);
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return dst;
}
