/*
 * ladder.c — plan the renditions for a source (pure C).
 */
#include "ladder.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SIDE 64
#define MAX_SIDE 4320

int
ladder_parse_spec(const char *spec, int *sides, int max, char *err, size_t errlen)
{
	const char *p = spec;
	int			n = 0,
				i,
				j;

	while (*p)
	{
		char	   *end;
		long		v;

		while (*p == ' ' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		if (!isdigit((unsigned char) *p))
		{
			snprintf(err, errlen, "rendition \"%s\" is not of the form <lines>p, e.g. 720p", p);
			return -1;
		}
		v = strtol(p, &end, 10);
		if (*end != 'p' || (end[1] != '\0' && end[1] != ',' && end[1] != ' '))
		{
			snprintf(err, errlen, "rendition list \"%s\": each entry must be <lines>p, e.g. 720p", spec);
			return -1;
		}
		if (v < MIN_SIDE || v > MAX_SIDE || v % 2 != 0)
		{
			snprintf(err, errlen, "rendition %ldp: lines must be even and between %d and %d", v, MIN_SIDE, MAX_SIDE);
			return -1;
		}
		for (i = 0; i < n && sides[i] != v; i++)
			;
		if (i == n)
		{
			if (n == max)
			{
				snprintf(err, errlen, "at most %d renditions", max);
				return -1;
			}
			sides[n++] = (int) v;
		}
		p = end + 1;
	}
	if (n == 0)
	{
		snprintf(err, errlen, "the rendition list is empty");
		return -1;
	}
	/* ascending */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && sides[j - 1] > sides[j]; j--)
		{
			int			t = sides[j];

			sides[j] = sides[j - 1];
			sides[j - 1] = t;
		}
	return n;
}

int64_t
ladder_cap_for(int short_side)
{
	static const struct
	{
		int			side;
		int64_t		cap;
	}			caps[] = {
		{240, 500000}, {360, 900000}, {480, 1500000}, {720, 4000000},
		{1080, 7800000}, {1440, 12000000}, {2160, 20000000}, {MAX_SIDE, 40000000}
	};
	size_t		i;

	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		if (short_side <= caps[i].side)
			return caps[i].cap;
	return caps[sizeof(caps) / sizeof(caps[0]) - 1].cap;
}

/* Scale long side to match a short side, rounded to the nearest even. */
static int
even_scaled(int long_side, int short_side, int target_short)
{
	double		v = (double) long_side * target_short / short_side;
	int			e = (int) (v / 2.0 + 0.5) * 2;

	return e < 2 ? 2 : e;
}

static void
set_rung(ladder_rung *r, int side, int disp_w, int disp_h, int64_t src_bitrate)
{
	int			shortd = disp_w < disp_h ? disp_w : disp_h;
	int			longd = disp_w < disp_h ? disp_h : disp_w;
	int			longo = even_scaled(longd, shortd, side);

	snprintf(r->name, sizeof(r->name), "%dp", side);
	r->short_side = side;
	if (disp_w >= disp_h)
	{
		r->width = longo;
		r->height = side;
	}
	else
	{
		r->width = side;
		r->height = longo;
	}
	r->maxrate = ladder_cap_for(side);
	if (src_bitrate > 0 && src_bitrate < r->maxrate)
		r->maxrate = src_bitrate;
	r->bufsize = 2 * r->maxrate;
}

int
ladder_plan_make(const ladder_source *src, const char *spec, ladder_plan *plan,
				 char *err, size_t errlen)
{
	int			sides[LADDER_MAX_RUNGS];
	int			n,
				i,
				dw,
				dh,
				shortd;

	memset(plan, 0, sizeof(*plan));
	n = ladder_parse_spec(spec, sides, LADDER_MAX_RUNGS, err, errlen);
	if (n < 0)
		return -1;
	if (src->width <= 0 || src->height <= 0)
	{
		snprintf(err, errlen, "source has no picture size");
		return -1;
	}
	if (src->rotation != 0 && src->rotation != 90 && src->rotation != 180 && src->rotation != 270)
	{
		snprintf(err, errlen, "unsupported display rotation %d", src->rotation);
		return -1;
	}
	dw = (src->rotation == 90 || src->rotation == 270) ? src->height : src->width;
	dh = (src->rotation == 90 || src->rotation == 270) ? src->width : src->height;
	shortd = dw < dh ? dw : dh;

	for (i = 0; i < n; i++)
		if (sides[i] <= shortd)
			set_rung(&plan->rungs[plan->nrungs++], sides[i], dw, dh, src->bitrate);

	if (plan->nrungs == 0)
	{
		/* smaller than every rung: one rendition at its own (even) size */
		int			own = shortd & ~1;

		if (own < 2)
		{
			snprintf(err, errlen, "source picture %dx%d is too small", src->width, src->height);
			return -1;
		}
		set_rung(&plan->rungs[plan->nrungs++], own, dw, dh, src->bitrate);
		snprintf(plan->note, sizeof(plan->note),
				 "source short side %d is below every requested rendition: one rendition at its own size", shortd);
	}
	else if (plan->nrungs < n)
		snprintf(plan->note, sizeof(plan->note),
				 "source short side %d: renditions above it are skipped (no upscaling)", shortd);
	return 0;
}
