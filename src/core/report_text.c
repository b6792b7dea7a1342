/*
 * report_text.c — what the reader keeps of the helper's words: the error
 * codes it knows (helper_protocol.h's list, nothing else) and text cleaned
 * to bounded, valid UTF-8 without control bytes (report.h).
 */
#include "report_int.h"

#include <string.h>

#include "helper_protocol.h"
#include "names.h"

/* Every error code the helper prints: helper_protocol.h's list. */
static const char *const known_codes[] = {
	VTP_HELPER_ERROR_CODES,
	NULL
};

/* Is code one of the helper's error codes? */
bool
report_known_code(const char *code)
{
	int			i;

	for (i = 0; known_codes[i]; i++)
		if (strcmp(code, known_codes[i]) == 0)
			return true;
	return false;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid or a C1 control. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t		len = vtp_utf8_len(s, n);

	/* U+0080..U+009F are encoded C2 80 .. C2 9F */
	if (len == 2 && s[0] == 0xC2 && s[1] < 0xA0)
		return 0;
	return len;
}

/* Clean and bound text from the helper (see report.h). */
void
report_clean_text(char *dst, size_t dstsize, const char *src, size_t srclen)
{
	const unsigned char *s = (const unsigned char *) src;
	size_t		i = 0,
				o = 0;

	if (dstsize == 0)
		return;
	while (i < srclen)
	{
		size_t		len = utf8_seq(s + i, srclen - i);

		if (len == 0 || (len == 1 && (s[i] < 0x20 || s[i] == 0x7F)))
		{
			/* an invalid byte or a control byte: dropped (a tab or newline becomes a space) */
			if (len == 1 && (s[i] == '\t' || s[i] == '\n' || s[i] == '\r') && o + 1 < dstsize)
				dst[o++] = ' ';
			i++;
			continue;
		}
		if (o + len >= dstsize)
			break;				/* truncated at a character boundary */
		memcpy(dst + o, s + i, len);
		o += len;
		i += len;
	}
	dst[o] = '\0';
}

/* A name safe to quote in a reason: cleaned and short. */
const char *
report_quoted(const char *s, char *buf, size_t len)
{
	report_clean_text(buf, len, s ? s : "", s ? strlen(s) : 0);
	return buf;
}
