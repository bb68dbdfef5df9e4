/*  ph_pattern: the API, the event object, term patterns, and what the other
 *  parts share: the error text, the arena, numbers, wildcard strings and
 *  the OP VALUE tests of JSON and space-delimited conditions. Regexes are
 *  in ph_pattern_regex.c, JSON patterns in ph_pattern_json.c,
 *  space-delimited ones in ph_pattern_fields.c. See ph_pattern.h.
 *
 *  Speed matters more here than anywhere else in the logshipper: every
 *  event meets every filter of its log group (~100). So a pattern is
 *  compiled once into flat arrays, a term is one memmem() over the line,
 *  and whatever is expensive (splitting the line into fields, parsing its
 *  JSON) is done at most once per event, in the event object, whichever
 *  filter needs it first.
 */
#define PH_PATTERN_PRIVATE
#include "ph_pattern.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_NUMBER_TEXT_MAX 64 /* longer "numbers" are not numbers */
#define S_QUOTE_SHOW_MAX  40 /* bytes of a user's value shown in a message */
#define S_UNQUOTED_VALUE  "_.*+-"
#define S_VALUE_END       " \t})],&|" /* what may follow a bare value */
#define S_FORM_TEXT                                                                                \
    "a quoted value can hold anything (e.g. \"a@b\"), a bare value only letters, digits and "      \
    "_ . * + -"

typedef enum {
    S_TERM_REQUIRED,
    S_TERM_EXCLUDED,
    S_TERM_OPTIONAL,
} s_role_t;

typedef struct {
    const char *text;
    size_t len;
    s_role_t role;
    bool blank; /* empty or only spaces: AWS's " " matches every event */
} s_term_t;

/*  One allocation of the arena: every piece of a compiled pattern is one,
 *  chained, so that destroy and a failed parse free them all alike. */
typedef struct s_alloc {
    struct s_alloc *next;
    max_align_t data[];
} s_alloc_t;

struct _ph_pattern_t {
    ph_pattern_kind_t kind;
    s_alloc_t *allocs;
    s_term_t *terms;
    size_t n_terms;
    bool has_required; /* a required or excluded term: ?terms are ignored */
    const ph_pattern_rx_t *rx;
    ph_pattern_json_t *json;
    ph_pattern_fieldset_t *fields;
};

/* ------------------------------------------------------------ shared bits */

void *ph_pattern_alloc_ (ph_pattern_t *self, size_t size)
{
    s_alloc_t *a = calloc (1, sizeof *a + size);
    if (!a)
        return NULL;
    a->next = self->allocs;
    self->allocs = a;
    return a->data;
}

void *ph_pattern_keep_ (ph_pattern_t *self, const void *src, size_t size)
{
    void *dst = ph_pattern_alloc_ (self, size);
    if (dst && size)
        memcpy (dst, src, size);
    return dst;
}

/*  1-based character (not byte) position of byte offset at. */
static size_t s_char_position (const char *text, size_t at)
{
    size_t n = 1;
    for (size_t i = 0; i < at; i++)
        if (((unsigned char)text[i] & 0xC0) != 0x80)
            n++;
    return n;
}

int ph_pattern_fail_ (ph_pattern_parser_t *p, size_t at, const char *fmt, ...)
{
    if (!p->err || p->errlen == 0)
        return PH_EINVAL;
    int n = snprintf (p->err, p->errlen, "position %zu: ", s_char_position (p->text, at));
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start (ap, fmt);
        vsnprintf (p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end (ap);
    }
    /* one line of text, whatever character of the pattern it quotes */
    for (char *c = p->err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = '?';
    return PH_EINVAL;
}

int ph_pattern_oom_ (ph_pattern_parser_t *p)
{
    if (p->err && p->errlen)
        snprintf (p->err, p->errlen, "out of memory");
    return PH_ENOMEM;
}

void ph_pattern_skip_ (ph_pattern_parser_t *p)
{
    while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t'))
        p->pos++;
}

static size_t s_digits (const char *t, size_t n, size_t i)
{
    while (i < n && t[i] >= '0' && t[i] <= '9')
        i++;
    return i;
}

bool ph_pattern_number_ (const char *text, size_t len, double *out)
{
    size_t i = 0, digits;
    if (len == 0 || len >= S_NUMBER_TEXT_MAX)
        return false;
    if (text[i] == '+' || text[i] == '-')
        i++;
    size_t j = s_digits (text, len, i);
    digits = j - i;
    i = j;
    if (i < len && text[i] == '.') {
        j = s_digits (text, len, i + 1);
        digits += j - i - 1;
        i = j;
    }
    if (digits == 0)
        return false;
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        if (i < len && (text[i] == '+' || text[i] == '-'))
            i++;
        j = s_digits (text, len, i);
        if (j == i)
            return false;
        i = j;
    }
    if (i != len)
        return false;
    char buf[S_NUMBER_TEXT_MAX];
    memcpy (buf, text, len);
    buf[len] = 0;
    double v = strtod (buf, NULL);
    if (!isfinite (v))
        return false;
    *out = v;
    return true;
}

/*  Literal pieces between the * of a glob, found left to right: with only
 *  `*` as a wildcard the leftmost place of each piece is always a right
 *  choice, so this never backtracks. */
static bool s_glob_match (const ph_pattern_glob_t *g, const char *s, size_t len)
{
    size_t i = 0, pos = 0, last = g->n, end = len;
    if (g->n == 0)
        return g->star_start || len == 0;
    if (!g->star_start) {
        if (g->lens[0] > len || memcmp (s, g->segs[0], g->lens[0]) != 0)
            return false;
        pos = g->lens[0];
        i = 1;
    }
    if (!g->star_end) {
        if (i >= g->n)
            return pos == len;
        last = g->n - 1;
        if (g->lens[last] > len - pos ||
            memcmp (s + len - g->lens[last], g->segs[last], g->lens[last]) != 0)
            return false;
        end = len - g->lens[last];
    }
    for (; i < last; i++) {
        const char *f = memmem (s + pos, end - pos, g->segs[i], g->lens[i]);
        if (!f)
            return false;
        pos = (size_t)(f - s) + g->lens[i];
    }
    return true;
}

/*  Builds g from src[0..n): unescaped * are wildcards; with escapes, \" \\
 *  and \* stand for the character and any other \ is kept as it is. */
static int s_glob_build (ph_pattern_parser_t *p, const char *src, size_t n, bool escapes,
                         ph_pattern_glob_t *g)
{
    char *buf = ph_pattern_alloc_ (p->pattern, n + 1);
    g->segs = ph_pattern_alloc_ (p->pattern, (n / 2 + 1) * sizeof *g->segs);
    g->lens = ph_pattern_alloc_ (p->pattern, (n / 2 + 1) * sizeof *g->lens);
    if (!buf || !g->segs || !g->lens)
        return ph_pattern_oom_ (p);
    size_t o = 0, seg = 0;
    bool star_last = false;
    for (size_t i = 0; i < n; i++) {
        char c = src[i];
        if (escapes && c == '\\' && i + 1 < n &&
            (src[i + 1] == '"' || src[i + 1] == '\\' || src[i + 1] == '*')) {
            buf[o++] = src[++i]; /* a literal, \* included */
            star_last = false;
            continue;
        }
        if (c == '*') {
            if (o > seg) {
                g->segs[g->n] = buf + seg;
                g->lens[g->n++] = o - seg;
            } else if (g->n == 0)
                g->star_start = true;
            seg = o;
            star_last = true;
            continue;
        }
        buf[o++] = c;
        star_last = false;
    }
    if (o > seg) {
        g->segs[g->n] = buf + seg;
        g->lens[g->n++] = o - seg;
    }
    g->star_end = star_last;
    return 0;
}

/*  The end of the quoted text that starts at p->pos (on the opening "):
 *  the offset of the closing ", \x pairs skipped. */
static int s_quoted_end (ph_pattern_parser_t *p, size_t *close)
{
    size_t i = p->pos + 1;
    while (i < p->len && p->text[i] != '"')
        i += (p->text[i] == '\\' && i + 1 < p->len) ? 2 : 1;
    if (i >= p->len)
        return ph_pattern_fail_ (p, p->pos, "unclosed '\"': a quoted text ends with '\"'");
    *close = i;
    return 0;
}

/* ------------------------------------------------------------------ tests */

static bool s_unquoted_char (char c)
{
    return isalnum ((unsigned char)c) || (c && strchr (S_UNQUOTED_VALUE, c));
}

/*  The operator at p->pos; its text in *name. Returns 0 or PH_EINVAL. */
static int s_operator (ph_pattern_parser_t *p, ph_pattern_op_t *op, const char **name)
{
    static const struct {
        const char *text;
        ph_pattern_op_t op;
    } ops[] = {
        {"!=", PH_PATTERN_OP_NE}, {"<=", PH_PATTERN_OP_LE}, {">=", PH_PATTERN_OP_GE},
        {"=", PH_PATTERN_OP_EQ},  {"<", PH_PATTERN_OP_LT},  {">", PH_PATTERN_OP_GT},
    };
    const char *t = p->text + p->pos;
    if (strncmp (t, "==", 2) == 0)
        return ph_pattern_fail_ (p, p->pos, "'==' is not an operator; use '='");
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        size_t n = strlen (ops[i].text);
        if (strncmp (t, ops[i].text, n) == 0) {
            *op = ops[i].op;
            *name = ops[i].text;
            p->pos += n;
            return 0;
        }
    }
    return ph_pattern_fail_ (p, p->pos, "expected an operator: =, !=, <, <=, > or >=");
}

static int s_value_bad_char (ph_pattern_parser_t *p, const char *opname)
{
    unsigned char c = (unsigned char)p->text[p->pos];
    if (p->pos >= p->len || c == '}' || c == ']' || c == ')' || c == ',' || c == '&' || c == '|')
        return ph_pattern_fail_ (p, p->pos, "expected a value after '%s'", opname);
    if (c >= 0x80)
        return ph_pattern_fail_ (p, p->pos, "a value with non-ASCII text must be quoted; %s",
                                 S_FORM_TEXT);
    return ph_pattern_fail_ (p, p->pos, "'%c' cannot start or be in a bare value; %s", c,
                             S_FORM_TEXT);
}

int ph_pattern_test_parse_ (ph_pattern_parser_t *p, ph_pattern_test_t *t)
{
    const char *opname = "=";
    ph_pattern_skip_ (p);
    int rc = s_operator (p, &t->op, &opname);
    if (rc)
        return rc;
    ph_pattern_skip_ (p);
    size_t at = p->pos, close = 0;
    char c = at < p->len ? p->text[at] : 0;
    if (c == '"') {
        if ((rc = s_quoted_end (p, &close)) != 0 ||
            (rc = s_glob_build (p, p->text + at + 1, close - at - 1, true, &t->glob)) != 0)
            return rc;
        t->kind = PH_PATTERN_VAL_GLOB;
        p->pos = close + 1;
    } else if (c == '%') {
        if ((rc = ph_pattern_rx_parse_ (p, &t->rx)) != 0)
            return rc;
        t->kind = PH_PATTERN_VAL_REGEX;
    } else {
        while (p->pos < p->len && s_unquoted_char (p->text[p->pos]))
            p->pos++;
        if (p->pos == at || (p->pos < p->len && !strchr (S_VALUE_END, p->text[p->pos])))
            return s_value_bad_char (p, opname);
        size_t n = p->pos - at;
        if (!memchr (p->text + at, '*', n) && ph_pattern_number_ (p->text + at, n, &t->number))
            t->kind = PH_PATTERN_VAL_NUMBER;
        else if ((rc = s_glob_build (p, p->text + at, n, false, &t->glob)) != 0)
            return rc;
        else
            t->kind = PH_PATTERN_VAL_GLOB;
    }
    if (t->kind == PH_PATTERN_VAL_GLOB && t->glob.n == 0 && t->glob.star_start)
        t->kind = PH_PATTERN_VAL_ANY;
    if (t->op != PH_PATTERN_OP_EQ && t->op != PH_PATTERN_OP_NE && t->kind != PH_PATTERN_VAL_NUMBER)
        return ph_pattern_fail_ (
            p, at, "'%s' compares numbers; %.*s is not a number", opname,
            (int)(p->pos - at > S_QUOTE_SHOW_MAX ? S_QUOTE_SHOW_MAX : p->pos - at), p->text + at);
    return 0;
}

static bool s_compare (ph_pattern_op_t op, double a, double b)
{
    switch (op) {
    case PH_PATTERN_OP_EQ:
        return a == b;
    case PH_PATTERN_OP_NE:
        return a != b;
    case PH_PATTERN_OP_LT:
        return a < b;
    case PH_PATTERN_OP_LE:
        return a <= b;
    case PH_PATTERN_OP_GT:
        return a > b;
    case PH_PATTERN_OP_GE:
        return a >= b;
    }
    return false;
}

bool ph_pattern_test_eval_ (const ph_pattern_test_t *t, const char *text, size_t len, bool has_num,
                            double num)
{
    bool m;
    switch (t->kind) {
    case PH_PATTERN_VAL_ANY:
        return t->op == PH_PATTERN_OP_EQ;
    case PH_PATTERN_VAL_NUMBER:
        if (!has_num && !(text && ph_pattern_number_ (text, len, &num)))
            return false; /* not a number: no numeric test holds, not even != */
        return s_compare (t->op, num, t->number);
    case PH_PATTERN_VAL_GLOB:
        m = text && s_glob_match (&t->glob, text, len);
        break;
    case PH_PATTERN_VAL_REGEX:
        m = text && ph_pattern_rx_search_ (t->rx, text, len);
        break;
    default:
        return false;
    }
    return t->op == PH_PATTERN_OP_EQ ? m : !m;
}

/* ------------------------------------------------------------------ terms */

static bool s_term_char (char c)
{
    return isalnum ((unsigned char)c) || c == '_';
}

static bool s_blank (const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t')
            return false;
    return true;
}

static int s_term_bad_char (ph_pattern_parser_t *p)
{
    unsigned char c = (unsigned char)p->text[p->pos];
    if (c >= 0x80)
        return ph_pattern_fail_ (p, p->pos,
                                 "a term with non-ASCII text must be quoted: \"...\"; unquoted "
                                 "terms hold only letters, digits and '_'");
    return ph_pattern_fail_ (p, p->pos,
                             "'%c' cannot be in an unquoted term: put the term in double quotes "
                             "(\"...\"); unquoted terms hold only letters, digits and '_'",
                             c);
}

/*  One term (after its ? or -) at p->pos into t. */
static int s_term (ph_pattern_parser_t *p, s_term_t *t)
{
    size_t at = p->pos, close = 0;
    int rc;
    if (p->text[at] == '"') {
        if ((rc = s_quoted_end (p, &close)) != 0)
            return rc;
        char *buf = ph_pattern_alloc_ (p->pattern, close - at);
        if (!buf)
            return ph_pattern_oom_ (p);
        size_t o = 0;
        for (size_t i = at + 1; i < close; i++) {
            if (p->text[i] == '\\' && (p->text[i + 1] == '"' || p->text[i + 1] == '\\'))
                i++;
            buf[o++] = p->text[i];
        }
        t->text = buf;
        t->len = o;
        t->blank = s_blank (buf, o);
        p->pos = close + 1;
    } else {
        while (p->pos < p->len && s_term_char (p->text[p->pos]))
            p->pos++;
        if (p->pos == at)
            return s_term_bad_char (p);
        t->text = p->text + at;
        t->len = p->pos - at;
    }
    if (p->pos < p->len && p->text[p->pos] != ' ' && p->text[p->pos] != '\t') {
        if (p->text[at] == '"')
            return ph_pattern_fail_ (p, p->pos, "expected a space after the closing '\"'");
        return s_term_bad_char (p);
    }
    return 0;
}

static int s_terms (ph_pattern_parser_t *p)
{
    ph_pattern_t *self = p->pattern;
    for (ph_pattern_skip_ (p); p->pos < p->len; ph_pattern_skip_ (p)) {
        size_t at = p->pos;
        s_term_t *t = &self->terms[self->n_terms];
        if (self->n_terms == PH_PATTERN_TERMS_MAX)
            return ph_pattern_fail_ (p, at, "too many terms: at most %d", PH_PATTERN_TERMS_MAX);
        t->role = S_TERM_REQUIRED;
        if (p->text[at] == '?' || p->text[at] == '-') {
            t->role = p->text[at] == '?' ? S_TERM_OPTIONAL : S_TERM_EXCLUDED;
            p->pos++;
            if (t->role == S_TERM_EXCLUDED)
                ph_pattern_skip_ (p); /* AWS's own example writes "ERROR" - "Exiting" */
            if (p->pos >= p->len || p->text[p->pos] == ' ' || p->text[p->pos] == '\t' ||
                p->text[p->pos] == '?' || p->text[p->pos] == '-')
                return ph_pattern_fail_ (p, at, "expected a term or \"phrase\" right after '%c'",
                                         p->text[at]);
        }
        int rc = s_term (p, t);
        if (rc)
            return rc;
        if (t->role != S_TERM_OPTIONAL)
            self->has_required = true;
        self->n_terms++;
    }
    return 0;
}

static int s_parse_terms (ph_pattern_parser_t *p)
{
    ph_pattern_t *self = p->pattern;
    s_term_t *work = calloc (PH_PATTERN_TERMS_MAX, sizeof *work);
    if (!work)
        return ph_pattern_oom_ (p);
    self->terms = work;
    int rc = s_terms (p);
    self->terms = NULL;
    if (rc == 0 && !(self->terms = ph_pattern_keep_ (self, work, self->n_terms * sizeof *work)))
        rc = ph_pattern_oom_ (p);
    free (work);
    self->kind = PH_PATTERN_TERMS;
    return rc;
}

static bool s_contains (const char *msg, size_t len, const s_term_t *t)
{
    return t->blank || (t->len <= len && memmem (msg, len, t->text, t->len) != NULL);
}

static bool s_match_terms (const ph_pattern_t *self, const char *msg, size_t len)
{
    if (!self->has_required) {
        for (size_t i = 0; i < self->n_terms; i++)
            if (s_contains (msg, len, &self->terms[i]))
                return true;
        return self->n_terms == 0;
    }
    for (size_t i = 0; i < self->n_terms; i++) {
        const s_term_t *t = &self->terms[i];
        if (t->role == S_TERM_REQUIRED && !s_contains (msg, len, t))
            return false;
        if (t->role == S_TERM_EXCLUDED && s_contains (msg, len, t))
            return false;
    }
    return true;
}

/* -------------------------------------------------------------- compiling */

/*  Byte offset of the first byte that is not UTF-8, or len. */
static size_t s_utf8_bad (const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : 4;
        if (n > len - i || !ph_utf8_valid (s + i, n))
            return i;
        i += n;
    }
    return len;
}

static int s_parse (ph_pattern_parser_t *p)
{
    size_t bad = s_utf8_bad (p->text, p->len);
    if (bad < p->len)
        return ph_pattern_fail_ (p, bad, "not UTF-8 text");
    size_t chars = 0;
    for (size_t i = 0; i < p->len; i++)
        if (((unsigned char)p->text[i] & 0xC0) != 0x80 && ++chars > PH_PATTERN_LEN_MAX)
            return ph_pattern_fail_ (p, i, "a filter pattern is at most %d characters",
                                     PH_PATTERN_LEN_MAX);
    ph_pattern_skip_ (p);
    if (p->pos >= p->len) {
        p->pattern->kind = PH_PATTERN_ALL;
        return 0;
    }
    int rc;
    switch (p->text[p->pos]) {
    case '{':
        p->pattern->kind = PH_PATTERN_JSON;
        return ph_pattern_json_parse_ (p, &p->pattern->json);
    case '[':
        p->pattern->kind = PH_PATTERN_FIELDS;
        return ph_pattern_fields_parse_ (p, &p->pattern->fields);
    case '%':
        if ((rc = ph_pattern_rx_parse_ (p, &p->pattern->rx)) != 0)
            return rc;
        ph_pattern_skip_ (p);
        if (p->pos < p->len)
            return ph_pattern_fail_ (p, p->pos,
                                     "a %%regex%% pattern stands alone: nothing may follow its "
                                     "closing '%%'");
        p->pattern->kind = PH_PATTERN_REGEX;
        return 0;
    default:
        return s_parse_terms (p);
    }
}

ph_pattern_t *ph_pattern_new (const char *text, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!text)
        text = "";
    size_t len = strlen (text);
    ph_pattern_t *self = calloc (1, sizeof *self);
    /* the compiled pattern points into its own copy of the text */
    char *copy = self ? ph_pattern_keep_ (self, text, len + 1) : NULL;
    ph_pattern_parser_t p = {
        .text = copy, .len = len, .err = err, .errlen = errlen, .pattern = self};
    if (!copy) {
        ph_pattern_oom_ (&p);
        ph_pattern_destroy (&self);
        return NULL;
    }
    if (s_parse (&p) != 0)
        ph_pattern_destroy (&self);
    return self;
}

void ph_pattern_destroy (ph_pattern_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_alloc_t *a = (*self_p)->allocs;
    while (a) {
        s_alloc_t *next = a->next;
        free (a);
        a = next;
    }
    free (*self_p);
    *self_p = NULL;
}

ph_pattern_kind_t ph_pattern_kind (const ph_pattern_t *self)
{
    return self->kind;
}

/* ----------------------------------------------------------------- events */

ph_pattern_event_t *ph_pattern_event_new (void)
{
    ph_pattern_event_t *ev = calloc (1, sizeof *ev);
    if (ev)
        ev->msg = "";
    return ev;
}

void ph_pattern_event_set (ph_pattern_event_t *ev, const char *msg, size_t len)
{
    ev->msg = msg ? msg : "";
    ev->len = msg ? len : 0;
    if (ev->json)
        json_decref (ev->json);
    ev->json = NULL;
    ev->json_state = 0;
    ev->split = false;
    ev->n_fields = 0;
}

void ph_pattern_event_destroy (ph_pattern_event_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_pattern_event_t *ev = *self_p;
    if (ev->json)
        json_decref (ev->json);
    free (ev->fields);
    free (ev->assign);
    free (ev);
    *self_p = NULL;
}

json_t *ph_pattern_event_json_ (ph_pattern_event_t *ev)
{
    if (ev->json_state == 0) {
        size_t i = 0;
        while (i < ev->len && isspace ((unsigned char)ev->msg[i]))
            i++;
        ev->json_state = -1;
        /* a line that cannot be an object is not handed to the parser */
        if (i < ev->len && ev->msg[i] == '{') {
            ev->json =
                json_loadb (ev->msg, ev->len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, NULL);
            if (json_is_object (ev->json))
                ev->json_state = 1;
            else if (ev->json) {
                json_decref (ev->json);
                ev->json = NULL;
            }
        }
    }
    return ev->json_state == 1 ? ev->json : NULL;
}

/* -------------------------------------------------------------- the rest */

bool ph_pattern_match (const ph_pattern_t *self, ph_pattern_event_t *ev)
{
    switch (self->kind) {
    case PH_PATTERN_ALL:
        return true;
    case PH_PATTERN_TERMS:
        return s_match_terms (self, ev->msg, ev->len);
    case PH_PATTERN_REGEX:
        return ph_pattern_rx_search_ (self->rx, ev->msg, ev->len);
    case PH_PATTERN_JSON:
        return ph_pattern_json_match_ (self->json, ev);
    case PH_PATTERN_FIELDS:
        return ph_pattern_fields_match_ (self->fields, ev);
    }
    return false;
}

int ph_pattern_check_value (const ph_pattern_t *self, const char *expr, char *err, size_t errlen)
{
    double v;
    if (err && errlen)
        err[0] = 0;
    if (expr && ph_pattern_number_ (expr, strlen (expr), &v))
        return 0;
    if (expr && expr[0] == '$' && self->kind == PH_PATTERN_JSON)
        return ph_pattern_json_check_value_ (expr, err, errlen);
    if (expr && expr[0] == '$' && self->kind == PH_PATTERN_FIELDS)
        return ph_pattern_fields_check_value_ (self->fields, expr, err, errlen);
    if (err && errlen)
        snprintf (err, errlen, "metric value '%.*s' is not a number%s", S_QUOTE_SHOW_MAX,
                  expr ? expr : "",
                  self->kind == PH_PATTERN_JSON     ? " or a $.selector of the JSON event"
                  : self->kind == PH_PATTERN_FIELDS ? " or a $field of the pattern ($name or $3)"
                                                    : " (only JSON and space-delimited patterns "
                                                      "can take a value from the event)");
    return PH_EINVAL;
}

int ph_pattern_value (const ph_pattern_t *self, ph_pattern_event_t *ev, const char *expr,
                      double *out)
{
    if (!expr)
        return PH_EINVAL;
    if (ph_pattern_number_ (expr, strlen (expr), out))
        return 0;
    if (expr[0] == '$' && self->kind == PH_PATTERN_JSON)
        return ph_pattern_json_value_ (ev, expr, out);
    if (expr[0] == '$' && self->kind == PH_PATTERN_FIELDS)
        return ph_pattern_fields_value_ (self->fields, ev, expr, out);
    return PH_EINVAL;
}

void ph_pattern_fields (const ph_pattern_t *self, ph_pattern_event_t *ev,
                        void (*fn) (const char *name, const char *value, size_t len, void *arg),
                        void *arg)
{
    if (self->kind == PH_PATTERN_FIELDS)
        ph_pattern_fields_each_ (self->fields, ev, fn, arg);
}
