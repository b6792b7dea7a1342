/*
 * ladder.h — the rendition ladder planner (pure C): from the source's probe
 * facts and vtp.renditions to the renditions to make. Rungs are defined on
 * the short side of the displayed picture, never above the source, with even
 * dimensions and bitrate caps never above the source's bitrate.
 */
#ifndef VTP_LADDER_H
#define VTP_LADDER_H

#include <stddef.h>
#include <stdint.h>

#define LADDER_MAX_RUNGS 8

typedef struct ladder_source
{
	int			width;			/* coded picture */
	int			height;
	int			rotation;		/* display rotation, degrees: 0, 90, 180, 270 */
	int64_t		bitrate;		/* bits/s of the video stream, 0 if unknown */
} ladder_source;

typedef struct ladder_rung
{
	char		name[16];		/* "720p" */
	int			short_side;
	int			width;			/* output, even, upright */
	int			height;
	int64_t		maxrate;		/* bits/s */
	int64_t		bufsize;		/* bits */
} ladder_rung;

typedef struct ladder_plan
{
	int			nrungs;
	ladder_rung rungs[LADDER_MAX_RUNGS];
	char		note[256];		/* why the plan differs from the request, if it does */
} ladder_plan;

/*
 * Parse "480p,720p,1080p" into ascending, distinct short sides.
 * Returns the count, or -1 with a reason in err.
 */
extern int	ladder_parse_spec(const char *spec, int *sides, int max, char *err, size_t errlen);

/* Returns 0 with a plan, or -1 with a reason in err. */
extern int	ladder_plan_make(const ladder_source *src, const char *spec, ladder_plan *plan,
							 char *err, size_t errlen);

/* The capped-CRF maxrate for a rung of this short side (bits/s). */
extern int64_t ladder_cap_for(int short_side);

#endif
