/*
 * json.c — recursive-descent JSON parser with limits (no PostgreSQL).
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

typedef struct parser
{
	const char *p;
	const char *end;
	int			depth;
	char	   *err;
	size_t		errlen;
} parser;

static json_value *parse_value(parser *ps);

static void
fail(parser *ps, const char *what)
{
	if (ps->err && ps->err[0] == '\0')
		snprintf(ps->err, ps->errlen, "%s", what);
}

static void
skip_ws(parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static json_value *
new_value(json_type t)
{
	json_value *v = calloc(1, sizeof(json_value));

	if (v == NULL)
		abort();
	v->type = t;
	return v;
}

static bool
read_hex4(parser *ps, unsigned *out)
{
	unsigned	v = 0;
	int			i;

	if (ps->end - ps->p < 4)
		return false;
	for (i = 0; i < 4; i++)
	{
		int			h = vtp_hexval(ps->p[i]);

		if (h < 0)
			return false;
		v = v * 16 + (unsigned) h;
	}
	ps->p += 4;
	*out = v;
	return true;
}

static void
put_utf8(vbuf *b, unsigned cp)
{
	if (cp < 0x80)
		vbuf_putc(b, (char) cp);
	else if (cp < 0x800)
	{
		vbuf_putc(b, (char) (0xC0 | (cp >> 6)));
		vbuf_putc(b, (char) (0x80 | (cp & 0x3F)));
	}
	else if (cp < 0x10000)
	{
		vbuf_putc(b, (char) (0xE0 | (cp >> 12)));
		vbuf_putc(b, (char) (0x80 | ((cp >> 6) & 0x3F)));
		vbuf_putc(b, (char) (0x80 | (cp & 0x3F)));
	}
	else
	{
		vbuf_putc(b, (char) (0xF0 | (cp >> 18)));
		vbuf_putc(b, (char) (0x80 | ((cp >> 12) & 0x3F)));
		vbuf_putc(b, (char) (0x80 | ((cp >> 6) & 0x3F)));
		vbuf_putc(b, (char) (0x80 | (cp & 0x3F)));
	}
}

/*
 * The code point of a \u escape (ps->p just past the "u"), a surrogate pair
 * joined, appended to b as UTF-8. False, with ps failed, for a bad one.
 */
static bool
read_unicode_escape(parser *ps, vbuf *b)
{
	unsigned	cp,
				lo;

	if (!read_hex4(ps, &cp))
	{
		fail(ps, "bad \\u escape");
		return false;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF)
	{
		if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
		{
			fail(ps, "unpaired surrogate");
			return false;
		}
		ps->p += 2;
		if (!read_hex4(ps, &lo) || lo < 0xDC00 || lo > 0xDFFF)
		{
			fail(ps, "unpaired surrogate");
			return false;
		}
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	else if (cp >= 0xDC00 && cp <= 0xDFFF)
	{
		fail(ps, "unpaired surrogate");
		return false;
	}
	if (cp == 0)
	{
		fail(ps, "NUL character in string");
		return false;
	}
	put_utf8(b, cp);
	return true;
}

/* The escape after a backslash (ps->p at its letter) appended to b; false, ps failed, when bad. */
static bool
read_escape(parser *ps, vbuf *b)
{
	unsigned char c = (unsigned char) *ps->p++;

	switch (c)
	{
		case '"':
		case '\\':
		case '/':
			vbuf_putc(b, (char) c);
			return true;
		case 'b':
			vbuf_putc(b, '\b');
			return true;
		case 'f':
			vbuf_putc(b, '\f');
			return true;
		case 'n':
			vbuf_putc(b, '\n');
			return true;
		case 'r':
			vbuf_putc(b, '\r');
			return true;
		case 't':
			vbuf_putc(b, '\t');
			return true;
		case 'u':
			return read_unicode_escape(ps, b);
		default:
			fail(ps, "bad escape in string");
			return false;
	}
}

/* Parses a string literal at ps->p (which points at the quote). */
static char *
parse_string(parser *ps)
{
	vbuf		b = VBUF_INIT;

	ps->p++;					/* opening quote */
	vbuf_reserve(&b, 16);
	while (ps->p < ps->end)
	{
		unsigned char c = (unsigned char) *ps->p++;

		if (c == '"')
		{
			vbuf_str(&b);
			return b.data;
		}
		if (c < 0x20)
		{
			fail(ps, "control character in string");
			break;
		}
		if (c != '\\')
		{
			vbuf_putc(&b, (char) c);
			continue;
		}
		if (ps->p >= ps->end)
			break;
		if (!read_escape(ps, &b))
		{
			vbuf_free(&b);
			return NULL;
		}
	}
	fail(ps, "unterminated string");
	vbuf_free(&b);
	return NULL;
}

static json_value *
parse_number(parser *ps)
{
	const char *start = ps->p;
	json_value *v;
	char	   *endp;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || !(*ps->p >= '0' && *ps->p <= '9'))
	{
		fail(ps, "bad number");
		return NULL;
	}
	while (ps->p < ps->end && ((*ps->p >= '0' && *ps->p <= '9') || *ps->p == '.' ||
							   *ps->p == 'e' || *ps->p == 'E' || *ps->p == '+' || *ps->p == '-'))
		ps->p++;
	if (ps->p - start > 64)
	{
		fail(ps, "number too long");
		return NULL;
	}
	v = new_value(JSON_NUMBER);
	v->str = strndup(start, (size_t) (ps->p - start));
	v->num = strtod(v->str, &endp);
	if (*endp != '\0')
	{
		fail(ps, "bad number");
		json_free(v);
		return NULL;
	}
	return v;
}

static bool
match_word(parser *ps, const char *w)
{
	size_t		n = strlen(w);

	if ((size_t) (ps->end - ps->p) >= n && memcmp(ps->p, w, n) == 0)
	{
		ps->p += n;
		return true;
	}
	return false;
}

static json_value *
parse_container(parser *ps, bool is_object)
{
	json_value *v = new_value(is_object ? JSON_OBJECT : JSON_ARRAY);
	json_value **tail = &v->child;
	char		close = is_object ? '}' : ']';

	if (++ps->depth > JSON_MAX_DEPTH)
	{
		fail(ps, "nesting too deep");
		goto bad;
	}
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close)
	{
		ps->p++;
		ps->depth--;
		return v;
	}
	for (;;)
	{
		char	   *key = NULL;
		json_value *item;

		skip_ws(ps);
		if (is_object)
		{
			if (ps->p >= ps->end || *ps->p != '"')
			{
				fail(ps, "expected member name");
				goto bad;
			}
			key = parse_string(ps);
			if (key == NULL)
				goto bad;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
			{
				free(key);
				fail(ps, "expected ':'");
				goto bad;
			}
			ps->p++;
		}
		item = parse_value(ps);
		if (item == NULL)
		{
			free(key);
			goto bad;
		}
		item->key = key;
		*tail = item;
		tail = &item->next;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',')
		{
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close)
		{
			ps->p++;
			break;
		}
		fail(ps, is_object ? "expected ',' or '}'" : "expected ',' or ']'");
		goto bad;
	}
	ps->depth--;
	return v;
bad:
	json_free(v);
	return NULL;
}

static json_value *
parse_value(parser *ps)
{
	json_value *v;

	skip_ws(ps);
	if (ps->p >= ps->end)
	{
		fail(ps, "unexpected end of input");
		return NULL;
	}
	switch (*ps->p)
	{
		case '{':
			return parse_container(ps, true);
		case '[':
			return parse_container(ps, false);
		case '"':
			{
				char	   *s = parse_string(ps);

				if (s == NULL)
					return NULL;
				v = new_value(JSON_STRING);
				v->str = s;
				return v;
			}
		case 't':
		case 'f':
			if (match_word(ps, "true") || match_word(ps, "false"))
			{
				v = new_value(JSON_BOOL);
				v->boolean = (ps->p[-1] == 'e' && ps->p[-2] == 'u');
				return v;
			}
			break;
		case 'n':
			if (match_word(ps, "null"))
				return new_value(JSON_NULL);
			break;
		default:
			return parse_number(ps);
	}
	fail(ps, "unexpected character");
	return NULL;
}

json_value *
json_parse(const char *text, size_t len, char *err, size_t errlen)
{
	parser		ps;
	json_value *v;

	if (err && errlen)
		err[0] = '\0';
	ps.p = text;
	ps.end = text + len;
	ps.depth = 0;
	ps.err = err;
	ps.errlen = errlen;
	v = parse_value(&ps);
	if (v == NULL)
		return NULL;
	skip_ws(&ps);
	if (ps.p != ps.end)
	{
		fail(&ps, "trailing characters after JSON value");
		json_free(v);
		return NULL;
	}
	return v;
}

void
json_free(json_value *v)
{
	while (v)
	{
		json_value *next = v->next;

		json_free(v->child);
		free(v->key);
		free(v->str);
		free(v);
		v = next;
	}
}

const json_value *
json_get(const json_value *v, const char *key)
{
	const json_value *c;

	if (v == NULL || v->type != JSON_OBJECT)
		return NULL;
	for (c = v->child; c; c = c->next)
		if (strcmp(c->key, key) == 0)
			return c;
	return NULL;
}

const char *
json_get_str(const json_value *v, const char *key)
{
	const json_value *m = json_get(v, key);

	return (m && m->type == JSON_STRING) ? m->str : NULL;
}

bool
json_get_num(const json_value *v, const char *key, double *out)
{
	const json_value *m = json_get(v, key);
	char	   *endp;

	if (m == NULL)
		return false;
	if (m->type == JSON_NUMBER)
	{
		*out = m->num;
		return true;
	}
	if (m->type == JSON_STRING && m->str[0] != '\0')
	{
		*out = strtod(m->str, &endp);
		return *endp == '\0';
	}
	return false;
}

bool
json_get_int(const json_value *v, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	double		d;

	/* compare as doubles first: casting an out-of-range double is undefined */
	if (!json_get_num(v, key, &d) || !(d >= (double) lo && d <= (double) hi))
		return false;
	*out = (int64_t) d;
	return true;
}
