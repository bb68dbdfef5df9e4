/*  ph_pattern_fields: space-delimited filter patterns, [ip, user, ...,
 *  status=4*, bytes>1000] (see ph_pattern.h). The event object splits its
 *  line into fields once, for every pattern; a pattern then matches its
 *  fields against them.
 *
 *  Matching:
 *  - without an ellipsis, pattern field k is event field k, and the last
 *    pattern field takes the rest of the line (from its first field to the
 *    end): so [w1=ERROR, w2] matches any line whose first word is ERROR, and
 *    [w1=ERROR] only the line "ERROR" (AWS's note: "include a blank w2");
 *    a line with fewer fields than the pattern does not match;
 *  - with ellipses, each `...` takes any number of fields (none included)
 *    and every other pattern field exactly one; the match is found by the
 *    wildcard algorithm that keeps only the last ellipsis to fall back on
 *    (correct because fields never span), in O(fields × pattern) time.
 *  The assignment (which pattern field took which event field) is left in
 *  the event for the extracted values.
 */
#define PH_PATTERN_PRIVATE
#include "ph_pattern.h"
#include "ph_errors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TAKEN_BY_ELLIPSIS (-1)
#define S_FIELDS_MIN_CAP    16
#define S_POSITION_DIGITS   9 /* $123456789 */

typedef struct {
    bool ellipsis;
    const char *name; /* NULL: unnamed */
    size_t name_len;
    ph_pattern_test_t *tests;
    bool *or_before; /* the test is joined to the ones before by || (else &&) */
    size_t n_tests;
} s_field_t;

struct ph_pattern_fieldset {
    s_field_t *f;
    size_t n;
    bool ellipsis;
};

/* ----------------------------------------------------------------- parsing */

static bool s_name_start (char c)
{
    return isalpha ((unsigned char)c) || c == '_';
}

static bool s_name_char (char c)
{
    return isalnum ((unsigned char)c) || c == '_';
}

/*  The name at p->pos: its length (0 when none). */
static size_t s_name (ph_pattern_parser_t *p)
{
    size_t at = p->pos;
    if (at >= p->len || !s_name_start (p->text[at]))
        return 0;
    while (p->pos < p->len && s_name_char (p->text[p->pos]))
        p->pos++;
    return p->pos - at;
}

/*  The tests of field f: OP VALUE [(&& | ||) NAME OP VALUE]... */
static int s_conditions (ph_pattern_parser_t *p, s_field_t *f)
{
    ph_pattern_test_t tests[PH_PATTERN_TESTS_MAX];
    bool ors[PH_PATTERN_TESTS_MAX] = {false};
    size_t n = 0;
    for (;;) {
        if (n == PH_PATTERN_TESTS_MAX)
            return ph_pattern_fail_ (p, p->pos, "too many tests in one field: at most %d",
                                     PH_PATTERN_TESTS_MAX);
        memset (&tests[n], 0, sizeof tests[n]);
        int rc = ph_pattern_test_parse_ (p, &tests[n++]);
        if (rc)
            return rc;
        ph_pattern_skip_ (p);
        const char *t = p->text + p->pos;
        if (p->len - p->pos < 2 || (memcmp (t, "&&", 2) != 0 && memcmp (t, "||", 2) != 0))
            break;
        if (n < PH_PATTERN_TESTS_MAX)
            ors[n] = t[0] == '|';
        p->pos += 2;
        ph_pattern_skip_ (p);
        size_t at = p->pos, len = s_name (p);
        if (len != f->name_len || memcmp (p->text + at, f->name, len) != 0)
            return ph_pattern_fail_ (p, at,
                                     "expected '%.*s' after '%.2s': a field's condition tests only "
                                     "that field (as in AWS)",
                                     (int)f->name_len, f->name, t);
    }
    f->tests = ph_pattern_alloc_ (p->pattern, n * sizeof *f->tests);
    f->or_before = ph_pattern_alloc_ (p->pattern, n * sizeof *f->or_before);
    if (!f->tests || !f->or_before)
        return ph_pattern_oom_ (p);
    memcpy (f->tests, tests, n * sizeof *tests);
    memcpy (f->or_before, ors, n * sizeof *ors);
    f->n_tests = n;
    return 0;
}

/*  A named field at p->pos, and its condition if any. */
static int s_named (ph_pattern_parser_t *p, ph_pattern_fieldset_t *set, s_field_t *f)
{
    size_t at = p->pos;
    f->name_len = s_name (p);
    f->name = p->text + at;
    if (f->name_len + 2 > PH_PATTERN_FIELD_NAME_MAX)
        return ph_pattern_fail_ (p, at, "field name too long: at most %d characters",
                                 PH_PATTERN_FIELD_NAME_MAX - 2);
    for (size_t k = 0; k < set->n; k++)
        if (set->f[k].name && set->f[k].name_len == f->name_len &&
            memcmp (set->f[k].name, f->name, f->name_len) == 0)
            return ph_pattern_fail_ (p, at, "field name '%.*s' is used twice", (int)f->name_len,
                                     f->name);
    ph_pattern_skip_ (p);
    if (p->pos < p->len && strchr ("=!<>", p->text[p->pos]))
        return s_conditions (p, f);
    return 0;
}

/*  One field at p->pos: `...`, NAME [condition], or nothing (unnamed). */
static int s_field (ph_pattern_parser_t *p, ph_pattern_fieldset_t *set, size_t open)
{
    size_t at = p->pos;
    s_field_t *f = &set->f[set->n];
    char c = at < p->len ? p->text[at] : 0;
    if (set->n == PH_PATTERN_FIELDS_MAX)
        return ph_pattern_fail_ (p, at, "too many fields: at most %d", PH_PATTERN_FIELDS_MAX);
    if (p->len - at >= 3 && memcmp (p->text + at, "...", 3) == 0) {
        f->ellipsis = set->ellipsis = true;
        p->pos += 3;
    } else if (s_name_start (c)) {
        int rc = s_named (p, set, f);
        if (rc)
            return rc;
    } else if (c == ']' && set->n == 0)
        return ph_pattern_fail_ (p, open,
                                 "empty space-delimited pattern: name its fields, e.g. [ip, user, "
                                 "..., status, bytes]");
    else if (at >= p->len)
        return ph_pattern_fail_ (p, open, "unclosed '[': a space-delimited pattern ends with ']'");
    else if (strchr ("=!<>", c))
        return ph_pattern_fail_ (p, at, "a condition needs a field name before it, e.g. w1=ERROR");
    else if (c != ',' && c != ']')
        return ph_pattern_fail_ (p, at,
                                 "expected a field name (a letter or '_', then letters, digits, "
                                 "'_'), '...' or ','");
    set->n++;
    return 0;
}

/*  [FIELD, ...] at p->pos (on the '[') into set, and nothing after it. */
static int s_fields (ph_pattern_parser_t *p, ph_pattern_fieldset_t *set)
{
    size_t open = p->pos++;
    for (;;) {
        ph_pattern_skip_ (p);
        int rc = s_field (p, set, open);
        if (rc)
            return rc;
        ph_pattern_skip_ (p);
        if (p->pos >= p->len)
            return ph_pattern_fail_ (p, open,
                                     "unclosed '[': a space-delimited pattern ends with ']'");
        char c = p->text[p->pos++];
        if (c == ']')
            break;
        if (c != ',')
            return ph_pattern_fail_ (p, p->pos - 1, "expected ',' or ']' after a field");
    }
    ph_pattern_skip_ (p);
    if (p->pos < p->len)
        return ph_pattern_fail_ (p, p->pos, "unexpected text after the closing ']'");
    return 0;
}

int ph_pattern_fields_parse_ (ph_pattern_parser_t *p, ph_pattern_fieldset_t **out)
{
    ph_pattern_fieldset_t *set = ph_pattern_alloc_ (p->pattern, sizeof *set);
    s_field_t *work = calloc (PH_PATTERN_FIELDS_MAX, sizeof *work);
    if (!set || !work) {
        free (work);
        return ph_pattern_oom_ (p);
    }
    set->f = work;
    int rc = s_fields (p, set);
    set->f = NULL;
    if (rc == 0 && !(set->f = ph_pattern_keep_ (p->pattern, work, set->n * sizeof *work)))
        rc = ph_pattern_oom_ (p);
    free (work);
    if (rc == 0)
        *out = set;
    return rc;
}

/* --------------------------------------------------------------- the event */

static bool s_space (char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*  The closing quote of the "..." at i, \" skipped; NULL when none. */
static const char *s_quote_close (const char *m, size_t len, size_t i)
{
    for (size_t j = i + 1; j < len; j++) {
        if (m[j] == '\\')
            j++;
        else if (m[j] == '"')
            return m + j;
    }
    return NULL;
}

static int s_push (ph_pattern_event_t *ev, ph_pattern_span_t sp)
{
    if (ev->n_fields == ev->cap_fields) {
        size_t cap = ev->cap_fields ? ev->cap_fields * 2 : S_FIELDS_MIN_CAP;
        ph_pattern_span_t *f = realloc (ev->fields, cap * sizeof *f);
        if (!f)
            return PH_ENOMEM;
        ev->fields = f;
        ev->cap_fields = cap;
    }
    ev->fields[ev->n_fields++] = sp;
    return 0;
}

/*  Splits the event into fields, once: runs of spaces and tabs separate
 *  them, "..." (with \" inside) and [...] are one field each. */
static int s_split (ph_pattern_event_t *ev)
{
    const char *m = ev->msg;
    size_t i = 0, len = ev->len;
    if (ev->split)
        return 0;
    ev->n_fields = 0;
    for (;;) {
        while (i < len && s_space (m[i]))
            i++;
        if (i >= len)
            break;
        ph_pattern_span_t sp = {.start = i};
        const char *close = m[i] == '"'   ? s_quote_close (m, len, i)
                            : m[i] == '[' ? memchr (m + i + 1, ']', len - i - 1)
                                          : NULL;
        if (close) {
            sp.value = m + i + 1;
            sp.len = (size_t)(close - sp.value);
            i = (size_t)(close - m) + 1;
        } else {
            sp.value = m + i;
            while (i < len && !s_space (m[i]))
                i++;
            sp.len = (size_t)(m + i - sp.value);
        }
        if (s_push (ev, sp) != 0)
            return PH_ENOMEM;
    }
    ev->split = true;
    return 0;
}

/* ---------------------------------------------------------------- matching */

static bool s_field_ok (const s_field_t *f, const char *v, size_t len)
{
    bool group = true; /* the current run of && tests */
    for (size_t k = 0; k < f->n_tests; k++) {
        if (k > 0 && f->or_before[k]) {
            if (group)
                return true;
            group = true;
        }
        if (group && !ph_pattern_test_eval_ (&f->tests[k], v, len, false, 0))
            group = false;
    }
    return group;
}

/*  The value of the last pattern field when there is no ellipsis: the
 *  last event field, or the rest of the line from it. */
static const char *s_rest (const ph_pattern_fieldset_t *set, const ph_pattern_event_t *ev,
                           size_t *len)
{
    const ph_pattern_span_t *last = &ev->fields[set->n - 1];
    if (ev->n_fields == set->n) {
        *len = last->len;
        return last->value;
    }
    size_t end = ev->len;
    while (end > last->start && s_space (ev->msg[end - 1]))
        end--;
    *len = end - last->start;
    return ev->msg + last->start;
}

static bool s_match_fixed (const ph_pattern_fieldset_t *set, const ph_pattern_event_t *ev)
{
    size_t len;
    if (ev->n_fields < set->n)
        return false;
    for (size_t k = 0; k + 1 < set->n; k++)
        if (!s_field_ok (&set->f[k], ev->fields[k].value, ev->fields[k].len))
            return false;
    const char *v = s_rest (set, ev, &len);
    return s_field_ok (&set->f[set->n - 1], v, len);
}

static bool s_match_ellipsis (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev)
{
    size_t m = ev->n_fields, n = set->n, i = 0, j = 0, star = 0, mark = 0;
    bool has_star = false;
    if (ev->cap_assign < m) {
        int16_t *a = realloc (ev->assign, m * sizeof *a);
        if (!a)
            return false;
        ev->assign = a;
        ev->cap_assign = m;
    }
    while (j < m) {
        const s_field_t *f = i < n ? &set->f[i] : NULL;
        if (f && !f->ellipsis && s_field_ok (f, ev->fields[j].value, ev->fields[j].len)) {
            ev->assign[j++] = (int16_t)i++;
        } else if (f && f->ellipsis) {
            has_star = true;
            star = i++;
            mark = j;
        } else if (has_star) {
            ev->assign[mark++] = S_TAKEN_BY_ELLIPSIS; /* the ellipsis takes one more */
            j = mark;
            i = star + 1;
        } else
            return false;
    }
    while (i < n && set->f[i].ellipsis)
        i++;
    return i == n;
}

bool ph_pattern_fields_match_ (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev)
{
    if (s_split (ev) != 0)
        return false;
    return set->ellipsis ? s_match_ellipsis (set, ev) : s_match_fixed (set, ev);
}

/* ------------------------------------------------------ values and fields */

/*  The pattern field named name[0..len), or -1. */
static int s_find (const ph_pattern_fieldset_t *set, const char *name, size_t len)
{
    for (size_t k = 0; k < set->n; k++)
        if (set->f[k].name && set->f[k].name_len == len && memcmp (set->f[k].name, name, len) == 0)
            return (int)k;
    return -1;
}

/*  "$3" → 3; 0 when expr is not $ and 1..9 digits (or is $0). */
static size_t s_position (const char *expr)
{
    size_t n = 0, i = 1;
    for (; expr[i] >= '0' && expr[i] <= '9' && i <= S_POSITION_DIGITS; i++)
        n = n * 10 + (size_t)(expr[i] - '0');
    return (i > 1 && expr[i] == 0) ? n : 0;
}

int ph_pattern_fields_check_value_ (const ph_pattern_fieldset_t *set, const char *expr, char *err,
                                    size_t errlen)
{
    size_t pos = s_position (expr);
    if (pos && (set->ellipsis || pos <= set->n))
        return 0;
    if (!pos && s_find (set, expr + 1, strlen (expr + 1)) >= 0)
        return 0;
    if (err && errlen) {
        if (pos)
            snprintf (err, errlen, "metric value '%s': the pattern has only %zu fields", expr,
                      set->n);
        else
            snprintf (err, errlen,
                      "metric value '%.*s': no field of that name in the pattern; use $name of a "
                      "named field or $N for the N-th field",
                      PH_PATTERN_FIELD_NAME_MAX, expr);
    }
    return PH_EINVAL;
}

/*  The event field that expr names, after a successful match. */
static int s_lookup (const ph_pattern_fieldset_t *set, const ph_pattern_event_t *ev,
                     const char *expr, const char **v, size_t *len)
{
    size_t pos = s_position (expr), j;
    int k = pos ? -1 : s_find (set, expr + 1, strlen (expr + 1));
    if (!pos && k < 0)
        return PH_EINVAL;
    if (!set->ellipsis) {
        j = pos ? pos - 1 : (size_t)k;
        if (j + 1 == set->n) {
            *v = s_rest (set, ev, len);
            return 0;
        }
        if (j >= set->n)
            return PH_ENOENT;
    } else if (pos)
        j = pos - 1;
    else
        for (j = 0; j < ev->n_fields && ev->assign[j] != k; j++)
            ;
    if (j >= ev->n_fields)
        return PH_ENOENT;
    *v = ev->fields[j].value;
    *len = ev->fields[j].len;
    return 0;
}

int ph_pattern_fields_value_ (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev,
                              const char *expr, double *out)
{
    const char *v;
    size_t len;
    if (!ph_pattern_fields_match_ (set, ev))
        return PH_ENOENT;
    int rc = s_lookup (set, ev, expr, &v, &len);
    if (rc)
        return rc;
    return ph_pattern_number_ (v, len, out) ? 0 : PH_EINVAL;
}

static void s_field_name (char *buf, size_t size, const s_field_t *f, size_t position)
{
    if (f && f->name)
        snprintf (buf, size, "$%.*s", (int)f->name_len, f->name);
    else
        snprintf (buf, size, "$%zu", position);
}

void ph_pattern_fields_each_ (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev,
                              void (*fn) (const char *name, const char *value, size_t len,
                                          void *arg),
                              void *arg)
{
    char name[PH_PATTERN_FIELD_NAME_MAX];
    size_t len = 0;
    if (!ph_pattern_fields_match_ (set, ev))
        return;
    if (!set->ellipsis) {
        for (size_t k = 0; k < set->n; k++) {
            const char *v = k + 1 == set->n ? s_rest (set, ev, &len) : ev->fields[k].value;
            if (k + 1 < set->n)
                len = ev->fields[k].len;
            s_field_name (name, sizeof name, &set->f[k], k + 1);
            fn (name, v, len, arg);
        }
        return;
    }
    for (size_t j = 0; j < ev->n_fields; j++) {
        int k = ev->assign[j];
        s_field_name (name, sizeof name, k >= 0 ? &set->f[k] : NULL, j + 1);
        fn (name, ev->fields[j].value, ev->fields[j].len, arg);
    }
}
