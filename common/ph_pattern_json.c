/*  ph_pattern_json: JSON filter patterns, { $.a.b[0] = "x" && ... } (see
 *  ph_pattern.h). The pattern compiles into a small tree of && / || nodes
 *  over conditions, each a selector (a list of steps) and a test; the event
 *  is parsed with jansson once, by the event object, and each condition
 *  walks its steps down from the root with no allocation.
 *
 *  Semantics worth a note (the unit test has a row for each):
 *  - a selector must reach a string or a number for a comparison to hold;
 *    an array, object, boolean or null satisfies neither = nor != (AWS: "the
 *    filter pattern won't match the log format");
 *  - a bare number compares numerically with a JSON number, or with a JSON
 *    string whose whole text is a number; any other value fails every
 *    numeric test, != included;
 *  - a string value (quoted or bare, * wildcards) compares with a JSON
 *    string, or with a JSON number written the shortest way ("404", "2.5");
 *  - a wildcard step ([*] or .*) selects every element or member; the
 *    condition holds when it holds for any of them, and NOT EXISTS when none
 *    is selected.
 */
#define PH_PATTERN_PRIVATE
#include "ph_pattern.h"
#include "ph_errors.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_INDEX_DIGITS_MAX 9  /* [123456789] */
#define S_NUMBER_TEXT      32 /* "%.17g" of any double */

typedef enum {
    S_STEP_NAME,
    S_STEP_INDEX,
    S_STEP_WILD,
} s_step_kind_t;

typedef struct {
    s_step_kind_t kind;
    const char *name;
    size_t len;
    size_t index;
} s_step_t;

typedef enum {
    S_NODE_AND,
    S_NODE_OR,
    S_NODE_COND,
} s_node_kind_t;

typedef enum {
    S_COND_TEST,
    S_COND_NULL,
    S_COND_TRUE,
    S_COND_FALSE,
    S_COND_NOT_EXISTS,
} s_cond_kind_t;

typedef struct {
    s_node_kind_t kind;
    int left, right; /* AND / OR */
    s_cond_kind_t cond;
    s_step_t *steps;
    size_t n_steps;
    ph_pattern_test_t test;
} s_node_t;

struct ph_pattern_json {
    s_node_t *nodes;
    size_t n_nodes;
    size_t n_conds;
    int root;
};

/*  A selector error: where and what. */
typedef struct {
    size_t at;
    const char *why;
} s_sel_err_t;

/* --------------------------------------------------------------- selectors */

static bool s_name_char (char c)
{
    return isalnum ((unsigned char)c) || c == '-' || c == '_';
}

static bool s_sel_fail (s_sel_err_t *e, size_t at, const char *why)
{
    e->at = at;
    e->why = why;
    return false;
}

/*  [0], [*], ['name'] or ["name"] at *i (on the '['). */
static bool s_bracket (const char *t, size_t len, size_t *i, s_step_t *st, s_sel_err_t *e)
{
    size_t open = (*i)++, j;
    while (*i < len && t[*i] == ' ')
        (*i)++;
    if (*i < len && isdigit ((unsigned char)t[*i])) {
        st->kind = S_STEP_INDEX;
        for (j = *i; j < len && isdigit ((unsigned char)t[j]); j++)
            if (j - *i >= S_INDEX_DIGITS_MAX)
                return s_sel_fail (e, *i, "array index too large");
            else
                st->index = st->index * 10 + (size_t)(t[j] - '0');
        *i = j;
    } else if (*i < len && t[*i] == '*') {
        st->kind = S_STEP_WILD;
        (*i)++;
    } else if (*i < len && (t[*i] == '\'' || t[*i] == '"')) {
        const char *q = memchr (t + *i + 1, t[*i], len - *i - 1);
        if (!q)
            return s_sel_fail (e, *i, "unclosed quote in a ['name'] step");
        st->kind = S_STEP_NAME;
        st->name = t + *i + 1;
        st->len = (size_t)(q - st->name);
        *i = (size_t)(q - t) + 1;
    } else
        return s_sel_fail (e, *i, "expected an index, '*' or a quoted name inside '[...]'");
    while (*i < len && t[*i] == ' ')
        (*i)++;
    if (*i >= len || t[*i] != ']')
        return s_sel_fail (e, open, "unclosed '[' in a selector");
    (*i)++;
    return true;
}

/*  The selector at *pos (on its '$') into steps[0..*n); *wild counts its
 *  wildcard steps. Stops at the first character that cannot continue it. */
static bool s_selector (const char *t, size_t len, size_t *pos, s_step_t *steps, size_t *n,
                        size_t *wild, s_sel_err_t *e)
{
    size_t i = *pos + 1;
    *n = *wild = 0;
    if (i >= len || t[i] != '.')
        return s_sel_fail (e, *pos, "a selector starts with '$.', e.g. $.user.name");
    while (i < len && (t[i] == '.' || t[i] == '[')) {
        s_step_t *st = &steps[*n];
        size_t at = i;
        if (*n == PH_PATTERN_SELECTOR_STEPS)
            return s_sel_fail (e, at, "too many steps in one selector");
        memset (st, 0, sizeof *st);
        if (t[i] == '.' && i + 1 < len && t[i + 1] == '[')
            i++; /* $.['cluster.name'] */
        if (t[i] == '[') {
            if (!s_bracket (t, len, &i, st, e))
                return false;
        } else if (i + 1 < len && t[i + 1] == '*') {
            st->kind = S_STEP_WILD;
            i += 2;
        } else {
            st->kind = S_STEP_NAME;
            st->name = t + ++i;
            while (i < len && s_name_char (t[i]))
                i++;
            st->len = (size_t)(t + i - st->name);
            if (st->len == 0)
                return s_sel_fail (e, at,
                                   "expected a property name after '.' (letters, digits, - and _; "
                                   "['any.name'] for others)");
        }
        if (st->kind == S_STEP_WILD && ++*wild > PH_PATTERN_SELECTOR_WILD)
            return s_sel_fail (e, at, "at most one wildcard step in a selector (AWS's quota)");
        (*n)++;
    }
    *pos = i;
    return true;
}

/* ----------------------------------------------------------------- parsing */

static int s_or (ph_pattern_parser_t *p, ph_pattern_json_t *js, int depth, int *out);

/*  The length of the word (letters) at p->pos. */
static size_t s_word (const ph_pattern_parser_t *p)
{
    size_t n = 0;
    while (p->pos + n < p->len && isalpha ((unsigned char)p->text[p->pos + n]))
        n++;
    return n;
}

static bool s_is_word (const ph_pattern_parser_t *p, const char *word)
{
    size_t n = s_word (p);
    return n == strlen (word) && strncasecmp (p->text + p->pos, word, n) == 0;
}

/*  After a selector: IS NULL / IS TRUE / IS FALSE / NOT EXISTS / OP VALUE. */
static int s_predicate (ph_pattern_parser_t *p, s_node_t *node)
{
    ph_pattern_skip_ (p);
    size_t at = p->pos;
    if (s_is_word (p, "IS")) {
        p->pos += 2;
        ph_pattern_skip_ (p);
        static const struct {
            const char *word;
            s_cond_kind_t cond;
        } words[] = {{"NULL", S_COND_NULL}, {"TRUE", S_COND_TRUE}, {"FALSE", S_COND_FALSE}};
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (s_is_word (p, words[i].word)) {
                node->cond = words[i].cond;
                p->pos += strlen (words[i].word);
                return 0;
            }
        if (s_is_word (p, "NOT"))
            return ph_pattern_fail_ (p, at,
                                     "IS NOT is not supported (as in AWS); use NOT EXISTS, != or "
                                     "IS FALSE");
        return ph_pattern_fail_ (p, p->pos, "expected NULL, TRUE or FALSE after IS");
    }
    if (s_is_word (p, "NOT")) {
        p->pos += 3;
        ph_pattern_skip_ (p);
        if (!s_is_word (p, "EXISTS"))
            return ph_pattern_fail_ (p, p->pos, "expected EXISTS after NOT");
        p->pos += 6;
        node->cond = S_COND_NOT_EXISTS;
        return 0;
    }
    if (s_is_word (p, "EXISTS"))
        return ph_pattern_fail_ (p, at,
                                 "EXISTS is not supported (as in AWS); use NOT EXISTS, or "
                                 "$.field = * for a string or number that is there");
    node->cond = S_COND_TEST;
    return ph_pattern_test_parse_ (p, &node->test);
}

static int s_new_node (ph_pattern_parser_t *p, ph_pattern_json_t *js, size_t at, int *out)
{
    if (js->n_nodes == 2 * PH_PATTERN_TESTS_MAX)
        return ph_pattern_fail_ (p, at, "too many conditions: at most %d", PH_PATTERN_TESTS_MAX);
    *out = (int)js->n_nodes++;
    return 0;
}

/*  One condition at p->pos (on its '$'). */
static int s_condition (ph_pattern_parser_t *p, ph_pattern_json_t *js, int *out)
{
    s_step_t steps[PH_PATTERN_SELECTOR_STEPS];
    size_t n, wild, at = p->pos;
    s_sel_err_t e;
    int rc;
    if (++js->n_conds > PH_PATTERN_TESTS_MAX)
        return ph_pattern_fail_ (p, at, "too many conditions: at most %d", PH_PATTERN_TESTS_MAX);
    if (!s_selector (p->text, p->len, &p->pos, steps, &n, &wild, &e))
        return ph_pattern_fail_ (p, e.at, "%s", e.why);
    if ((p->wildcards += (int)wild) > PH_PATTERN_WILDCARDS_MAX)
        return ph_pattern_fail_ (p, at, "at most %d wildcard steps in one pattern (AWS's quota)",
                                 PH_PATTERN_WILDCARDS_MAX);
    if ((rc = s_new_node (p, js, at, out)) != 0)
        return rc;
    s_node_t *node = &js->nodes[*out];
    node->kind = S_NODE_COND;
    node->n_steps = n;
    node->steps = ph_pattern_alloc_ (p->pattern, n * sizeof *steps);
    if (!node->steps)
        return ph_pattern_oom_ (p);
    memcpy (node->steps, steps, n * sizeof *steps);
    return s_predicate (p, node);
}

static int s_primary (ph_pattern_parser_t *p, ph_pattern_json_t *js, int depth, int *out)
{
    ph_pattern_skip_ (p);
    size_t at = p->pos;
    if (at < p->len && p->text[at] == '(') {
        if (depth >= PH_PATTERN_DEPTH_MAX)
            return ph_pattern_fail_ (p, at, "parentheses nested too deep: at most %d",
                                     PH_PATTERN_DEPTH_MAX);
        p->pos++;
        int rc = s_or (p, js, depth + 1, out);
        if (rc)
            return rc;
        ph_pattern_skip_ (p);
        if (p->pos >= p->len || p->text[p->pos] != ')')
            return ph_pattern_fail_ (p, p->pos, "expected ')' to close a '('");
        p->pos++;
        return 0;
    }
    if (at < p->len && p->text[at] == '$')
        return s_condition (p, js, out);
    if (at >= p->len)
        return ph_pattern_fail_ (p, at, "unclosed '{': expected a condition and '}'");
    return ph_pattern_fail_ (p, at, "expected a condition such as $.field = value, or '('");
}

/*  A chain of `sub` joined by op ("&&" or "||") into left-deep nodes. */
static int s_chain (ph_pattern_parser_t *p, ph_pattern_json_t *js, int depth, int *out,
                    const char *op, s_node_kind_t kind,
                    int (*sub) (ph_pattern_parser_t *, ph_pattern_json_t *, int, int *))
{
    int rc = sub (p, js, depth, out), right = 0, node = 0;
    while (rc == 0) {
        ph_pattern_skip_ (p);
        size_t at = p->pos;
        if (p->len - at < 2 || memcmp (p->text + at, op, 2) != 0)
            break;
        p->pos += 2;
        if ((rc = sub (p, js, depth, &right)) != 0 || (rc = s_new_node (p, js, at, &node)) != 0)
            break;
        js->nodes[node].kind = kind;
        js->nodes[node].left = *out;
        js->nodes[node].right = right;
        *out = node;
    }
    return rc;
}

static int s_and (ph_pattern_parser_t *p, ph_pattern_json_t *js, int depth, int *out)
{
    return s_chain (p, js, depth, out, "&&", S_NODE_AND, s_primary);
}

static int s_or (ph_pattern_parser_t *p, ph_pattern_json_t *js, int depth, int *out)
{
    return s_chain (p, js, depth, out, "||", S_NODE_OR, s_and);
}

/*  { CONDITIONS } at p->pos (on the '{') into js, and nothing after it. */
static int s_braces (ph_pattern_parser_t *p, ph_pattern_json_t *js)
{
    size_t open = p->pos++;
    ph_pattern_skip_ (p);
    if (p->pos < p->len && p->text[p->pos] == '}')
        return ph_pattern_fail_ (
            p, open, "empty JSON pattern: write a condition, e.g. { $.level = \"error\" }");
    int rc = s_or (p, js, 0, &js->root);
    if (rc)
        return rc;
    ph_pattern_skip_ (p);
    if (p->pos >= p->len)
        return ph_pattern_fail_ (p, p->pos, "unclosed '{': expected '}' at the end");
    if (p->text[p->pos] != '}')
        return ph_pattern_fail_ (p, p->pos, "expected '&&', '||' or '}'");
    p->pos++;
    ph_pattern_skip_ (p);
    if (p->pos < p->len)
        return ph_pattern_fail_ (p, p->pos, "unexpected text after the closing '}'");
    return 0;
}

int ph_pattern_json_parse_ (ph_pattern_parser_t *p, ph_pattern_json_t **out)
{
    ph_pattern_json_t *js = ph_pattern_alloc_ (p->pattern, sizeof *js);
    s_node_t *work = calloc (2 * PH_PATTERN_TESTS_MAX, sizeof *work);
    if (!js || !work) {
        free (work);
        return ph_pattern_oom_ (p);
    }
    js->nodes = work;
    int rc = s_braces (p, js);
    js->nodes = NULL;
    if (rc == 0 && !(js->nodes = ph_pattern_keep_ (p->pattern, work, js->n_nodes * sizeof *work)))
        rc = ph_pattern_oom_ (p);
    free (work);
    if (rc == 0)
        *out = js;
    return rc;
}

/* ---------------------------------------------------------------- matching */

/*  The shortest text that reads back as v: how the event most likely
 *  wrote it ("404", "2.5"), for string tests on numbers. */
static size_t s_number_text (double v, char *buf, size_t size)
{
    int n = 0;
    /* (no libm: integers are told apart with a cast, safe below 2^53) */
    if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
        return (size_t)snprintf (buf, size, "%.0f", v);
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf (buf, size, "%.*g", prec, v);
        if (strtod (buf, NULL) == v)
            break;
    }
    return (size_t)n;
}

static bool s_leaf (const s_node_t *node, json_t *leaf)
{
    const ph_pattern_test_t *t = &node->test;
    switch (node->cond) {
    case S_COND_NULL:
        return json_is_null (leaf);
    case S_COND_TRUE:
        return json_is_true (leaf);
    case S_COND_FALSE:
        return json_is_false (leaf);
    case S_COND_NOT_EXISTS:
        return false; /* only counted */
    case S_COND_TEST:
        break;
    }
    if (json_is_string (leaf))
        return ph_pattern_test_eval_ (t, json_string_value (leaf), json_string_length (leaf), false,
                                      0);
    if (!json_is_number (leaf))
        return false;
    double v = json_number_value (leaf);
    if (t->kind == PH_PATTERN_VAL_NUMBER || t->kind == PH_PATTERN_VAL_ANY)
        return ph_pattern_test_eval_ (t, NULL, 0, true, v);
    char buf[S_NUMBER_TEXT];
    size_t n = s_number_text (v, buf, sizeof buf);
    return ph_pattern_test_eval_ (t, buf, n, true, v);
}

/*  Walks node's steps from i down from j; true when a selected value
 *  satisfies the condition. *selected counts what the steps reached. */
static bool s_walk (const s_node_t *node, size_t i, json_t *j, size_t *selected)
{
    if (i == node->n_steps) {
        (*selected)++;
        return s_leaf (node, j);
    }
    const s_step_t *st = &node->steps[i];
    json_t *child;
    if (st->kind == S_STEP_NAME) {
        child = json_is_object (j) ? json_object_getn (j, st->name, st->len) : NULL;
        return child && s_walk (node, i + 1, child, selected);
    }
    if (st->kind == S_STEP_INDEX) {
        child = json_is_array (j) ? json_array_get (j, st->index) : NULL;
        return child && s_walk (node, i + 1, child, selected);
    }
    if (json_is_array (j)) {
        size_t k;
        json_array_foreach (j, k, child) if (s_walk (node, i + 1, child, selected)) return true;
    } else if (json_is_object (j)) {
        const char *key;
        json_object_foreach (j, key, child) if (s_walk (node, i + 1, child, selected)) return true;
    }
    return false;
}

static bool s_eval (const ph_pattern_json_t *js, int idx, json_t *root)
{
    const s_node_t *node = &js->nodes[idx];
    size_t selected = 0;
    switch (node->kind) {
    case S_NODE_AND:
        return s_eval (js, node->left, root) && s_eval (js, node->right, root);
    case S_NODE_OR:
        return s_eval (js, node->left, root) || s_eval (js, node->right, root);
    case S_NODE_COND:
        break;
    }
    bool hit = s_walk (node, 0, root, &selected);
    return node->cond == S_COND_NOT_EXISTS ? selected == 0 : hit;
}

bool ph_pattern_json_match_ (const ph_pattern_json_t *js, ph_pattern_event_t *ev)
{
    json_t *root = ph_pattern_event_json_ (ev);
    return root && s_eval (js, js->root, root);
}

/* ----------------------------------------------------------- metric values */

/*  expr as a whole selector without wildcards into steps. */
static bool s_value_selector (const char *expr, s_step_t *steps, size_t *n, s_sel_err_t *e)
{
    size_t len = strlen (expr), pos = 0, wild;
    if (!s_selector (expr, len, &pos, steps, n, &wild, e))
        return false;
    if (wild)
        return s_sel_fail (e, pos, "a metric value selector names one value: no wildcard steps");
    if (pos != len)
        return s_sel_fail (e, pos, "unexpected text after the selector");
    return true;
}

int ph_pattern_json_check_value_ (const char *expr, char *err, size_t errlen)
{
    s_step_t steps[PH_PATTERN_SELECTOR_STEPS];
    size_t n;
    s_sel_err_t e;
    if (s_value_selector (expr, steps, &n, &e))
        return 0;
    if (err && errlen)
        snprintf (err, errlen, "metric value '%s', position %zu: %s", expr, e.at + 1, e.why);
    return PH_EINVAL;
}

int ph_pattern_json_value_ (ph_pattern_event_t *ev, const char *expr, double *out)
{
    s_step_t steps[PH_PATTERN_SELECTOR_STEPS];
    size_t n;
    s_sel_err_t e;
    if (!s_value_selector (expr, steps, &n, &e))
        return PH_EINVAL;
    json_t *j = ph_pattern_event_json_ (ev);
    for (size_t i = 0; j && i < n; i++)
        if (steps[i].kind == S_STEP_NAME)
            j = json_is_object (j) ? json_object_getn (j, steps[i].name, steps[i].len) : NULL;
        else
            j = json_is_array (j) ? json_array_get (j, steps[i].index) : NULL;
    if (!j)
        return PH_ENOENT;
    if (json_is_number (j)) {
        *out = json_number_value (j);
        return 0;
    }
    if (json_is_string (j) &&
        ph_pattern_number_ (json_string_value (j), json_string_length (j), out))
        return 0;
    return PH_EINVAL;
}
