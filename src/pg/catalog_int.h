/*
 * catalog_int.h — helpers shared by the files that hold vtp's SQL
 * (catalog.c, catalog_reconcile.c, sql_ops.c): parameterised execution with
 * an exact result check, schema-qualified relation names, result copies
 * that outlive SPI.
 */
#ifndef VTP_CATALOG_INT_H
#define VTP_CATALOG_INT_H

#include "vtp.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#define TXT(s) CStringGetTextDatum(s)

/* SPI_execute_with_args; ERROR unless the result is expect. Returns SPI_processed. */
extern uint64 catalog_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
						  int expect);

/* "schema".name of the installed extension; ERROR if it is not installed. */
extern char *catalog_rel(const char *name);

/* Where results that outlive the transaction go (the caller's context at catalog_begin). */
extern MemoryContext catalog_result_cxt(void);

/* Column c of result row, copied to the caller's context (NULL for NULL). */
extern char *catalog_col(int row, int c);

#endif
