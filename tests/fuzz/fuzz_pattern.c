/*  libFuzzer target: the filter-pattern compiler and matcher
 *  (common/ph_pattern*.c). Patterns come from users through the API and
 *  events from whatever runs in a session, so neither may crash, leak,
 *  read out of bounds or stall the logshipper. The input is split at its
 *  first NUL or newline: the pattern before, the event after (the event
 *  is copied into a buffer of its exact size, not NUL-terminated, so that
 *  ASan sees any read past its end). Whatever compiles is matched twice
 *  (the second time from what the event object cached), asked for values
 *  and extracted fields; whatever does not compile must say why in one
 *  line that names a position. The pattern text is freed as soon as it is
 *  compiled: the compiled pattern must keep nothing of it.
 */
#include "ph_errors.h"
#include "ph_pattern.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static const char *const s_exprs[] = {"1",  "-2.5e3", "$.a", "$.a[0].b", "$.['x y']",
                                      "$1", "$3",     "$a",  "$b",       "$status",
                                      "$0", "$",      "$.*", "$.a b",    "x"};

static void s_field (const char *name, const char *value, size_t len, void *arg)
{
    size_t *count = arg;
    if (!name || name[0] != '$' || (len && !value))
        __builtin_trap ();
    volatile char sink = len ? value[len - 1] : 0; /* the value is readable */
    (void)sink;
    (*count)++;
}

static void s_exercise (const ph_pattern_t *p, const char *event, size_t len)
{
    ph_pattern_event_t *ev = ph_pattern_event_new ();
    if (!ev)
        return;
    ph_pattern_event_set (ev, event, len);
    bool first = ph_pattern_match (p, ev);
    if (ph_pattern_match (p, ev) != first)
        __builtin_trap (); /* the cached split / parse must not change the answer */
    size_t count = 0;
    ph_pattern_fields (p, ev, s_field, &count);
    if (!first && count)
        __builtin_trap (); /* fields only for a match */
    char err[PH_PATTERN_ERR_MAX];
    for (size_t i = 0; i < sizeof s_exprs / sizeof s_exprs[0]; i++) {
        double v;
        int rc = ph_pattern_value (p, ev, s_exprs[i], &v);
        if (rc != 0 && rc != PH_ENOENT && rc != PH_EINVAL)
            __builtin_trap ();
        rc = ph_pattern_check_value (p, s_exprs[i], err, sizeof err);
        if (rc != 0 && (rc != PH_EINVAL || !memchr (err, 0, sizeof err)))
            __builtin_trap ();
    }
    /* the same object for a second event, as the logshipper reuses it */
    ph_pattern_event_set (ev, "{\"a\": [1, {\"b\": 2}], \"x y\": \"3\"}", 32);
    ph_pattern_match (p, ev);
    ph_pattern_event_destroy (&ev);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    size_t cut = 0;
    while (cut < size && data[cut] != 0 && data[cut] != '\n')
        cut++;
    char *pattern = malloc (cut + 1);
    size_t elen = cut < size ? size - cut - 1 : 0;
    char *event = malloc (elen ? elen : 1);
    if (!pattern || !event)
        goto out_free;
    memcpy (pattern, data, cut);
    pattern[cut] = 0;
    if (elen)
        memcpy (event, data + cut + 1, elen);

    char err[PH_PATTERN_ERR_MAX];
    ph_pattern_t *p = ph_pattern_new (pattern, err, sizeof err);
    free (pattern); /* the compiled pattern must not point into the caller's text */
    pattern = NULL;
    if (!p) {
        if (!memchr (err, 0, sizeof err) ||
            (strncmp (err, "position ", 9) != 0 && strcmp (err, "out of memory") != 0))
            __builtin_trap (); /* a message that names a position */
        for (const char *c = err; *c; c++)
            if ((unsigned char)*c < 0x20)
                __builtin_trap (); /* on one printable line */
        goto out_free;
    }
    s_exercise (p, event, elen);
    ph_pattern_destroy (&p);
out_free:
    free (event);
    free (pattern);
    return 0;
}
