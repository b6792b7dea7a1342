/*
 * vtp_assert.h — Assert() for the parts without PostgreSQL headers (src/core,
 * src/aws, src/job, the helper): checked only in a build with
 * -DUSE_ASSERT_CHECKING (make VTP_ASSERT=-DUSE_ASSERT_CHECKING), as PostgreSQL's
 * own Assert() is; a failed assertion aborts, as there.
 */
#ifndef VTP_ASSERT_H
#define VTP_ASSERT_H

#ifdef USE_ASSERT_CHECKING
#include <assert.h>
#define VTP_ASSERT(cond) assert(cond)
#else
#define VTP_ASSERT(cond) ((void) 0)
#endif

#endif
