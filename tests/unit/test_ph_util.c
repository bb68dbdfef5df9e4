/*  Unit tests of common/ph_util.c. */
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_util.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void s_test_duration (void)
{
    uint64_t s;
    CHECK (ph_parse_duration ("90", &s) == 0 && s == 90);
    CHECK (ph_parse_duration ("15m", &s) == 0 && s == 900);
    CHECK (ph_parse_duration ("24h", &s) == 0 && s == 86400);
    CHECK (ph_parse_duration ("7d", &s) == 0 && s == 7 * 86400);
    CHECK (ph_parse_duration ("", &s) == PH_EINVAL);
    CHECK (ph_parse_duration ("h", &s) == PH_EINVAL);
    CHECK (ph_parse_duration ("5x", &s) == PH_EINVAL);
    CHECK (ph_parse_duration ("5hh", &s) == PH_EINVAL);
    CHECK (ph_parse_duration ("-5", &s) == PH_EINVAL);
    CHECK (ph_parse_duration ("99999999999999999999", &s) == PH_EINVAL);
}

static void s_test_bool_uint (void)
{
    bool b;
    uint64_t v;
    CHECK (ph_parse_bool ("true", &b) == 0 && b);
    CHECK (ph_parse_bool ("OFF", &b) == 0 && !b);
    CHECK (ph_parse_bool ("maybe", &b) == PH_EINVAL);
    CHECK (ph_parse_uint ("5", 1, 10, &v) == 0 && v == 5);
    CHECK (ph_parse_uint ("0", 1, 10, &v) == PH_EINVAL);
    CHECK (ph_parse_uint ("11", 1, 10, &v) == PH_EINVAL);
    CHECK (ph_parse_uint ("3a", 1, 10, &v) == PH_EINVAL);
}

static void s_test_tags (void)
{
    ph_tag_t tags[4];
    char err[256];
    CHECK (ph_parse_tags ("role=web,env=dev", tags, 4, err, sizeof err) == 2);
    CHECK_STR (tags[0].key, "role");
    CHECK_STR (tags[1].value, "dev");
    CHECK (ph_parse_tags ("", tags, 4, err, sizeof err) == 0);
    CHECK (ph_parse_tags ("empty=", tags, 4, err, sizeof err) == 1);
    CHECK (ph_parse_tags ("noequals", tags, 4, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "no '='") != NULL);
    CHECK (ph_parse_tags ("=v", tags, 4, err, sizeof err) == PH_EINVAL);
    CHECK (ph_parse_tags ("a=1,a=2", tags, 4, err, sizeof err) == PH_EINVAL);
    CHECK (ph_parse_tags ("a b=1", tags, 4, err, sizeof err) == PH_EINVAL);
    CHECK (ph_parse_tags ("a=1,b=2,c=3,d=4,e=5", tags, 4, err, sizeof err) == PH_EINVAL);
    CHECK (ph_parse_tags ("a=x=y", tags, 4, err, sizeof err) == PH_EINVAL);
}

static void s_test_utf8 (void)
{
    CHECK (ph_utf8_valid ("plain", 5));
    CHECK (ph_utf8_valid ("h\xc3\xa9", 3));
    CHECK (ph_utf8_valid ("\xf0\x9f\x98\x80", 4));
    CHECK (!ph_utf8_valid ("\xc3", 1));             /* truncated */
    CHECK (!ph_utf8_valid ("\xc0\xaf", 2));         /* overlong */
    CHECK (!ph_utf8_valid ("\xed\xa0\x80", 3));     /* surrogate */
    CHECK (!ph_utf8_valid ("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    CHECK (!ph_utf8_valid ("\xff", 1));
}

static void s_test_names (void)
{
    CHECK (ph_name_valid ("alice"));
    CHECK (ph_name_valid ("a.b-c_d@e"));
    CHECK (!ph_name_valid (""));
    CHECK (!ph_name_valid ("a b"));
    CHECK (!ph_name_valid ("a/b"));
    CHECK (ph_instance_id_valid ("mi-0123456789abcdef0"));
    CHECK (!ph_instance_id_valid ("mi-0123456789ABCDEF0"));
    CHECK (!ph_instance_id_valid ("mi-0123456789abcdef"));
    CHECK (!ph_instance_id_valid ("xx-0123456789abcdef0"));
}

static void s_test_files (void)
{
    char dir[] = "/tmp/ph-test-util-XXXXXX";
    CHECK (mkdtemp (dir) != NULL);
    char path[256], sub[256];
    snprintf (path, sizeof path, "%s/f", dir);
    CHECK (ph_file_write (path, "hello", 5, 0600) == 0);
    struct stat st;
    CHECK (stat (path, &st) == 0 && (st.st_mode & 0777) == 0600);
    size_t len;
    char *text = ph_file_read (path, 100, &len);
    CHECK (text && len == 5 && strcmp (text, "hello") == 0);
    free (text);
    CHECK (ph_file_read (path, 3, &len) == NULL); /* over the limit */
    snprintf (sub, sizeof sub, "%s/a/b/c", dir);
    CHECK (ph_mkdir_p (sub, 0700) == 0);
    CHECK (stat (sub, &st) == 0 && S_ISDIR (st.st_mode));
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK (system (cmd) == 0);
}

static void s_test_time (void)
{
    char buf[32];
    ph_format_time (1764083045123ULL, buf, sizeof buf);
    CHECK_STR (buf, "2025-11-25T15:04:05.123Z");
    CHECK (ph_now_ms () > 1700000000000ULL);
}

/*  RFC 4648 §10 vectors, and what the decoder must refuse. */
static void s_test_base64_hex (void)
{
    static const char *const vec[][2] = {{"", ""},
                                         {"f", "Zg=="},
                                         {"fo", "Zm8="},
                                         {"foo", "Zm9v"},
                                         {"foob", "Zm9vYg=="},
                                         {"fooba", "Zm9vYmE="},
                                         {"foobar", "Zm9vYmFy"}};
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        char enc[PH_BASE64_LEN (6)];
        uint8_t dec[8];
        size_t n = strlen (vec[i][0]);
        CHECK (ph_base64_encode (vec[i][0], n, enc) == strlen (vec[i][1]));
        CHECK_STR (enc, vec[i][1]);
        CHECK (ph_base64_decode (vec[i][1], strlen (vec[i][1]), dec) == (long)n);
        CHECK (memcmp (dec, vec[i][0], n) == 0);
    }
    static const char *const bad[] = {
        "Zg=", "Zg", "Z===", "Zh==", "Zm9=", "Zg==Zg==", "Zm 9", "Zm9v\n", "====", "Zm-v"};
    uint8_t out[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK (ph_base64_decode (bad[i], strlen (bad[i]), out) == PH_EINVAL);
    uint8_t h[3];
    CHECK (ph_unhex ("00fFa5", h, 3) == 0 && h[0] == 0 && h[1] == 0xff && h[2] == 0xa5);
    CHECK (ph_unhex ("0g", h, 1) == PH_EINVAL);
    CHECK (ph_unhex ("0", h, 1) == PH_EINVAL);
}

int main (void)
{
    s_test_base64_hex ();
    s_test_duration ();
    s_test_bool_uint ();
    s_test_tags ();
    s_test_utf8 ();
    s_test_names ();
    s_test_files ();
    s_test_time ();
    PH_TEST_END ();
}
