/*
 * catalog_urls.c — the statement behind vtp_output_urls (sql_urls.c): a
 * video's renditions, where each one is, in the order the URLs are handed
 * out.
 */
#include "catalog_int.h"

#include "catalog/pg_type.h"

int
catalog_renditions(Datum video_id, vtp_url_row **rows)
{
	Oid			types[1] = {UUIDOID};
	Datum		v[1] = {video_id};
	uint64		n,
				i;

	n = catalog_select(psprintf("SELECT name, bucket, key FROM %s WHERE video_id = $1 ORDER BY height, name",
								catalog_rel("vtp_renditions")), 1, types, v, NULL, 0);
	*rows = MemoryContextAllocZero(catalog_result_cxt(), sizeof(vtp_url_row) * (n ? n : 1));
	for (i = 0; i < n; i++)
	{
		(*rows)[i].name = catalog_col(i, 1);
		(*rows)[i].bucket = catalog_col(i, 2);
		(*rows)[i].key = catalog_col(i, 3);
	}
	return (int) n;
}
