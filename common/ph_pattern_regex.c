/*  ph_pattern_regex: the %regex% of filter patterns (see ph_pattern.h for
 *  the dialect), compiled and matched here rather than by <regex.h>, for
 *  three reasons: AWS's dialect is not POSIX's (\d \w \s \xhh, no groups,
 *  a fixed set of characters), regexec() wants NUL-terminated text and
 *  allocates on every call, and a dialect without groups is small enough
 *  to match in guaranteed linear time.
 *
 *  Without parentheses a regex is a list of alternatives, each a chain of
 *  character sets with a repeat count. {m,n} is expanded into m ONE states
 *  and n-m OPT states ({m,} into m ONE and a STAR), so an alternative is a
 *  line of at most PH_PATTERN_REGEX_STATES states, i.e. a Thompson NFA
 *  whose states are positions on that line. It is run bit-parallel (the
 *  shift-and of Baeza-Yates and Gonnet, extended to optional and repeated
 *  states as Navarro and Raffinot describe): the set of live positions is
 *  a bit vector of at most five 64-bit words; a byte advances it with one
 *  table lookup, a shift and an OR, and the positions reachable without a
 *  byte (skipping OPT and STAR states) are added in log2(longest run of
 *  skippable states) shift steps. Time is O(text × words) whatever the
 *  regex and the input (a 256 KiB line costs milliseconds, not seconds),
 *  nothing backtracks and nothing is allocated while matching.
 */
#define PH_PATTERN_PRIVATE
#include "ph_pattern.h"
#include "ph_errors.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_LITERALS  ":_#=@/;,- " /* besides letters and digits (AWS's list, and space) */
#define S_OPERATORS "^$?[]{}|\\*+."
#define S_UNBOUNDED UINT32_MAX

typedef enum {
    S_ONE,  /* exactly one byte of the set */
    S_OPT,  /* zero or one */
    S_STAR, /* zero or more */
} s_kind_t;

typedef struct {
    uint8_t set[32]; /* bit per byte value */
    uint8_t kind;
} s_state_t;

#define S_WORDS_MAX  ((PH_PATTERN_REGEX_STATES + 64) / 64) /* positions 0..states */
#define S_SHIFTS_MAX 9 /* closure steps: shifts of 1, 2, ... 256 */

/*  An alternative while it is parsed: its states in s_build_t.states. */
typedef struct {
    uint16_t first;
    uint16_t n;
    bool bol; /* ^ */
    bool eol; /* $ */
} s_range_t;

/*  An alternative compiled: bit i of a position set stands for "states
 *  0..i-1 matched", bit k for the whole alternative. */
typedef struct {
    size_t w;                   /* 64-bit words of a position set */
    size_t k;                   /* states */
    bool bol;                   /* ^ */
    bool eol;                   /* $ */
    int lit;                    /* the byte when the first state is ONE of one byte, else -1 */
    unsigned n_shifts;          /* closure steps needed */
    uint64_t *accept;           /* [byte * w + word]: bit i when state i takes that byte */
    uint64_t star[S_WORDS_MAX]; /* STAR states (stay after a byte) */
    uint64_t pass[S_SHIFTS_MAX][S_WORDS_MAX]; /* bit i: states i..i+2^s-1 all skippable */
    uint64_t init[S_WORDS_MAX];               /* {0} and what it reaches without a byte */
} s_alt_t;

struct ph_pattern_rx {
    s_alt_t *alts;
    size_t n_alts;
};

typedef struct {
    ph_pattern_parser_t *p;
    size_t end; /* offset of the closing % */
    s_state_t states[PH_PATTERN_REGEX_STATES];
    size_t n_states;
    s_range_t alts[PH_PATTERN_REGEX_LEN_MAX / 2 + 1];
    size_t n_alts;
} s_build_t;

static void s_set_add (uint8_t *set, unsigned c)
{
    set[c >> 3] |= (uint8_t)(1u << (c & 7));
}

static bool s_set_has (const uint8_t *set, unsigned c)
{
    return set[c >> 3] & (1u << (c & 7));
}

static void s_set_range (uint8_t *set, unsigned lo, unsigned hi)
{
    for (unsigned c = lo; c <= hi; c++)
        s_set_add (set, c);
}

static void s_set_invert (uint8_t *set)
{
    for (size_t i = 0; i < 32; i++)
        set[i] = (uint8_t)~set[i];
}

static int s_hex (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*  The class of \d \D \s \S \w \W into set; false for another letter. */
static bool s_class_escape (char c, uint8_t *set)
{
    uint8_t tmp[32] = {0};
    switch (tolower ((unsigned char)c)) {
    case 'd':
        s_set_range (tmp, '0', '9');
        break;
    case 's':
        s_set_add (tmp, ' ');
        s_set_range (tmp, '\t', '\r'); /* \t \n \v \f \r */
        break;
    case 'w':
        s_set_range (tmp, '0', '9');
        s_set_range (tmp, 'a', 'z');
        s_set_range (tmp, 'A', 'Z');
        s_set_add (tmp, '_');
        break;
    default:
        return false;
    }
    if (isupper ((unsigned char)c))
        s_set_invert (tmp);
    for (size_t i = 0; i < 32; i++)
        set[i] |= tmp[i];
    return true;
}

/*  The escape at *i (on the backslash): a class into set (*byte = -1) or
 *  one byte (*byte). Advances *i past it. */
static int s_escape (s_build_t *b, size_t *i, uint8_t *set, int *byte)
{
    ph_pattern_parser_t *p = b->p;
    size_t at = *i;
    if (at + 1 >= b->end)
        return ph_pattern_fail_ (p, at, "'\\' at the end of the regex: escape what?");
    char c = p->text[at + 1];
    *byte = -1;
    if (s_class_escape (c, set)) {
        *i = at + 2;
        return 0;
    }
    if (c == 'x') {
        int hi = at + 2 < b->end ? s_hex (p->text[at + 2]) : -1;
        int lo = at + 3 < b->end ? s_hex (p->text[at + 3]) : -1;
        if (hi < 0 || lo < 0)
            return ph_pattern_fail_ (p, at, "\\x needs two hexadecimal digits, e.g. \\x3A");
        *byte = hi * 16 + lo;
        *i = at + 4;
        return 0;
    }
    if ((unsigned char)c < 0x80 && ispunct ((unsigned char)c)) {
        *byte = (unsigned char)c;
        *i = at + 2;
        return 0;
    }
    return ph_pattern_fail_ (p, at,
                             "unsupported escape '\\%.*s' in a regex; supported: \\d \\D \\s \\S "
                             "\\w \\W \\xhh and \\ before a symbol",
                             (unsigned char)c < 0x80 ? 1 : 0, &p->text[at + 1]);
}

/*  A character allowed in the regex at *i as a literal (outside or inside
 *  a class: in_class lets the operators stand for themselves). */
static int s_literal (s_build_t *b, size_t i, bool in_class)
{
    unsigned char c = (unsigned char)b->p->text[i];
    if (isalnum (c) || strchr (S_LITERALS, c) || (in_class && strchr (S_OPERATORS, c)))
        return 0;
    if (c >= 0x80)
        return ph_pattern_fail_ (b->p, i,
                                 "multi-byte characters are not supported in a regex (AWS); "
                                 "use \\xhh for each byte");
    if (c == '(' || c == ')')
        return ph_pattern_fail_ (b->p, i,
                                 "'%c' is not supported in a regex (AWS): no subpatterns; use "
                                 "\\x%02X for the character",
                                 c, c);
    return ph_pattern_fail_ (b->p, i, "'%c' is not allowed in a regex (AWS); use \\x%02X", c, c);
}

/*  One byte of a class at *i: a literal, an escape; a class escape adds to
 *  set and gives *byte = -1. */
static int s_class_item (s_build_t *b, size_t *i, uint8_t *set, int *byte)
{
    if (b->p->text[*i] == '\\')
        return s_escape (b, i, set, byte);
    int rc = s_literal (b, *i, true);
    if (rc)
        return rc;
    *byte = (unsigned char)b->p->text[(*i)++];
    return 0;
}

/*  [...] at *i into set. */
static int s_class (s_build_t *b, size_t *i, uint8_t *set)
{
    ph_pattern_parser_t *p = b->p;
    size_t open = (*i)++;
    bool negate = *i < b->end && p->text[*i] == '^', first = true;
    int rc, lo, hi;
    if (negate)
        (*i)++;
    while (*i < b->end && (first || p->text[*i] != ']')) {
        size_t at = *i;
        first = false;
        if ((rc = s_class_item (b, i, set, &lo)) != 0)
            return rc;
        if (lo < 0 || *i + 1 >= b->end || p->text[*i] != '-' || p->text[*i + 1] == ']') {
            if (lo >= 0)
                s_set_add (set, (unsigned)lo);
            continue;
        }
        (*i)++;
        if ((rc = s_class_item (b, i, set, &hi)) != 0)
            return rc;
        if (hi < 0 || hi < lo)
            return ph_pattern_fail_ (p, at, "bad range in '[...]': the end comes before the start");
        s_set_range (set, (unsigned)lo, (unsigned)hi);
    }
    if (*i >= b->end)
        return ph_pattern_fail_ (p, open, "unclosed '[' in a regex");
    (*i)++;
    if (negate)
        s_set_invert (set);
    return 0;
}

static int s_number (s_build_t *b, size_t *i, uint32_t *v, bool *present)
{
    const char *t = b->p->text;
    *present = false;
    *v = 0;
    while (*i < b->end && t[*i] == ' ')
        (*i)++;
    while (*i < b->end && isdigit ((unsigned char)t[*i])) {
        *present = true;
        if (*v <= PH_PATTERN_REPEAT_MAX)
            *v = *v * 10 + (uint32_t)(t[*i] - '0');
        (*i)++;
    }
    while (*i < b->end && t[*i] == ' ')
        (*i)++;
    return 0;
}

/*  {m,n} {m,} {,n} {m} at *i. */
static int s_braces (s_build_t *b, size_t *i, uint32_t *min, uint32_t *max)
{
    ph_pattern_parser_t *p = b->p;
    size_t open = (*i)++;
    bool has_min, has_max;
    s_number (b, i, min, &has_min);
    *max = *min;
    if (*i < b->end && p->text[*i] == ',') {
        (*i)++;
        s_number (b, i, max, &has_max);
        if (!has_max)
            *max = S_UNBOUNDED;
    } else if (!has_min)
        return ph_pattern_fail_ (p, open, "'{' needs a count: {m,n}, {m,}, {,n} or {m}");
    if (*i >= b->end || p->text[*i] != '}')
        return ph_pattern_fail_ (p, open, "unclosed '{': a repeat count is {m,n}");
    (*i)++;
    if (*min > PH_PATTERN_REPEAT_MAX || (*max != S_UNBOUNDED && *max > PH_PATTERN_REPEAT_MAX))
        return ph_pattern_fail_ (p, open, "a repeat count is at most %d", PH_PATTERN_REPEAT_MAX);
    if (*max < *min)
        return ph_pattern_fail_ (p, open, "in {m,n} m must not be more than n");
    return 0;
}

/*  The repeat after an atom at *i (none: {1,1}). */
static int s_repeat (s_build_t *b, size_t *i, uint32_t *min, uint32_t *max)
{
    *min = *max = 1;
    if (*i >= b->end)
        return 0;
    switch (b->p->text[*i]) {
    case '*':
        *min = 0, *max = S_UNBOUNDED, (*i)++;
        break;
    case '+':
        *max = S_UNBOUNDED, (*i)++;
        break;
    case '?':
        *min = 0, (*i)++;
        break;
    case '{': {
        int rc = s_braces (b, i, min, max);
        if (rc)
            return rc;
        break;
    }
    default:
        return 0;
    }
    if (*i < b->end && strchr ("*+?{", b->p->text[*i]))
        return ph_pattern_fail_ (b->p, *i, "'%c' cannot repeat a repeat", b->p->text[*i]);
    return 0;
}

static int s_emit (s_build_t *b, size_t at, const uint8_t *set, uint32_t min, uint32_t max)
{
    size_t add = min + (max == S_UNBOUNDED ? 1 : max - min);
    if (b->n_states + add > PH_PATTERN_REGEX_STATES)
        return ph_pattern_fail_ (b->p, at, "regex too complex: over %d states once repeats expand",
                                 PH_PATTERN_REGEX_STATES);
    for (size_t k = 0; k < add; k++) {
        s_state_t *s = &b->states[b->n_states++];
        memcpy (s->set, set, sizeof s->set);
        s->kind = k < min ? S_ONE : max == S_UNBOUNDED ? S_STAR : S_OPT;
    }
    return 0;
}

/*  One atom and its repeat at *i. */
static int s_item (s_build_t *b, size_t *i)
{
    ph_pattern_parser_t *p = b->p;
    size_t at = *i;
    uint8_t set[32] = {0};
    uint32_t min, max;
    int rc = 0, byte;
    char c = p->text[at];
    if (c == '.') {
        memset (set, 0xFF, sizeof set);
        (*i)++;
    } else if (c == '[')
        rc = s_class (b, i, set);
    else if (c == '\\') {
        if ((rc = s_escape (b, i, set, &byte)) == 0 && byte >= 0)
            s_set_add (set, (unsigned)byte);
    } else if (strchr ("*+?{", c))
        return ph_pattern_fail_ (p, at, "'%c' has nothing to repeat", c);
    else if (c == ']' || c == '}')
        return ph_pattern_fail_ (p, at, "unexpected '%c'; write \\%c for the character", c, c);
    else if (c == '^')
        return ph_pattern_fail_ (p, at, "'^' only at the start of the regex or after '|'");
    else if ((rc = s_literal (b, at, false)) == 0) {
        s_set_add (set, (unsigned char)c);
        (*i)++;
    }
    if (rc || (rc = s_repeat (b, i, &min, &max)) != 0)
        return rc;
    return s_emit (b, at, set, min, max);
}

/*  One alternative at *i, up to '|' or the end. */
static int s_alternative (s_build_t *b, size_t *i)
{
    ph_pattern_parser_t *p = b->p;
    s_range_t *a = &b->alts[b->n_alts++];
    size_t at = *i;
    a->first = (uint16_t)b->n_states;
    if (*i < b->end && p->text[*i] == '^')
        a->bol = true, (*i)++;
    while (*i < b->end && p->text[*i] != '|') {
        if (p->text[*i] == '$') {
            if (*i + 1 < b->end && p->text[*i + 1] != '|')
                return ph_pattern_fail_ (p, *i, "'$' only at the end of the regex or before '|'");
            a->eol = true;
            (*i)++;
            continue;
        }
        int rc = s_item (b, i);
        if (rc)
            return rc;
    }
    a->n = (uint16_t)(b->n_states - a->first);
    if (a->n == 0 && !a->bol && !a->eol)
        return ph_pattern_fail_ (p, at, "empty alternative in a regex ('||' or '|' at an end)");
    return 0;
}

/* -------------------------------------------------------- bit vectors */

static void s_bit_set (uint64_t *v, size_t i)
{
    v[i / 64] |= (uint64_t)1 << (i % 64);
}

static bool s_bit_has (const uint64_t *v, size_t i)
{
    return (v[i / 64] >> (i % 64)) & 1;
}

/*  dst = src << n over w words (n < 64 w). */
static void s_shl (uint64_t *dst, const uint64_t *src, size_t w, size_t n)
{
    size_t ws = n / 64, bs = n % 64;
    for (size_t i = w; i-- > 0;) {
        uint64_t v = 0;
        if (i >= ws) {
            v = src[i - ws] << bs;
            if (bs && i > ws)
                v |= src[i - ws - 1] >> (64 - bs);
        }
        dst[i] = v;
    }
}

/*  dst = src >> n over w words. */
static void s_shr (uint64_t *dst, const uint64_t *src, size_t w, size_t n)
{
    size_t ws = n / 64, bs = n % 64;
    for (size_t i = 0; i < w; i++) {
        uint64_t v = 0;
        if (i + ws < w) {
            v = src[i + ws] >> bs;
            if (bs && i + ws + 1 < w)
                v |= src[i + ws + 1] << (64 - bs);
        }
        dst[i] = v;
    }
}

/*  Adds to x the positions reachable from it without a byte: from i to
 *  j when states i..j-1 are all skippable. Step s moves by 2^s over runs
 *  that pass[s] says are skippable all along (Kogge-Stone prefix). */
static void s_closure (const s_alt_t *a, uint64_t *x)
{
    uint64_t t[S_WORDS_MAX], sh[S_WORDS_MAX];
    for (unsigned s = 0; s < a->n_shifts; s++) {
        uint64_t any = 0;
        for (size_t i = 0; i < a->w; i++)
            any |= t[i] = x[i] & a->pass[s][i];
        if (!any)
            return; /* pass[s+1] ⊆ pass[s]: nothing moves further either */
        s_shl (sh, t, a->w, (size_t)1 << s);
        for (size_t i = 0; i < a->w; i++)
            x[i] |= sh[i];
    }
}

/*  Compiles the states of range r into the bit tables of a. */
static int s_compile (s_build_t *b, const s_range_t *r, s_alt_t *a)
{
    const s_state_t *st = b->states + r->first;
    size_t longest = 0, run = 0;
    a->k = r->n;
    a->w = (a->k + 1 + 63) / 64;
    a->bol = r->bol;
    a->eol = r->eol;
    a->accept = ph_pattern_alloc_ (b->p->pattern, 256 * a->w * sizeof *a->accept);
    if (!a->accept)
        return ph_pattern_oom_ (b->p);
    for (size_t i = 0; i < a->k; i++) {
        for (unsigned c = 0; c < 256; c++)
            if (s_set_has (st[i].set, c))
                s_bit_set (a->accept + c * a->w, i);
        if (st[i].kind == S_STAR)
            s_bit_set (a->star, i);
        if (st[i].kind != S_ONE) {
            s_bit_set (a->pass[0], i);
            longest = ++run > longest ? run : longest;
        } else
            run = 0;
    }
    for (a->n_shifts = 0; ((size_t)1 << a->n_shifts) <= longest; a->n_shifts++)
        if (a->n_shifts + 1 < S_SHIFTS_MAX) {
            uint64_t sh[S_WORDS_MAX];
            s_shr (sh, a->pass[a->n_shifts], a->w, (size_t)1 << a->n_shifts);
            for (size_t i = 0; i < a->w; i++)
                a->pass[a->n_shifts + 1][i] = a->pass[a->n_shifts][i] & sh[i];
        }
    s_bit_set (a->init, 0);
    s_closure (a, a->init);
    a->lit = -1;
    if (a->k > 0 && st[0].kind == S_ONE) {
        int count = 0, last = -1;
        for (unsigned c = 0; c < 256 && count < 2; c++)
            if (s_set_has (st[0].set, c))
                count++, last = (int)c;
        if (count == 1)
            a->lit = last;
    }
    return 0;
}

static int s_finish (s_build_t *b, const ph_pattern_rx_t **out)
{
    ph_pattern_rx_t *rx = ph_pattern_alloc_ (b->p->pattern, sizeof *rx);
    if (!rx || !(rx->alts = ph_pattern_alloc_ (b->p->pattern, b->n_alts * sizeof *rx->alts)))
        return ph_pattern_oom_ (b->p);
    for (size_t i = 0; i < b->n_alts; i++) {
        int rc = s_compile (b, &b->alts[i], &rx->alts[i]);
        if (rc)
            return rc;
    }
    rx->n_alts = b->n_alts;
    *out = rx;
    return 0;
}

int ph_pattern_rx_parse_ (ph_pattern_parser_t *p, const ph_pattern_rx_t **out)
{
    size_t open = p->pos;
    const char *close = memchr (p->text + open + 1, '%', p->len - open - 1);
    if (!close)
        return ph_pattern_fail_ (p, open, "unclosed '%%': a regex ends with '%%'");
    if (++p->regexes > PH_PATTERN_REGEX_MAX)
        return ph_pattern_fail_ (p, open, "at most %d %%regex%% in one pattern (AWS's quota)",
                                 PH_PATTERN_REGEX_MAX);
    size_t end = (size_t)(close - p->text);
    if (end == open + 1)
        return ph_pattern_fail_ (p, open, "empty regex '%%%%'");
    if (end - open - 1 > PH_PATTERN_REGEX_LEN_MAX)
        return ph_pattern_fail_ (p, open, "a regex is at most %d characters",
                                 PH_PATTERN_REGEX_LEN_MAX);
    s_build_t *b = calloc (1, sizeof *b); /* too big for the stack; freed below */
    if (!b)
        return ph_pattern_oom_ (p);
    b->p = p;
    b->end = end;
    size_t i = open + 1;
    int rc;
    for (;;) {
        if ((rc = s_alternative (b, &i)) != 0)
            goto out_free_build;
        if (i >= end)
            break;
        if (++i >= end) { /* past the | */
            rc = ph_pattern_fail_ (p, i - 1, "empty alternative in a regex ('|' at the end)");
            goto out_free_build;
        }
    }
    p->pos = end + 1;
    rc = s_finish (b, out);
out_free_build:
    free (b);
    return rc;
}

/* --------------------------------------------------------------- matching */

/*  s_alt_search for the usual alternative of at most 63 states: one word. */
static bool s_alt_search1 (const s_alt_t *a, const unsigned char *s, size_t len)
{
    const uint64_t init = a->init[0], star = a->star[0], done = (uint64_t)1 << a->k;
    uint64_t d = init;
    if ((d & done) && (!a->eol || len == 0))
        return true;
    for (size_t i = 0; i < len; i++) {
        if (d == init && a->lit >= 0 && !a->bol) {
            const unsigned char *f = memchr (s + i, a->lit, len - i);
            if (!f)
                return false;
            i = (size_t)(f - s);
        }
        uint64_t m = d & a->accept[s[i]];
        if (!m && a->bol)
            return false;
        d = (m << 1) | (m & star);
        for (unsigned k = 0; k < a->n_shifts; k++) {
            uint64_t t = d & a->pass[k][0];
            if (!t)
                break;
            d |= t << (1u << k);
        }
        if (!a->bol)
            d |= init;
        if ((d & done) && (!a->eol || i + 1 == len))
            return true;
    }
    return false;
}

static bool s_alt_search (const s_alt_t *a, const unsigned char *s, size_t len)
{
    if (a->w == 1)
        return s_alt_search1 (a, s, len);
    uint64_t d[S_WORDS_MAX], m[S_WORDS_MAX];
    size_t w = a->w;
    memcpy (d, a->init, w * sizeof d[0]);
    if (s_bit_has (d, a->k) && (!a->eol || len == 0))
        return true;
    for (size_t i = 0; i < len; i++) {
        if (a->lit >= 0 && !a->bol && memcmp (d, a->init, w * sizeof d[0]) == 0) {
            /* only the start is alive: jump to the next place it can begin */
            const unsigned char *f = memchr (s + i, a->lit, len - i);
            if (!f)
                return false;
            i = (size_t)(f - s);
        }
        const uint64_t *acc = a->accept + (size_t)s[i] * w;
        uint64_t any = 0;
        for (size_t j = 0; j < w; j++)
            any |= m[j] = d[j] & acc[j];
        if (!any && a->bol)
            return false; /* anchored at ^ and nothing alive */
        s_shl (d, m, w, 1);
        for (size_t j = 0; j < w; j++)
            d[j] |= m[j] & a->star[j];
        s_closure (a, d);
        if (!a->bol)
            for (size_t j = 0; j < w; j++)
                d[j] |= a->init[j]; /* a match may also begin after this byte */
        if (s_bit_has (d, a->k) && (!a->eol || i + 1 == len))
            return true;
    }
    return false;
}

bool ph_pattern_rx_search_ (const ph_pattern_rx_t *rx, const char *s, size_t len)
{
    for (size_t i = 0; i < rx->n_alts; i++)
        if (s_alt_search (&rx->alts[i], (const unsigned char *)s, len))
            return true;
    return false;
}
