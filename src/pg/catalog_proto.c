/*
 * catalog_proto.c — the in-server transcode workers' side of the worker
 * protocol: each call is one SELECT of the SQL function vtp-runner calls
 * through libpq (sql_runner.c), run through SPI inside the worker's
 * transaction (catalog_begin). One protocol for every worker: what a runner
 * may do, an in-server worker does the same way.
 */
#include "catalog_int.h"

#include "catalog/pg_type.h"

/* SELECT * FROM schema.fn(args): its one row (ERROR otherwise). */
static void
call(const char *fn, const char *args, int nargs, Oid *types, Datum *v, const char *nulls)
{
	catalog_run(psprintf("SELECT * FROM %s(%s)", catalog_rel(fn), args), nargs, types, v, nulls, SPI_OK_SELECT);
	if (SPI_processed != 1)
		elog(ERROR, "vtp: %s returned " UINT64_FORMAT " rows", fn, SPI_processed);
}

void
proto_claim(const char *id, const char *worker, const char *token, int lease_seconds, vtp_claim *out)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, INT4OID};
	Datum		v[4] = {TXT(id), TXT(worker), TXT(token), Int32GetDatum(lease_seconds)};

	memset(out, 0, sizeof(*out));
	call("vtp_claim", "$1::pg_catalog.uuid, $2, $3::pg_catalog.uuid, $4", 4, types, v, NULL);
	out->found = catalog_col_bool(0, 1);
	out->claimed = catalog_col_bool(0, 2);
	out->lease_live = catalog_col_bool(0, 3);
	catalog_col_copy(0, 4, out->status, sizeof(out->status));
	out->attempts = catalog_col_int(0, 5);
	out->bucket = catalog_col(0, 6);
	out->key = catalog_col(0, 7);
	out->etag = catalog_col(0, 8);
}

bool
proto_video_is(const char *id, const char *bucket, const char *key)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		v[3] = {TXT(id), TXT(bucket), TXT(key)};

	call("vtp_video_is", "$1::pg_catalog.uuid, $2, $3", 3, types, v, NULL);
	return catalog_col_bool(0, 1);
}

char *
proto_video_status(const char *id)
{
	Oid			types[1] = {TEXTOID};
	Datum		v[1] = {TXT(id)};

	call("vtp_video_status", "$1::pg_catalog.uuid", 1, types, v, NULL);
	return catalog_col(0, 1);
}

bool
proto_heartbeat(const char *id, const char *token, int lease_seconds, double progress, double eta_seconds)
{
	Oid			types[5] = {TEXTOID, TEXTOID, INT4OID, FLOAT8OID, FLOAT8OID};
	Datum		v[5] = {TXT(id), TXT(token), Int32GetDatum(lease_seconds), Float8GetDatum(progress),
	Float8GetDatum(eta_seconds)};
	char		nulls[5] = {' ', ' ', ' ', ' ', eta_seconds < 0 ? 'n' : ' '};

	call("vtp_heartbeat", "$1::pg_catalog.uuid, $2::pg_catalog.uuid, $3, $4, $5", 5, types, v, nulls);
	return catalog_col_bool(0, 1);
}

bool
proto_set_probe(const char *id, const char *token, const char *probe_json)
{
	Oid			types[3] = {TEXTOID, TEXTOID, TEXTOID};
	Datum		v[3] = {TXT(id), TXT(token), TXT(probe_json)};

	call("vtp_set_probe", "$1::pg_catalog.uuid, $2::pg_catalog.uuid, $3", 3, types, v, NULL);
	return catalog_col_bool(0, 1);
}

bool
proto_publish(const char *id, const char *token, const char *out_bucket, const char *out_key,
			  const char *renditions_json, double cpu_seconds, double wall_seconds)
{
	Oid			types[7] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, FLOAT8OID, FLOAT8OID, TEXTOID};
	Datum		v[7] = {TXT(id), TXT(token), TXT(out_bucket), TXT(out_key), Float8GetDatum(cpu_seconds),
	Float8GetDatum(wall_seconds), TXT(renditions_json)};

	call("vtp_publish", "$1::pg_catalog.uuid, $2::pg_catalog.uuid, $3, $4, $5, $6, $7", 7, types, v, NULL);
	return catalog_col_bool(0, 1);
}

bool
proto_fail(const char *id, const char *token, const char *code, const char *message)
{
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[4] = {TXT(id), TXT(token), TXT(code), TXT(message)};

	call("vtp_fail", "$1::pg_catalog.uuid, $2::pg_catalog.uuid, $3, $4", 4, types, v, NULL);
	return catalog_col_bool(0, 1);
}

bool
proto_release(const char *id, const char *token, const char *code, const char *message, bool refund,
			  bool requeue)
{
	Oid			types[6] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, BOOLOID, BOOLOID};
	Datum		v[6] = {TXT(id), TXT(token), TXT(code), TXT(message), BoolGetDatum(refund), BoolGetDatum(requeue)};
	char		status[16];

	call("vtp_release", "$1::pg_catalog.uuid, $2::pg_catalog.uuid, $3, $4, $5, $6", 6, types, v, NULL);
	catalog_col_copy(0, 1, status, sizeof(status));
	return strcmp(status, "Pending") == 0;
}

void
proto_trash(const char *id, const char *bucket, const char *key, const char *etag, const char *reason)
{
	Oid			types[5] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		v[5] = {TXT(id), TXT(bucket), TXT(key), etag ? TXT(etag) : (Datum) 0, TXT(reason)};
	char		nulls[5] = {' ', ' ', ' ', etag ? ' ' : 'n', ' '};

	call("vtp_trash_object", "$1::pg_catalog.uuid, $2, $3, $4, $5", 5, types, v, nulls);
}

void
proto_source_deleted(const char *id, const char *token)
{
	Oid			types[2] = {TEXTOID, TEXTOID};
	Datum		v[2] = {TXT(id), TXT(token)};

	call("vtp_source_deleted", "$1::pg_catalog.uuid, $2::pg_catalog.uuid", 2, types, v, NULL);
}
