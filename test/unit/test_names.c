/*
 * test_names.c — ids and safe key segments.
 */
#include "unit.h"
#include "names.h"

void
test_names(void)
{
	char		out[128],
				id[VTP_UUID_SIZE],
				id2[VTP_UUID_SIZE];
	char		longname[300];

	vtp_uuid_v4(id);
	vtp_uuid_v4(id2);
	CHECK(vtp_is_uuid(id) && id[14] == '4' && strchr("89ab", id[19]) != NULL);
	CHECK(strcmp(id, id2) != 0);
	CHECK(!vtp_is_uuid("0B7E0000-0000-4000-8000-000000000000"));
	CHECK(!vtp_is_uuid("0b7e0000-0000-4000-8000-00000000000"));

	vtp_safe_filename("my holiday (2026) +1%.mp4", out, sizeof(out));
	CHECK_STR(out, "my_holiday_2026_1_.mp4");
	vtp_safe_filename("../../etc/passwd", out, sizeof(out));
	CHECK_STR(out, "passwd");
	vtp_safe_filename("C:\\Users\\me\\clip.MOV", out, sizeof(out));
	CHECK_STR(out, "clip.MOV");
	vtp_safe_filename("..", out, sizeof(out));
	CHECK_STR(out, "upload");
	vtp_safe_filename("", out, sizeof(out));
	CHECK_STR(out, "upload");
	vtp_safe_filename(".hidden.mp4", out, sizeof(out));
	CHECK_STR(out, "hidden.mp4");
	vtp_safe_filename("vid\xc3\xa9o \xe6\x97\xa5\xe6\x9c\xac.webm", out, sizeof(out));
	CHECK_STR(out, "vid_o_.webm");
	vtp_safe_filename("a/b/", out, sizeof(out));
	CHECK_STR(out, "upload");
	memset(longname, 'x', 250);
	strcpy(longname + 250, ".mp4");
	vtp_safe_filename(longname, out, sizeof(out));
	CHECK(strlen(out) == VTP_NAME_MAX && strcmp(out + VTP_NAME_MAX - 4, ".mp4") == 0);

	CHECK(vtp_key_video_id("uploads/0b7e0000-0000-4000-8000-000000000000/a.mp4", "uploads/", id));
	CHECK_STR(id, "0b7e0000-0000-4000-8000-000000000000");
	CHECK(!vtp_key_video_id("uploads/0b7e0000-0000-4000-8000-000000000000", "uploads/", id));
	CHECK(!vtp_key_video_id("other/0b7e0000-0000-4000-8000-000000000000/a.mp4", "uploads/", id));
	CHECK(!vtp_key_video_id("uploads/holiday/a.mp4", "uploads/", id));
}
