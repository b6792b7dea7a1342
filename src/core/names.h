/*
 * names.h — names vtp makes or accepts (pure C): random video ids, client
 * file names made safe, the video id a server-made key carries, S3's bucket
 * naming rules, the object keys vtp accepts, and names escaped for a log line.
 */
#ifndef VTP_NAMES_H
#define VTP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define VTP_NAME_MAX 100

/* A UUID as text: 36 characters; VTP_UUID_SIZE bytes hold one with its NUL. */
#define VTP_UUID_LEN 36
#define VTP_UUID_SIZE (VTP_UUID_LEN + 1)

/* A random (version 4) UUID, lower-case, 36 characters + NUL. */
extern void vtp_uuid_v4(char out[VTP_UUID_SIZE]);

/*
 * A client's file name made safe for a key segment: its last path
 * component, only [A-Za-z0-9._-] (others become '_', runs folded), no
 * leading dots, at most VTP_NAME_MAX bytes keeping the extension; "upload"
 * when nothing is left.
 */
extern void vtp_safe_filename(const char *in, char *out, size_t outlen);

/*
 * If key is <prefix><uuid>/<anything>, copy the uuid to id and return true:
 * keys vtp hands out carry their video's id.
 */
extern bool vtp_key_video_id(const char *key, const char *prefix, char id[VTP_UUID_SIZE]);

/* Is s a canonical lower-case UUID? */
extern bool vtp_is_uuid(const char *s);

/* Longest object key vtp accepts (S3's limit; it fits a btree index row). */
#define VTP_KEY_MAX 1024

/*
 * Why name is not a bucket name by S3's rules for general purpose buckets,
 * or NULL if it is one: 3 to 63 bytes of [a-z0-9.-], dot-separated labels
 * that start and end with a letter or digit (so no "..", no leading or
 * trailing '.' or '-'), not an IPv4 address, none of S3's reserved prefixes
 * (xn--, sthree-, amzn-s3-demo-) or suffixes (-s3alias, --ol-s3, .mrap,
 * --x-s3, --table-s3). Such a name is always one DNS host label sequence
 * and one path segment: it cannot change the host or path of a URL.
 */
extern const char *vtp_bucket_name_error(const char *name);

/*
 * Why a comma-separated list of bucket names (spaces around names allowed,
 * empty list allowed) is not valid, or NULL. The offending entry is copied
 * (escaped) into bad.
 */
extern const char *vtp_bucket_list_error(const char *list, char *bad, size_t badlen);

/* Is bucket one of the names in the comma-separated list? */
extern bool vtp_bucket_in_list(const char *list, const char *bucket);

/*
 * Why len bytes of key are not an object key vtp accepts, or NULL: not
 * empty, at most VTP_KEY_MAX bytes, valid UTF-8 (no overlong forms, no
 * surrogates), no C0 control byte (NUL included) and no DEL.
 */
extern const char *vtp_key_error(const char *key, size_t len);

/*
 * Copy s into out for a log line or an error message: printable ASCII and
 * valid UTF-8 stay, '"' and '\' and every other byte (controls, C1
 * controls, invalid UTF-8) become \xHH; cut with "..." to fit outlen.
 */
extern void vtp_escape_name(const char *s, char *out, size_t outlen);

/* Buffer size for one escaped name in a log line (longer ones are cut). */
#define VTP_LOG_NAME 256

/* Length of the valid UTF-8 sequence at p (n bytes left: at least 1), or 0 if invalid (overlong, surrogate, past U+10FFFF, cut). */
extern size_t vtp_utf8_len(const unsigned char *p, size_t n);

/*
 * The len bytes of s as an ETag without the quotes and blanks around it (a
 * header's value, an XML element's text) into out, cut to outlen; out may be
 * s. Returns the length written.
 */
extern size_t vtp_etag_unquote(const char *s, size_t len, char *out, size_t outlen);


#endif
