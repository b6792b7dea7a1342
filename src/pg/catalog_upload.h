/*
 * catalog_upload.h — the upload endpoint's statements (catalog_upload.c),
 * run by the upload worker's main thread inside catalog_begin/commit.
 */
#ifndef VTP_CATALOG_UPLOAD_H
#define VTP_CATALOG_UPLOAD_H

/* Is token_sha256 (hex) the hash of a token that is not revoked? */
extern bool catalog_token_live(const char *token_sha256);

/* The video as GET /videos/{id} shows it (JSON, renditions with presigned URLs), or NULL if none. */
extern char *catalog_video_json(const char *id);

#endif
