/*  ph_test: the few macros the unit tests use. A failed CHECK prints where
 *  and what, and the test exits non-zero at the end (PH_TEST_END). */
#ifndef PH_TEST_H
#define PH_TEST_H

#include <stdio.h>
#include <string.h>

static int ph_test_failed = 0;
static int ph_test_passed = 0;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond)                                                                                  \
            ph_test_passed++;                                                                      \
        else {                                                                                     \
            ph_test_failed++;                                                                      \
            fprintf (stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);              \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (a_ && b_ && strcmp (a_, b_) == 0)                                                      \
            ph_test_passed++;                                                                      \
        else {                                                                                     \
            ph_test_failed++;                                                                      \
            fprintf (stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)",      \
                     b_ ? b_ : "(null)");                                                          \
        }                                                                                          \
    } while (0)

#define PH_TEST_END()                                                                              \
    do {                                                                                           \
        printf ("%d passed, %d failed\n", ph_test_passed, ph_test_failed);                         \
        return ph_test_failed ? 1 : 0;                                                             \
    } while (0)

#endif
