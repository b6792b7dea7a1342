/*
 * catalog_int.h — helpers shared by the files that hold vtp's SQL
 * (catalog*.c, sql_ops.c): parameterised execution with an exact result
 * check, schema-qualified relation names, and one way of reading a result's
 * rows and columns (copies that outlive SPI).
 */
#ifndef VTP_CATALOG_INT_H
#define VTP_CATALOG_INT_H

#include "catalog.h"
#include "settings.h"
#include "slots.h"

#include "executor/spi.h"
#include "utils/builtins.h"

#define TXT(s) CStringGetTextDatum(s)

/* SPI_execute_with_args; ERROR unless the result is expect. Returns SPI_processed. */
extern uint64 catalog_run(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
						  int expect);

/* A read-only SELECT (SPI's read_only, at most count rows, 0: all); ERROR unless it ran. Returns SPI_processed. */
extern uint64 catalog_select(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls,
							 long count);

/* "schema".name of the installed extension; ERROR if it is not installed. */
extern char *catalog_rel(const char *name);

/* The extension's schema, quoted (palloc'd), cached for the transaction; ERROR if it is not installed. */
extern char *catalog_schema_quoted(void);

/* Where results that outlive the transaction go (the caller's context at catalog_begin). */
extern MemoryContext catalog_result_cxt(void);

/* Column c (from 1) of result row (from 0) as text, copied to the result context (NULL for NULL). */
extern char *catalog_col(int row, int c);

/* Column c of result row as text into buf ("" for NULL). */
extern void catalog_col_copy(int row, int c, char *buf, size_t len);

/* Column c of result row as an int (0 for NULL). */
extern int	catalog_col_int(int row, int c);

/* Column c of result row as an int64 (0 for NULL). */
extern int64 catalog_col_int64(int row, int c);

/* Column c of result row, a boolean, is true (false for NULL). */
extern bool catalog_col_bool(int row, int c);

/* Column c of result row as a Datum (by value, or valid until SPI_finish). */
extern Datum catalog_col_datum(int row, int c, bool *isnull);

#endif
