/*
 * test_ladder.c — the rendition ladder planner.
 */
#include "unit.h"
#include "ladder.h"

void
test_ladder(void)
{
	ladder_plan p;
	char		err[256];
	int			sides[8];
	ladder_source hd = {1920, 1080, 0, 0};
	ladder_source rotated = {1920, 1080, 90, 0};
	ladder_source portrait = {1080, 1920, 0, 0};
	ladder_source small = {640, 360, 0, 500000};
	ladder_source odd = {1365, 769, 0, 0};
	ladder_source between = {1600, 900, 0, 3000000};

	CHECK(ladder_parse_spec("1080p, 480p,720p,480p", sides, 8, err, sizeof(err)) == 3);
	CHECK(sides[0] == 480 && sides[1] == 720 && sides[2] == 1080);
	CHECK(ladder_parse_spec("720", sides, 8, err, sizeof(err)) == -1);
	CHECK(ladder_parse_spec("721p", sides, 8, err, sizeof(err)) == -1);
	CHECK(ladder_parse_spec("", sides, 8, err, sizeof(err)) == -1);
	CHECK(ladder_parse_spec("hd", sides, 8, err, sizeof(err)) == -1);

	CHECK(ladder_plan_make(&hd, "480p,720p,1080p", &p, err, sizeof(err)) == 0);
	CHECK(p.nrungs == 3);
	CHECK(p.rungs[0].width == 854 && p.rungs[0].height == 480);
	CHECK(p.rungs[1].width == 1280 && p.rungs[1].height == 720);
	CHECK(p.rungs[2].width == 1920 && p.rungs[2].height == 1080);
	CHECK_STR(p.rungs[1].name, "720p");
	CHECK(p.rungs[0].maxrate == 1500000 && p.rungs[0].bufsize == 3000000);
	CHECK(p.rungs[2].maxrate == 7800000);
	CHECK(p.note[0] == '\0');

	/* rotation applies before the short-side rule: 480x854, not 270x480 */
	CHECK(ladder_plan_make(&rotated, "480p,720p,1080p", &p, err, sizeof(err)) == 0);
	CHECK(p.nrungs == 3 && p.rungs[0].width == 480 && p.rungs[0].height == 854);
	CHECK(p.rungs[2].width == 1080 && p.rungs[2].height == 1920);
	CHECK(ladder_plan_make(&portrait, "480p,720p,1080p", &p, err, sizeof(err)) == 0);
	CHECK(p.rungs[1].width == 720 && p.rungs[1].height == 1280);

	/* no upscaling: a 360p source gets one rendition at its own size, capped by its bitrate */
	CHECK(ladder_plan_make(&small, "480p,720p,1080p", &p, err, sizeof(err)) == 0);
	CHECK(p.nrungs == 1 && p.rungs[0].width == 640 && p.rungs[0].height == 360);
	CHECK_STR(p.rungs[0].name, "360p");
	CHECK(p.rungs[0].maxrate == 500000);
	CHECK(p.note[0] != '\0');

	/* odd sizes give even outputs with the aspect kept */
	CHECK(ladder_plan_make(&odd, "480p,720p,1080p", &p, err, sizeof(err)) == 0);
	CHECK(p.nrungs == 2 && p.rungs[0].width == 852 && p.rungs[0].height == 480);
	CHECK(p.rungs[1].width == 1278 && p.rungs[1].height == 720);

	/* between rungs: only those at or below; caps never above the source bitrate */
	CHECK(ladder_plan_make(&between, "480p,720p,1080p", &p, err, sizeof(err)) == 0);
	CHECK(p.nrungs == 2 && p.rungs[1].maxrate == 3000000 && p.rungs[0].maxrate == 1500000);

	{
		ladder_source bad = {0, 0, 0, 0};
		ladder_source badrot = {100, 100, 45, 0};

		CHECK(ladder_plan_make(&bad, "480p", &p, err, sizeof(err)) == -1);
		CHECK(ladder_plan_make(&badrot, "480p", &p, err, sizeof(err)) == -1);
	}
}
