/*
 * catalog.c — the machinery under every SQL statement the workers and
 * vtp's SQL functions run: the worker's transaction, the extension's schema
 * and readiness, parameterised execution with an exact result check, and
 * reading results. The statements themselves are in catalog_ingest.c,
 * catalog_claim.c, catalog_reconcile.c, catalog_urls.c and sql_ops.c. All
 * parameterised; table names are qualified with the extension's schema
 * (quoted), so a worker's search_path cannot redirect them.
 */
#include "catalog_int.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/xlog.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

static MemoryContext result_cxt = NULL;

/*
 * The extension's schema, quoted, as last looked up (TopMemoryContext), and
 * whether it still holds. It is looked up once per transaction, not per
 * statement: forgotten at the end of each transaction, and on any relcache
 * invalidation (DROP or CREATE EXTENSION drops or makes tables, here or in
 * another session, even within one transaction) or change of a schema (a
 * rename).
 */
static char *schema_cached = NULL;
static bool schema_valid = false;
static uint64 schema_generation = 0;	/* bumped by every callback that forgets the schema */
static bool schema_callbacks = false;

/*
 * Which catalog this is, as every task message says it: the cluster's
 * system identifier (pg_control_system()) and the database's OID. A
 * physical replica promoted in its primary's place has both, so its workers
 * carry on with the tasks in flight; pg_upgrade (a new initdb) and a
 * dump/restore change them, which claim() in transcode.c copes with by
 * looking the video up. No SQL object holds it, so no upgrade script needed.
 */
const char *
vtp_catalog_identity(void)
{
	static char ident[48];

	if (ident[0] == '\0')
		snprintf(ident, sizeof(ident), UINT64_FORMAT ":%u", GetSystemIdentifier(), MyDatabaseId);
	return ident;
}

void
catalog_begin(void)
{
	result_cxt = CurrentMemoryContext;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "vtp: SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
}

void
catalog_commit(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(false);
	MemoryContextSwitchTo(result_cxt);
}

/* Schema of the installed extension, or InvalidOid; its version into version. */
static Oid
extension_schema(char *version, size_t vlen)
{
	Relation	r = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			nsp = InvalidOid;

	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("vtp"));
	scan = systable_beginscan(r, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, Anum_pg_extension_extversion, RelationGetDescr(r), &isnull);

		nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
		if (version)
			strlcpy(version, isnull ? "" : TextDatumGetCString(d), vlen);
	}
	systable_endscan(scan);
	table_close(r, AccessShareLock);
	return nsp;
}

static void
schema_forget_xact(XactEvent event, void *arg)
{
	schema_valid = false;
	schema_generation++;
}

static void
schema_forget_rel(Datum arg, Oid relid)
{
	schema_valid = false;
	schema_generation++;
}

static void
schema_forget_nsp(Datum arg, int cacheid, uint32 hashvalue)
{
	schema_valid = false;
	schema_generation++;
}

/* The extension's schema, quoted; ERROR if it is not installed. */
char *
catalog_schema_quoted(void)
{
	Oid			nsp;
	char	   *quoted;
	uint64		generation;

	if (!schema_callbacks)
	{
		RegisterXactCallback(schema_forget_xact, NULL);
		CacheRegisterRelcacheCallback(schema_forget_rel, (Datum) 0);
		CacheRegisterSyscacheCallback(NAMESPACEOID, schema_forget_nsp, (Datum) 0);
		schema_callbacks = true;
	}
	Assert(IsTransactionState());
	if (schema_valid)
		return pstrdup(schema_cached);

	/*
	 * The scan may take invalidations (then what it finds may be stale) or
	 * ERROR (a lock timeout, a cancel, caught by a subtransaction): the cache
	 * is valid only once the new name is stored, and only if no callback ran
	 * meanwhile.
	 */
	generation = schema_generation;
	nsp = extension_schema(NULL, 0);
	if (!OidIsValid(nsp))
	{
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"vtp\" is not installed in database \"%s\"",
						get_database_name(MyDatabaseId))));
	}
	quoted = MemoryContextStrdup(TopMemoryContext, quote_identifier(get_namespace_name(nsp)));
	if (schema_cached)
		pfree(schema_cached);
	schema_cached = quoted;
	schema_valid = (generation == schema_generation);
	return pstrdup(schema_cached);
}

char *
catalog_rel(const char *name)
{
	return psprintf("%s.%s", catalog_schema_quoted(), name);
}

/*
 * Installed, at the version of this library? The workers wait (and say why)
 * until ALTER EXTENSION vtp UPDATE has run after an upgrade.
 */
bool
catalog_extension_ready(char *why, size_t whylen)
{
	char		version[64] = "";

	if (!OidIsValid(extension_schema(version, sizeof(version))))
	{
		snprintf(why, whylen, "extension vtp is not installed in this database");
		return false;
	}
	if (strcmp(version, VTP_VERSION) != 0)
	{
		snprintf(why, whylen, "extension vtp is at version %s but the library is %s: run ALTER EXTENSION vtp UPDATE",
				 version, VTP_VERSION);
		return false;
	}
	return true;
}

uint64
catalog_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, int expect)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);

	if (rc != expect)
		elog(ERROR, "vtp: catalog statement failed (%s): %s", SPI_result_code_string(rc), sql);
	return SPI_processed;
}

uint64
catalog_select(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, long count)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, true, count);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "vtp: catalog query failed (%s): %s", SPI_result_code_string(rc), sql);
	return SPI_processed;
}

MemoryContext
catalog_result_cxt(void)
{
	return result_cxt ? result_cxt : CurrentMemoryContext;
}

/* The text of a result's column, valid until SPI_finish (NULL for NULL). */
static char *
col_text(int row, int c)
{
	Assert(SPI_tuptable != NULL);
	Assert(row >= 0 && (uint64) row < SPI_processed);
	Assert(c >= 1 && c <= SPI_tuptable->tupdesc->natts);
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, c);
}

char *
catalog_col(int row, int c)
{
	char	   *v = col_text(row, c);

	return v ? MemoryContextStrdup(catalog_result_cxt(), v) : NULL;
}

void
catalog_col_copy(int row, int c, char *buf, size_t len)
{
	char	   *v = col_text(row, c);

	strlcpy(buf, v ? v : "", len);
}

int
catalog_col_int(int row, int c)
{
	char	   *v = col_text(row, c);

	return v ? atoi(v) : 0;
}

int64
catalog_col_int64(int row, int c)
{
	char	   *v = col_text(row, c);

	return v ? strtoll(v, NULL, 10) : 0;
}

bool
catalog_col_bool(int row, int c)
{
	char	   *v = col_text(row, c);

	return v != NULL && strcmp(v, "t") == 0;
}

Datum
catalog_col_datum(int row, int c, bool *isnull)
{
	Assert(SPI_tuptable != NULL);
	Assert(row >= 0 && (uint64) row < SPI_processed);
	Assert(c >= 1 && c <= SPI_tuptable->tupdesc->natts);
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, c, isnull);
}
