/*
 * json.h — a small, bounded JSON reader (no PostgreSQL), for S3 event
 * notifications, SQS responses and the transcoder helper's reports.
 * Untrusted input: depth and size are limited, strings are decoded to UTF-8
 * and may not contain NUL.
 */
#ifndef VTP_JSON_H
#define VTP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum json_type
{
	JSON_NULL,
	JSON_BOOL,
	JSON_NUMBER,
	JSON_STRING,
	JSON_ARRAY,
	JSON_OBJECT
} json_type;

typedef struct json_value
{
	json_type	type;
	char	   *key;			/* member name when inside an object */
	char	   *str;			/* decoded string, or the number's text */
	double		num;
	bool		boolean;
	struct json_value *child;	/* first element or member */
	struct json_value *next;	/* next sibling */
} json_value;

#define JSON_MAX_DEPTH 64

/*
 * Parse len bytes. Returns a tree to free with json_free(), or NULL with a
 * reason in err.
 */
extern json_value *json_parse(const char *text, size_t len, char *err, size_t errlen);
extern void json_free(json_value *v);

/* Member of an object by name, or NULL (also when v is not an object). */
extern const json_value *json_get(const json_value *v, const char *key);
/* The member's string, or NULL when absent or not a string. */
extern const char *json_get_str(const json_value *v, const char *key);
/* The member as a number (a JSON number or a numeric string); false if not. */
extern bool json_get_num(const json_value *v, const char *key, double *out);
/* The member as an integer in [lo, hi] (fractions truncated); false if not a number or out of range. */
extern bool json_get_int(const json_value *v, const char *key, int64_t lo, int64_t hi, int64_t *out);

#endif
