/*
 * catalog_upload.c — the statements of the upload endpoint: the bearer
 * token check and a video as JSON (an upload is recorded by
 * catalog_register, as any announced object). Parameterised, tables
 * qualified with the extension's schema, as in catalog.c.
 */
#include "catalog_int.h"

#include "catalog/pg_type.h"


bool
catalog_token_live(const char *token_sha256)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(token_sha256)};

	return catalog_select(psprintf("SELECT 1 FROM %s WHERE token_sha256 = $1 AND revoked_at IS NULL",
								catalog_rel("vtp_tokens")),
					   1, types, v, NULL, 1) == 1;
}

char *
catalog_video_json(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};
	char	   *schema = catalog_schema_quoted();
	char	   *json;

	if (catalog_select(psprintf(
							 "SELECT pg_catalog.json_build_object("
							 "'id', v.id, 'bucket', v.bucket, 'key', v.key, 'status', v.status, "
							 "'attempts', v.attempts, 'progress', v.progress, 'error_code', v.error_code, "
							 "'error', v.error, 'output_bucket', v.output_bucket, 'output_key', v.output_key, "
							 "'created_at', v.created_at, 'updated_at', v.updated_at, 'published_at', v.published_at, "
							 "'renditions', COALESCE((SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
							 "'name', r.name, 'key', r.key, 'width', r.width, 'height', r.height, 'bytes', r.bytes, "
							 "'bitrate', r.bitrate, 'duration', r.duration, 'url', u.url) ORDER BY r.height) "
							 "FROM %s.vtp_renditions r LEFT JOIN %s.vtp_output_urls(v.id) u ON u.rendition = r.name "
							 "WHERE r.video_id = v.id), '[]'::pg_catalog.json))::pg_catalog.text "
							 "FROM %s.vtp_videos v WHERE v.id = $1::pg_catalog.uuid", schema, schema, schema),
					1, types, v, NULL, 1) != 1)
		return NULL;
	json = catalog_col(0, 1);
	Assert(json != NULL);		/* json_build_object of a row is never NULL */
	return json;
}
