/*  Unit tests of controller/ctl_req.c, the parts that need no reactor:
 *  "time ago" texts at every unit boundary, and the growable argv used
 *  for EVAL (copies of its strings, lengths, growth past its first
 *  capacity, binary-safe lengths, free and reuse). Replies and failures
 *  are exercised through the controller by test_ctl_api and the others. */
#include "ctl.h"
#include "ph_test.h"

#include <string.h>

static void s_ago (uint64_t ms, const char *want)
{
    char buf[16];
    ctl_format_ago (ms, buf, sizeof buf);
    CHECK_STR (buf, want);
}

static void test_ago (void)
{
    s_ago (0, "0s");
    s_ago (999, "0s");
    s_ago (1000, "1s");
    s_ago (119999, "119s");
    s_ago (120000, "2m");
    s_ago (2 * 3600 * 1000 - 1, "119m");
    s_ago (2 * 3600 * 1000, "2h");
    s_ago (2ULL * 86400 * 1000 - 1, "47h");
    s_ago (2ULL * 86400 * 1000, "2d");
    s_ago (400ULL * 86400 * 1000, "400d");
    char tiny[3];
    ctl_format_ago (120000, tiny, sizeof tiny);
    CHECK_STR (tiny, "2m");
    ctl_format_ago (400ULL * 86400 * 1000, tiny, sizeof tiny);
    CHECK (strlen (tiny) == 2); /* cut, never overrun */
}

static void test_argv (void)
{
    ctl_argv_t a;
    ctl_argv_init (&a);
    CHECK (a.argc == 0 && a.argv == NULL);
    char word[8] = "EVAL";
    ctl_argv_add (&a, word);
    strcpy (word, "XXXX"); /* the argv keeps its own copy */
    CHECK_STR (a.argv[0], "EVAL");
    ctl_argv_add (&a, NULL); /* an empty argument */
    CHECK_STR (a.argv[1], "");
    CHECK (a.len[1] == 0);
    for (int i = 0; i < 100; i++)
        ctl_argv_addf (&a, "ph:session:{%s-%05d}", "bob", i);
    CHECK (a.argc == 102 && a.cap >= 102);
    CHECK_STR (a.argv[2], "ph:session:{bob-00000}");
    CHECK_STR (a.argv[101], "ph:session:{bob-00099}");
    CHECK (a.len[101] == strlen ("ph:session:{bob-00099}"));
    ctl_argv_addf (&a, "%llu", 18446744073709551615ULL);
    CHECK_STR (a.argv[102], "18446744073709551615");
    ctl_argv_free (&a);
    CHECK (a.argc == 0 && a.argv == NULL && a.len == NULL && a.cap == 0);
    /* usable again after free */
    ctl_argv_add (&a, "PING");
    CHECK (a.argc == 1);
    ctl_argv_free (&a);
    ctl_argv_free (&a); /* twice is fine */
}

int main (void)
{
    test_ago ();
    test_argv ();
    PH_TEST_END ();
}
