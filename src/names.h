/*
 * names.h — object keys vtp makes (pure C): random video ids, client file
 * names made safe, and the video id a server-made key carries.
 */
#ifndef VTP_NAMES_H
#define VTP_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define VTP_NAME_MAX 100

/* A random (version 4) UUID, lower-case, 36 characters + NUL. */
extern void vtp_uuid_v4(char out[37]);

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
extern bool vtp_key_video_id(const char *key, const char *prefix, char id[37]);

/* Is s a canonical lower-case UUID? */
extern bool vtp_is_uuid(const char *s);

#endif
