/*  ph_pattern: the filter-pattern language of Amazon CloudWatch Logs, for
 *  metric filters (issue 4). A pattern is compiled once; each log event (one
 *  line of text) is wrapped in a reusable event object that splits it into
 *  fields and parses its JSON at most once, lazily, however many patterns
 *  look at it. The logshipper evaluates every metric filter of a log group
 *  against every event it appends; `porthole logs test-metric-filter` shows
 *  the same matches and extracted values.
 *
 *  Pure code: no I/O, no globals, never blocks. A compiled pattern is
 *  read-only and may be shared by threads; an event object belongs to one
 *  thread at a time.
 *
 *  The language (AWS's semantics; the unit test has one row per rule):
 *  - ""  and  " "  match every event.
 *  - Terms: case-sensitive substrings, all required: `ERROR Exception`.
 *    Unquoted terms hold only letters, digits and '_'; anything else goes
 *    in a "quoted phrase" (\" and \\ are escapes; a blank phrase matches
 *    everything). `-term` excludes, `?term` is optional: a pattern of only
 *    ?terms matches when any of them is present, and when ?terms are mixed
 *    with required or excluded terms they are ignored (as AWS documents).
 *  - %regex%: a pattern of its own, or a value in a JSON or space-delimited
 *    condition (at most 2 of those per pattern). AWS's restricted dialect:
 *    literals (letters, digits, space and : _ # = @ / ; , -), . [] [^]
 *    ranges, * + ? {m,n} {m,} {,n} {m}, top-level |, ^ at the start and $ at
 *    the end of an alternative, \d \D \s \S \w \W \xhh and \ before a
 *    symbol. No ( ), no multi-byte characters. Unanchored search.
 *  - JSON: { $.a.b[0] = "x" }, = != < <= > >=, && || ( ), IS NULL, IS TRUE,
 *    IS FALSE, NOT EXISTS, [*] and .* wildcard steps (one per selector,
 *    three per pattern), $.['dotted.key']. A string value (quoted or bare)
 *    may hold * wildcards; a bare number compares numerically. A selector
 *    that reaches an array or object never matches a comparison (neither =
 *    nor !=); an event that is not a JSON object never matches.
 *  - Space-delimited: [ip, user, ..., status=4*, bytes>1000]. Event fields
 *    are separated by spaces and tabs; "..." and [...] are one field each
 *    (the value is the text inside). `...` stands for any number of fields.
 *    Without an ellipsis the last pattern field takes the rest of the line.
 *    A condition may chain tests of its own field with && and ||.
 *  Full details and the departures from AWS: docs/architecture.md.
 */
#ifndef PH_PATTERN_H
#define PH_PATTERN_H

#include <stdbool.h>
#include <stddef.h>

#define PH_PATTERN_LEN_MAX        1024 /* characters of one pattern (AWS's limit) */
#define PH_PATTERN_ERR_MAX        256  /* a buffer this size holds any parse error */
#define PH_PATTERN_TERMS_MAX      64   /* terms and phrases of one pattern */
#define PH_PATTERN_FIELDS_MAX     100  /* fields of one space-delimited pattern */
#define PH_PATTERN_TESTS_MAX      64   /* conditions of one JSON / one field condition */
#define PH_PATTERN_DEPTH_MAX      16   /* nested parentheses in a JSON pattern */
#define PH_PATTERN_REGEX_MAX      2    /* %regex% values in one JSON/space pattern (AWS) */
#define PH_PATTERN_REGEX_LEN_MAX  256  /* bytes between the two % of one regex */
#define PH_PATTERN_REGEX_STATES   256  /* of one regex once {m,n} is expanded */
#define PH_PATTERN_REPEAT_MAX     100  /* m and n of {m,n} */
#define PH_PATTERN_SELECTOR_STEPS 32   /* .name / [i] steps of one JSON selector */
#define PH_PATTERN_SELECTOR_WILD  1    /* wildcard steps in one selector (AWS) */
#define PH_PATTERN_WILDCARDS_MAX  3    /* wildcard steps in one JSON pattern (AWS) */
#define PH_PATTERN_FIELD_NAME_MAX 64   /* bytes of a field name, $ included */

typedef struct _ph_pattern_t ph_pattern_t;
typedef struct _ph_pattern_event_t ph_pattern_event_t;

typedef enum {
    PH_PATTERN_ALL = 0, /* empty: every event */
    PH_PATTERN_TERMS,   /* terms and "phrases" */
    PH_PATTERN_REGEX,   /* one %regex% */
    PH_PATTERN_JSON,    /* { ... } */
    PH_PATTERN_FIELDS,  /* [ ... ] space-delimited */
} ph_pattern_kind_t;

/*  Compiles text (NUL-terminated, UTF-8, at most PH_PATTERN_LEN_MAX
 *  characters). Returns a pattern that the caller destroys, or NULL with
 *  err set to one line that names the 1-based character position and what
 *  was wrong, e.g. "position 14: expected a value after '='" (or "out of
 *  memory"). err may be NULL; PH_PATTERN_ERR_MAX bytes hold any message. */
ph_pattern_t *ph_pattern_new (const char *text, char *err, size_t errlen);

/*  Destroys *self_p (NULL is fine) and sets it to NULL. */
void ph_pattern_destroy (ph_pattern_t **self_p);

/*  Which of the forms above the pattern is. */
ph_pattern_kind_t ph_pattern_kind (const ph_pattern_t *self);

/*  A new, empty event (matches as the empty line); NULL when out of memory. */
ph_pattern_event_t *ph_pattern_event_new (void);

/*  Makes ev stand for the len bytes of msg (need not be NUL-terminated).
 *  ev borrows msg until the next set or destroy; what was split or parsed
 *  for the previous message is dropped, its memory kept for reuse. */
void ph_pattern_event_set (ph_pattern_event_t *ev, const char *msg, size_t len);

/*  Destroys *self_p (NULL is fine) and sets it to NULL. */
void ph_pattern_event_destroy (ph_pattern_event_t **self_p);

/*  True when the event matches. Splits / parses ev on first need (the JSON
 *  parse allocates, once per event; the field array grows to the longest
 *  line seen and is then reused); term, phrase and regex patterns never
 *  allocate. */
bool ph_pattern_match (const ph_pattern_t *self, ph_pattern_event_t *ev);

/*  Checks a metric value expression against the pattern, for when a metric
 *  filter is created: a number ("1", "2.5", "-3e2"); for a JSON pattern a
 *  selector without wildcards ("$.latency", "$.a[0].b"); for a
 *  space-delimited pattern a field name of the pattern ("$bytes") or a
 *  1-based field position ("$3"; at most the number of fields unless the
 *  pattern has an ellipsis). Returns 0, or PH_EINVAL with err set. */
int ph_pattern_check_value (const ph_pattern_t *self, const char *expr, char *err, size_t errlen);

/*  The numeric value of expr (as above) for ev, an event the pattern has
 *  matched: 0 with *out set; PH_ENOENT when the event has no such property
 *  or field (for a space-delimited pattern: also when it does not match,
 *  since the fields are where the match puts them); PH_EINVAL when expr is
 *  not valid for the pattern or the value there is not a number (the
 *  caller then publishes nothing). A number literal is returned as is; a
 *  JSON string that holds a number counts as that number. Allocates only
 *  as ph_pattern_match does. */
int ph_pattern_value (const ph_pattern_t *self, ph_pattern_event_t *ev, const char *expr,
                      double *out);

/*  The extracted fields of a space-delimited pattern for an event that it
 *  matches, in event order, as test-metric-filter's extractedValues:
 *  fn(name, value, len, arg) with name "$status" for a named field and
 *  "$7" (the 1-based position) for the others; value is borrowed from the
 *  event and not NUL-terminated. Nothing for other kinds of pattern or
 *  when the event does not match. */
void ph_pattern_fields (const ph_pattern_t *self, ph_pattern_event_t *ev,
                        void (*fn) (const char *name, const char *value, size_t len, void *arg),
                        void *arg);

#ifdef PH_PATTERN_PRIVATE
/*  Shared by ph_pattern.c (terms, values, events, the API),
 *  ph_pattern_regex.c, ph_pattern_json.c and ph_pattern_fields.c; no file
 *  outside the module defines PH_PATTERN_PRIVATE. */
#include <jansson.h>
#include <stdint.h>

typedef struct ph_pattern_rx ph_pattern_rx_t;
typedef struct ph_pattern_json ph_pattern_json_t;
typedef struct ph_pattern_fieldset ph_pattern_fieldset_t;

/*  The parse of one pattern text: the place, the error buffer, the
 *  pattern being built (its arena) and the quotas counted so far. */
typedef struct {
    const char *text;
    size_t len;
    size_t pos; /* byte offset into text */
    char *err;
    size_t errlen;
    ph_pattern_t *pattern;
    int regexes;
    int wildcards;
} ph_pattern_parser_t;

/*  Text with * wildcards: segs[0..n) literal pieces, a * between each two,
 *  and before the first / after the last when star_start / star_end. */
typedef struct {
    const char **segs;
    size_t *lens;
    size_t n;
    bool star_start;
    bool star_end;
} ph_pattern_glob_t;

typedef enum {
    PH_PATTERN_OP_EQ,
    PH_PATTERN_OP_NE,
    PH_PATTERN_OP_LT,
    PH_PATTERN_OP_LE,
    PH_PATTERN_OP_GT,
    PH_PATTERN_OP_GE,
} ph_pattern_op_t;

typedef enum {
    PH_PATTERN_VAL_NUMBER, /* bare number: numeric comparison */
    PH_PATTERN_VAL_GLOB,   /* string with * wildcards: = and != */
    PH_PATTERN_VAL_REGEX,  /* %regex%: = and != */
    PH_PATTERN_VAL_ANY,    /* a lone *: any string or number */
} ph_pattern_val_t;

/*  One comparison: OP VALUE. */
typedef struct {
    ph_pattern_op_t op;
    ph_pattern_val_t kind;
    double number;
    ph_pattern_glob_t glob;
    const ph_pattern_rx_t *rx;
} ph_pattern_test_t;

/*  One field of an event line: value (inside quotes or brackets) and the
 *  offset where the field starts in the line (for "the rest of the line"). */
typedef struct {
    const char *value;
    size_t len;
    size_t start;
} ph_pattern_span_t;

struct _ph_pattern_event_t {
    const char *msg;
    size_t len;
    int json_state; /* 0 not tried, 1 parsed, -1 not a JSON object */
    json_t *json;
    bool split;
    ph_pattern_span_t *fields;
    size_t n_fields;
    size_t cap_fields;
    int16_t *assign; /* pattern field of each event field, ph_pattern_fields.c */
    size_t cap_assign;
};

/*  Memory that lives as long as the pattern (freed all at once); zeroed.
 *  NULL when out of memory. */
void *ph_pattern_alloc_ (ph_pattern_t *self, size_t size);

/*  A copy of src[0..size) in the pattern's memory (parsers build in a
 *  scratch buffer sized for the limits and keep only what they used). */
void *ph_pattern_keep_ (ph_pattern_t *self, const void *src, size_t size);

/*  Writes "position N: <message>" for byte offset at; returns PH_EINVAL. */
__attribute__ ((format (printf, 3, 4))) int ph_pattern_fail_ (ph_pattern_parser_t *p, size_t at,
                                                              const char *fmt, ...);
/*  PH_ENOMEM with "out of memory" in err. */
int ph_pattern_oom_ (ph_pattern_parser_t *p);

/*  Skips spaces and tabs at p->pos. */
void ph_pattern_skip_ (ph_pattern_parser_t *p);

/*  True when text[0..len) is a whole number: [+-]digits[.digits][e[+-]digits]
 *  (or [+-].digits...), finite; *out is its value. */
bool ph_pattern_number_ (const char *text, size_t len, double *out);

/*  Parses OP VALUE at p->pos (spaces allowed before both) into test; the
 *  caller checks what follows. Returns 0 or PH_EINVAL / PH_ENOMEM. */
int ph_pattern_test_parse_ (ph_pattern_parser_t *p, ph_pattern_test_t *test);

/*  Evaluates test on a value: text[0..len) (may be NULL when only has_num)
 *  and, when has_num, its numeric value (else parsed from text on need). */
bool ph_pattern_test_eval_ (const ph_pattern_test_t *test, const char *text, size_t len,
                            bool has_num, double num);

/*  Parses the %regex% that starts at p->pos (on the first %); leaves
 *  p->pos after the closing %. Counts toward p->regexes. */
int ph_pattern_rx_parse_ (ph_pattern_parser_t *p, const ph_pattern_rx_t **rx);

/*  True when rx matches somewhere in s[0..len). Never allocates. */
bool ph_pattern_rx_search_ (const ph_pattern_rx_t *rx, const char *s, size_t len);

/*  The JSON part: parse at p->pos (on '{'), match, and metric values. */
int ph_pattern_json_parse_ (ph_pattern_parser_t *p, ph_pattern_json_t **json);
bool ph_pattern_json_match_ (const ph_pattern_json_t *json, ph_pattern_event_t *ev);
int ph_pattern_json_check_value_ (const char *expr, char *err, size_t errlen);
int ph_pattern_json_value_ (ph_pattern_event_t *ev, const char *expr, double *out);
/*  The parsed JSON object of ev, or NULL when it is not one. */
json_t *ph_pattern_event_json_ (ph_pattern_event_t *ev);

/*  The space-delimited part: parse at p->pos (on '['), match, values, fields. */
int ph_pattern_fields_parse_ (ph_pattern_parser_t *p, ph_pattern_fieldset_t **set);
bool ph_pattern_fields_match_ (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev);
int ph_pattern_fields_check_value_ (const ph_pattern_fieldset_t *set, const char *expr, char *err,
                                    size_t errlen);
int ph_pattern_fields_value_ (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev,
                              const char *expr, double *out);
void ph_pattern_fields_each_ (const ph_pattern_fieldset_t *set, ph_pattern_event_t *ev,
                              void (*fn) (const char *name, const char *value, size_t len,
                                          void *arg),
                              void *arg);
#endif

#endif
