/*  Unit tests of agent/agent_cast.c, through its public API only
 *  (agent_log.h): its internals are free to change. (Restored at 19:05 UTC
 *  after it was overwritten by mistake; the encoder's own tests written by
 *  the perf helper of issue 6 are in test_agent_cast_escape.c.)
 *
 *  Each recording writes into a real transcript of a real shipper
 *  (agent_ship.c) whose spool is a temp dir and which knows no
 *  logshipper, so nothing is sent: ph_cast_end cuts every event into the
 *  spool, and the test reads the spooled batches back (ph_wire_decode) and
 *  checks each event with jansson. What is checked is the contract of
 *  docs/architecture.md "Session logs", not event boundaries:
 *
 *  - the asciicast v2 header (width, height, timestamp, env TERM/SHELL);
 *  - the "o" events, concatenated and JSON-decoded, are the program's
 *    output byte for byte, whatever the chunking: UTF-8 sequences split at
 *    every position, fed a byte at a time, control bytes (NUL included),
 *    quotes and backslashes;
 *  - invalid UTF-8 becomes U+FFFD and nothing else is lost; a sequence cut
 *    off by the end of the session too;
 *  - every event is valid UTF-8 JSON of at most PH_SHIP_EVENT_MAX bytes,
 *    also for long output, long lines and output that escapes 6:1;
 *  - the text stream: one event per line, "\r\n" / "\n" dropped, ANSI
 *    escapes kept, no NUL, a partial last line flushed at the end;
 *  - "r" events; "i" events only with log_input and only for shells;
 *  - commands: {"command"}, {"stdout"}, {"stderr"}, {"command",
 *    "exit_code"};
 *  - t is non-decreasing seconds since the start; nothing after the end;
 *  - ph_cast_json_escape and ph_cast_utf8_complete on their own, against
 *    a reference computed here, over random valid UTF-8.
 */
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_test.h"
#include "ph_util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SID_MAX       64
#define HEADER_SKEW_S 120          /* the header's timestamp vs. our clock */
#define LONG_OUTPUT   (200 * 1024) /* bytes of output in the long-output test */
#define LONG_LINE     (40 * 1024)  /* a line without a newline, longer than an event */
#define ESCAPE_HEAVY  (64 * 1024)  /* bytes that each escape to 6 */
#define RANDOM_ROUNDS 2000         /* random strings for the pure functions */
#define RANDOM_CHARS  24           /* characters per random string */
#define TICK_US       20000        /* a pause the t values must show */
#define TICK_MIN_S    0.015
#define BIG_SPOOL     (1ULL << 40) /* never full in these tests */

static const char s_fffd[] = "\xEF\xBF\xBD";

/* ---- the recorder under test and what it spooled ------------------------ */

typedef struct {
    char *msg;
    size_t len;
} ev_t;

typedef struct {
    ev_t *ev;
    size_t n, cap;
} evlist_t;

typedef struct {
    char sid[SID_MAX];
    evlist_t cast, text;
} rec_t;

static struct {
    char dir[64];
    char spool[96];
    ph_agent_t *agent;
    ph_ship_t *ship;
    int next_sid;
} T;

static void s_evlist_add (evlist_t *l, const char *msg)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->ev = realloc (l->ev, l->cap * sizeof *l->ev);
        assert (l->ev);
    }
    l->ev[l->n].len = strlen (msg);
    l->ev[l->n].msg = strdup (msg);
    assert (l->ev[l->n].msg);
    l->n++;
}

static void s_evlist_free (evlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free (l->ev[i].msg);
    free (l->ev);
    memset (l, 0, sizeof *l);
}

static void s_rec_free (rec_t *r)
{
    s_evlist_free (&r->cast);
    s_evlist_free (&r->text);
}

/*  A recorder on a new transcript; its session id goes to r->sid. */
static ph_cast_t *s_start (rec_t *r, bool interactive, unsigned cols, unsigned rows,
                           const char *command, bool log_input)
{
    memset (r, 0, sizeof *r);
    snprintf (r->sid, sizeof r->sid, "tester-%017d", ++T.next_sid);
    ph_transcript_t *t = ph_ship_transcript_new (T.ship, r->sid, NULL);
    CHECK (t != NULL);
    ph_cast_t *cast = ph_cast_new (t, interactive, cols, rows, command, log_input);
    CHECK (cast != NULL);
    return cast;
}

/*  Appends the events of one spooled batch to r; checks what every batch
 *  must be (its id, its stream, event sizes and UTF-8, time order). */
static void s_take_batch (rec_t *r, uint32_t n, const uint8_t *data, size_t len, uint64_t *last_ts)
{
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX] = "";
    CHECK (ph_wire_decode (data, len, &env, err, sizeof err) == 0);
    if (!env) {
        fprintf (stderr, "batch %u of %s: %s\n", n, r->sid, err);
        return;
    }
    CHECK (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS);
    const Porthole__V1__PutLogEvents *p = env->put_log_events;
    char want[SID_MAX + 16];
    snprintf (want, sizeof want, "%s.%08u", r->sid, n);
    CHECK_STR (p->batch_id, want);
    CHECK_STR (p->log_group, PH_SHIP_GROUP_DEFAULT);
    snprintf (want, sizeof want, "%s%s", r->sid, PH_SHIP_TXT_SUFFIX);
    bool text = strcmp (p->log_stream, want) == 0;
    CHECK (text || strcmp (p->log_stream, r->sid) == 0);
    int which = text ? PH_SHIP_TEXT : PH_SHIP_CAST;
    for (size_t i = 0; i < p->n_events; i++) {
        const char *m = p->events[i]->message;
        CHECK (strlen (m) <= PH_SHIP_EVENT_MAX);
        CHECK (ph_utf8_valid (m, strlen (m)));
        CHECK (p->events[i]->timestamp_ms >= last_ts[which]);
        last_ts[which] = p->events[i]->timestamp_ms;
        s_evlist_add (text ? &r->text : &r->cast, m);
    }
    ph_wire_free (&env);
}

/*  Ends the recording and reads back everything it spooled. */
static void s_finish (rec_t *r, ph_cast_t **cast_p, int exit_code)
{
    ph_cast_end (*cast_p, exit_code);
    ph_cast_destroy (cast_p);
    CHECK (*cast_p == NULL);
    ph_spool_t *spool = ph_spool_new (T.spool, BIG_SPOOL);
    size_t count = 0;
    uint32_t *nums = ph_spool_batches (spool, r->sid, &count);
    uint64_t last_ts[PH_SHIP_STREAMS] = {0, 0};
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        uint8_t *data = ph_spool_read (spool, r->sid, nums[i], &len);
        CHECK (data != NULL);
        if (data)
            s_take_batch (r, nums[i], data, len, last_ts);
        free (data);
    }
    free (nums);
    ph_spool_destroy (&spool);
}

/* ---- reading events ------------------------------------------------------ */

/*  Parses an asciicast event [t, code, data]; data is a heap copy (NULs
 *  kept) the caller frees. Returns false when e is not such an event. */
static bool s_parse_event (const ev_t *e, double *t, char code[8], char **data, size_t *len)
{
    json_error_t jerr;
    json_t *j = json_loadb (e->msg, e->len, JSON_ALLOW_NUL, &jerr);
    bool ok = json_is_array (j) && json_array_size (j) == 3 &&
              json_is_real (json_array_get (j, 0)) && json_is_string (json_array_get (j, 1)) &&
              json_is_string (json_array_get (j, 2));
    if (ok) {
        *t = json_real_value (json_array_get (j, 0));
        snprintf (code, 8, "%s", json_string_value (json_array_get (j, 1)));
        *len = json_string_length (json_array_get (j, 2));
        *data = malloc (*len + 1);
        memcpy (*data, json_string_value (json_array_get (j, 2)), *len + 1);
    }
    json_decref (j);
    return ok;
}

/*  Parses a command event {"key": "value"}; returns the value's heap copy
 *  when the object has key (and, for the last event, exit_code). */
static char *s_command_field (const ev_t *e, const char *key, size_t *len, int *exit_code)
{
    json_error_t jerr;
    json_t *j = json_loadb (e->msg, e->len, JSON_ALLOW_NUL, &jerr);
    json_t *v = json_is_object (j) ? json_object_get (j, key) : NULL;
    char *out = NULL;
    if (json_is_string (v)) {
        *len = json_string_length (v);
        out = malloc (*len + 1);
        memcpy (out, json_string_value (v), *len + 1);
        json_t *code = json_object_get (j, "exit_code");
        if (exit_code)
            *exit_code = json_is_integer (code) ? (int)json_integer_value (code) : -1;
    }
    json_decref (j);
    return out;
}

/*  The data of every asciicast event with code, concatenated (heap, NUL
 *  terminated; *len bytes); *count events. Checks every event after the
 *  header parses and that t never goes back. */
static char *s_concat (const rec_t *r, const char *code, size_t *len, size_t *count)
{
    zchunk_t *buf = zchunk_new (NULL, 1024);
    double last_t = 0;
    *count = 0;
    for (size_t i = 1; i < r->cast.n; i++) {
        double t;
        char c[8], *data;
        size_t n;
        bool ok = s_parse_event (&r->cast.ev[i], &t, c, &data, &n);
        CHECK (ok);
        if (!ok)
            continue;
        CHECK (t >= last_t);
        last_t = t;
        if (strcmp (c, code) == 0) {
            zchunk_extend (buf, data, n);
            (*count)++;
        }
        free (data);
    }
    *len = zchunk_size (buf);
    char *out = malloc (*len + 1);
    memcpy (out, zchunk_data (buf), *len);
    out[*len] = 0;
    zchunk_destroy (&buf);
    return out;
}

/*  Checks that the "o" data of r is exactly want (len bytes). */
static void s_expect_output (const rec_t *r, const char *want, size_t len)
{
    size_t got_len, count;
    char *got = s_concat (r, "o", &got_len, &count);
    bool same = got_len == len && memcmp (got, want, len) == 0;
    CHECK (same);
    if (!same)
        fprintf (stderr, "  %s: \"o\" data is %zu bytes, want %zu\n", r->sid, got_len, len);
    free (got);
}

/*  Checks that the text events of r are exactly the lines given. */
static void s_expect_text (const rec_t *r, const char *const *lines, size_t n)
{
    CHECK (r->text.n == n);
    for (size_t i = 0; i < n && i < r->text.n; i++)
        CHECK_STR (r->text.ev[i].msg, lines[i]);
}

/*  s with every run of U+FFFD collapsed to one (heap). The number of
 *  replacement characters for a bad sequence is not part of the contract;
 *  that there is one and nothing valid is lost, is. */
static char *s_collapse_fffd (const char *s, size_t len)
{
    char *out = malloc (len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (i + 3 <= len && memcmp (s + i, s_fffd, 3) == 0) {
            memcpy (out + o, s_fffd, 3);
            o += 3;
            while (i + 3 <= len && memcmp (s + i, s_fffd, 3) == 0)
                i += 3;
        } else
            out[o++] = s[i++];
    }
    out[o] = 0;
    return out;
}

/* ---- asciicast ----------------------------------------------------------- */

static void test_header (void)
{
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 132, 43, NULL, false);
    s_finish (&r, &cast, 0);
    CHECK (r.cast.n == 1); /* no output: the header alone */
    CHECK (r.text.n == 0);
    json_error_t jerr;
    json_t *h = r.cast.n ? json_loadb (r.cast.ev[0].msg, r.cast.ev[0].len, 0, &jerr) : NULL;
    CHECK (json_is_object (h));
    CHECK (json_integer_value (json_object_get (h, "version")) == 2);
    CHECK (json_integer_value (json_object_get (h, "width")) == 132);
    CHECK (json_integer_value (json_object_get (h, "height")) == 43);
    long long ts = json_integer_value (json_object_get (h, "timestamp"));
    long long now = (long long)time (NULL);
    CHECK (ts > now - HEADER_SKEW_S && ts <= now + 1);
    json_t *env = json_object_get (h, "env");
    CHECK_STR (json_string_value (json_object_get (env, "TERM")), "xterm-256color");
    CHECK (json_string_value (json_object_get (env, "SHELL")) != NULL);
    json_decref (h);
    s_rec_free (&r);
}

static void test_output_and_lines (void)
{
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
    const char *chunks[] = {"hel", "lo\r\nwor", "ld\r\n", "\r\n", "no newline\nthen ", "partial"};
    zchunk_t *all = zchunk_new (NULL, 128);
    for (size_t i = 0; i < sizeof chunks / sizeof *chunks; i++) {
        ph_cast_output (cast, false, (const uint8_t *)chunks[i], strlen (chunks[i]));
        zchunk_extend (all, chunks[i], strlen (chunks[i]));
    }
    ph_cast_output (cast, false, (const uint8_t *)"ignored", 0); /* empty read */
    s_finish (&r, &cast, 0);
    s_expect_output (&r, (const char *)zchunk_data (all), zchunk_size (all));
    const char *lines[] = {"hello", "world", "", "no newline", "then partial"};
    s_expect_text (&r, lines, 5);
    zchunk_destroy (&all);
    s_rec_free (&r);
}

/*  Text with 1-, 2-, 3- and 4-byte sequences, split at every position into
 *  two reads, and fed one byte per read: the "o" data and the text line
 *  are the original bytes, with no replacement character. */
static void test_utf8_split_across_reads (void)
{
    const char s[] = "a\xC3\xA9"                  /* é */
                     "\xE2\x82\xAC"               /* € */
                     "\xF0\x9F\x98\x80"           /* 😀 */
                     "\xE6\x97\xA5\xE6\x9C\xAC"   /* 日本 */
                     "\xC2\xA0z\xF4\x8F\xBF\xBF"; /* U+00A0 z U+10FFFF */
    size_t len = strlen (s);
    const char *line[] = {s};
    int failures = ph_test_failed;
    for (size_t cut = 0; cut <= len; cut++) {
        rec_t r;
        ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
        ph_cast_output (cast, false, (const uint8_t *)s, cut);
        ph_cast_output (cast, false, (const uint8_t *)s + cut, len - cut);
        s_finish (&r, &cast, 0);
        s_expect_output (&r, s, len);
        s_expect_text (&r, line, 1);
        s_rec_free (&r);
        if (ph_test_failed != failures) {
            fprintf (stderr, "  (UTF-8 split at byte %zu)\n", cut);
            break;
        }
    }
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
    for (size_t i = 0; i < len; i++)
        ph_cast_output (cast, false, (const uint8_t *)s + i, 1);
    ph_cast_output (cast, false, (const uint8_t *)"\r\n", 2);
    s_finish (&r, &cast, 0);
    char with_nl[sizeof s + 2];
    snprintf (with_nl, sizeof with_nl, "%s\r\n", s);
    s_expect_output (&r, with_nl, len + 2);
    s_expect_text (&r, line, 1);
    s_rec_free (&r);
}

/*  Every C0 control byte, DEL, quote and backslash survive the JSON
 *  escaping; the raw events hold no control byte; the text line keeps
 *  ANSI escapes and a mid-line CR, drops the line end, and has no NUL. */
static void test_control_bytes (void)
{
    uint8_t all[40];
    size_t n = 0;
    for (int c = 0; c < 0x20; c++)
        all[n++] = (uint8_t)c;
    all[n++] = 0x7F;
    all[n++] = '"';
    all[n++] = '\\';
    all[n++] = '/';
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
    ph_cast_output (cast, false, all, n);
    s_finish (&r, &cast, 0);
    s_expect_output (&r, (const char *)all, n);
    for (size_t i = 0; i < r.cast.n; i++)
        for (size_t k = 0; k < r.cast.ev[i].len; k++)
            if ((uint8_t)r.cast.ev[i].msg[k] < 0x20) {
                CHECK (!"a raw control byte in an asciicast event");
                break;
            }
    s_rec_free (&r);

    const char colour[] = "\x1b[31mred\x1b[0m a\rb \x07\r\nnul\0byte\n";
    cast = s_start (&r, true, 80, 24, NULL, false);
    ph_cast_output (cast, false, (const uint8_t *)colour, sizeof colour - 1);
    s_finish (&r, &cast, 0);
    s_expect_output (&r, colour, sizeof colour - 1);
    CHECK (r.text.n == 2);
    if (r.text.n == 2) {
        CHECK_STR (r.text.ev[0].msg, "\x1b[31mred\x1b[0m a\rb \x07");
        /* the text stream holds C strings: the NUL is replaced */
        CHECK (strncmp (r.text.ev[1].msg, "nul", 3) == 0);
        CHECK (r.text.ev[1].len > 7 &&
               strcmp (r.text.ev[1].msg + r.text.ev[1].len - 4, "byte") == 0);
        CHECK (strstr (r.text.ev[1].msg, s_fffd) != NULL);
    }
    s_rec_free (&r);
}

typedef struct {
    const char *in;
    const char *split_at; /* NULL: one read; else the second read starts here */
    const char *want;     /* with runs of U+FFFD collapsed */
} bad_utf8_t;

/*  Invalid UTF-8 becomes U+FFFD, nothing valid is lost, in "o" and text. */
static void test_invalid_utf8 (void)
{
    static const char lone_e2[] = "\xE2"
                                  "A";
    static const char cut_off[] = "x\xF0\x9F\x98";
    const bad_utf8_t cases[] = {
        {"\x80", NULL, "\xEF\xBF\xBD"},                 /* stray continuation */
        {"a\xC0\x80z", NULL, "a\xEF\xBF\xBDz"},         /* overlong NUL */
        {"a\xED\xA0\x80z", NULL, "a\xEF\xBF\xBDz"},     /* surrogate */
        {"a\xF4\x90\x80\x80z", NULL, "a\xEF\xBF\xBDz"}, /* above U+10FFFF */
        {"a\xFF\xFEz", NULL, "a\xEF\xBF\xBDz"},         /* never UTF-8 */
        {"a\xE2"
         "Az",
         NULL,
         "a\xEF\xBF\xBD"
         "Az"}, /* lead byte, then ASCII */
        {lone_e2, lone_e2 + 1,
         "\xEF\xBF\xBD"
         "A"},                                              /* ... across two reads */
        {"\xC3\xA9\xC3", NULL, "\xC3\xA9\xEF\xBF\xBD"},     /* cut off by the session end */
        {cut_off, cut_off + 2, "x\xEF\xBF\xBD"},            /* ... after a split */
        {"\xED\xA0\x80\xED\xB0\x80", NULL, "\xEF\xBF\xBD"}, /* a surrogate pair */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const bad_utf8_t *c = &cases[i];
        size_t len = strlen (c->in);
        size_t first = c->split_at ? (size_t)(c->split_at - c->in) : len;
        rec_t r;
        ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
        ph_cast_output (cast, false, (const uint8_t *)c->in, first);
        ph_cast_output (cast, false, (const uint8_t *)c->in + first, len - first);
        s_finish (&r, &cast, 0);
        size_t got_len, count;
        char *got = s_concat (&r, "o", &got_len, &count);
        char *collapsed = s_collapse_fffd (got, got_len);
        CHECK_STR (collapsed, c->want);
        CHECK (r.text.n == 1);
        char *text = r.text.n ? s_collapse_fffd (r.text.ev[0].msg, r.text.ev[0].len) : NULL;
        CHECK_STR (text, c->want);
        if (strcmp (collapsed, c->want) != 0)
            fprintf (stderr, "  (invalid UTF-8 case %zu)\n", i);
        free (text);
        free (collapsed);
        free (got);
        s_rec_free (&r);
    }
}

/*  Long output in one read, a line longer than an event, and output that
 *  escapes to six times its size: every event within PH_SHIP_EVENT_MAX
 *  (checked as batches are read), nothing lost. */
static void test_long_output (void)
{
    char *big = malloc (LONG_OUTPUT);
    size_t n = 0;
    for (int i = 0; n + 32 < LONG_OUTPUT - LONG_LINE; i++)
        n += (size_t)snprintf (big + n, 32, "%d \xE2\x82\xAC\r\n", i);
    size_t line_start = n;
    for (; n < LONG_OUTPUT - 1; n++)
        big[n] = (char)('a' + n % 26);
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
    ph_cast_output (cast, false, (const uint8_t *)big, n);
    s_finish (&r, &cast, 0);
    s_expect_output (&r, big, n);
    CHECK (r.cast.n > 1 + n / PH_SHIP_EVENT_MAX); /* it was split */
    /* the long last line comes back whole when its pieces are joined */
    zchunk_t *joined = zchunk_new (NULL, LONG_LINE);
    size_t lines = 0;
    for (size_t i = 0; i < r.text.n; i++) {
        if (strchr (r.text.ev[i].msg, ' '))
            lines++;
        else
            zchunk_extend (joined, r.text.ev[i].msg, r.text.ev[i].len);
    }
    CHECK (zchunk_size (joined) == n - line_start);
    CHECK (memcmp (zchunk_data (joined), big + line_start, n - line_start) == 0);
    CHECK (lines > 1000);
    zchunk_destroy (&joined);
    s_rec_free (&r);
    free (big);

    uint8_t *ctl = malloc (ESCAPE_HEAVY);
    memset (ctl, 0x01, ESCAPE_HEAVY);
    cast = s_start (&r, true, 80, 24, NULL, false);
    ph_cast_output (cast, false, ctl, ESCAPE_HEAVY);
    s_finish (&r, &cast, 0);
    s_expect_output (&r, (const char *)ctl, ESCAPE_HEAVY);
    s_rec_free (&r);
    free (ctl);
}

static void test_resize (void)
{
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, false);
    ph_cast_output (cast, false, (const uint8_t *)"a", 1);
    ph_cast_resize (cast, 200, 50);
    ph_cast_output (cast, false, (const uint8_t *)"b\n", 2);
    s_finish (&r, &cast, 0);
    const char *codes[] = {"o", "r", "o"};
    CHECK (r.cast.n == 4);
    for (size_t i = 1; i < r.cast.n && i < 4; i++) {
        double t;
        char c[8], *data = NULL;
        size_t len;
        CHECK (s_parse_event (&r.cast.ev[i], &t, c, &data, &len));
        CHECK_STR (c, codes[i - 1]);
        if (i == 2)
            CHECK_STR (data, "200x50");
        free (data);
    }
    const char *lines[] = {"ab"}; /* a resize is not text */
    s_expect_text (&r, lines, 1);
    s_rec_free (&r);
}

/*  "i" events only when log_input asks, and only for shells; input is
 *  never text; a split sequence in input is carried too. */
static void test_input_only_when_asked (void)
{
    const char typed[] = "secret \xE2\x82\xAC\r";
    for (int ask = 0; ask < 2; ask++) {
        rec_t r;
        ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, ask);
        ph_cast_input (cast, (const uint8_t *)typed, 9); /* ends inside the euro sign */
        ph_cast_input (cast, (const uint8_t *)typed + 9, strlen (typed) - 9);
        ph_cast_output (cast, false, (const uint8_t *)"out\r\n", 5);
        s_finish (&r, &cast, 0);
        size_t len, count;
        char *in = s_concat (&r, "i", &len, &count);
        if (ask)
            CHECK_STR (in, typed);
        else {
            CHECK (count == 0);
            for (size_t i = 0; i < r.cast.n; i++)
                CHECK (strstr (r.cast.ev[i].msg, "secret") == NULL);
        }
        free (in);
        const char *lines[] = {"out"};
        s_expect_text (&r, lines, 1);
        s_rec_free (&r);
    }
    rec_t r; /* a command's stdin is not recorded, even when asked */
    ph_cast_t *cast = s_start (&r, false, 0, 0, "cat", true);
    ph_cast_input (cast, (const uint8_t *)"secret\n", 7);
    s_finish (&r, &cast, 0);
    for (size_t i = 0; i < r.cast.n; i++)
        CHECK (strstr (r.cast.ev[i].msg, "secret") == NULL);
    CHECK (r.text.n == 0);
    s_rec_free (&r);
}

static void test_command (void)
{
    const char cmd[] = "printf '%s\\n' \"a b\"\t# \xC3\xA9\n";
    rec_t r;
    ph_cast_t *cast = s_start (&r, false, 0, 0, cmd, false);
    ph_cast_output (cast, false, (const uint8_t *)"out1\nou", 7);
    ph_cast_output (cast, true, (const uint8_t *)"err1\n", 5);
    ph_cast_output (cast, false, (const uint8_t *)"t2\n\xC3", 4);
    ph_cast_output (cast, false, (const uint8_t *)"\xA9", 1);
    ph_cast_resize (cast, 100, 30); /* no "r" for commands */
    s_finish (&r, &cast, 3);
    CHECK (r.cast.n >= 4);
    size_t len;
    int code = 0;
    char *first = r.cast.n ? s_command_field (&r.cast.ev[0], "command", &len, &code) : NULL;
    CHECK_STR (first, cmd);
    CHECK (code == -1); /* no exit code at the start */
    free (first);
    char *last =
        r.cast.n ? s_command_field (&r.cast.ev[r.cast.n - 1], "command", &len, &code) : NULL;
    CHECK_STR (last, cmd);
    CHECK (code == 3);
    free (last);
    zchunk_t *out = zchunk_new (NULL, 64), *err = zchunk_new (NULL, 64);
    for (size_t i = 1; i + 1 < r.cast.n; i++) {
        char *v = s_command_field (&r.cast.ev[i], "stdout", &len, NULL);
        if (v)
            zchunk_extend (out, v, len);
        else if ((v = s_command_field (&r.cast.ev[i], "stderr", &len, NULL)))
            zchunk_extend (err, v, len);
        else
            CHECK (!"a command event that is neither stdout nor stderr");
        free (v);
    }
    zchunk_extend (out, "", 1);
    zchunk_extend (err, "", 1);
    CHECK_STR ((char *)zchunk_data (out), "out1\nout2\n\xC3\xA9");
    CHECK_STR ((char *)zchunk_data (err), "err1\n");
    zchunk_destroy (&out);
    zchunk_destroy (&err);
    const char *lines[] = {"out1", "err1", "out2", "\xC3\xA9"};
    s_expect_text (&r, lines, 4);
    s_rec_free (&r);
}

static void test_timing_and_end (void)
{
    rec_t r;
    ph_cast_t *cast = s_start (&r, true, 80, 24, NULL, true);
    ph_cast_output (cast, false, (const uint8_t *)"1", 1);
    usleep (TICK_US);
    ph_cast_output (cast, false, (const uint8_t *)"2", 1);
    ph_cast_end (cast, 0);
    /* after the end: nothing more is recorded, a second end is harmless */
    ph_cast_output (cast, false, (const uint8_t *)"late\n", 5);
    ph_cast_input (cast, (const uint8_t *)"late", 4);
    ph_cast_resize (cast, 1, 1);
    s_finish (&r, &cast, 0);
    CHECK (r.cast.n == 3);
    double t1 = -1, t2 = -1;
    char c[8], *d1 = NULL, *d2 = NULL;
    size_t len;
    if (r.cast.n == 3) {
        CHECK (s_parse_event (&r.cast.ev[1], &t1, c, &d1, &len));
        CHECK (s_parse_event (&r.cast.ev[2], &t2, c, &d2, &len));
    }
    CHECK (t1 >= 0 && t2 - t1 >= TICK_MIN_S);
    CHECK_STR (d2, "2");
    free (d1);
    free (d2);
    const char *lines[] = {"12"};
    s_expect_text (&r, lines, 1);
    s_rec_free (&r);
    ph_cast_destroy (&cast); /* NULL is fine */
    ph_cast_end (NULL, 0);
}

/* ---- the pure functions -------------------------------------------------- */

static uint32_t s_rand_state = 12345;

static uint32_t s_rand (void)
{
    s_rand_state = s_rand_state * 1103515245u + 12345u;
    return s_rand_state >> 8;
}

/*  Appends the UTF-8 of code point cp; returns its length. */
static size_t s_put_utf8 (uint8_t *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (uint8_t)(0xC0 | cp >> 6);
        p[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (uint8_t)(0xE0 | cp >> 12);
        p[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
        p[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    p[0] = (uint8_t)(0xF0 | cp >> 18);
    p[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
    p[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
    p[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

static uint32_t s_random_code_point (void)
{
    static const uint32_t top[] = {0x80, 0x800, 0x10000, 0x110000};
    uint32_t cp;
    do
        cp = s_rand () % top[s_rand () % 4];
    while (cp >= 0xD800 && cp <= 0xDFFF);
    return cp;
}

/*  For random valid UTF-8: ph_cast_utf8_complete of every prefix is the
 *  last character boundary, and ph_cast_json_escape round-trips through a
 *  JSON parser with no raw control byte in it. */
static void test_pure_functions (void)
{
    int failures = ph_test_failed;
    for (int round = 0; round < RANDOM_ROUNDS && failures == ph_test_failed; round++) {
        uint8_t s[RANDOM_CHARS * 4];
        size_t bounds[RANDOM_CHARS + 1], len = 0, nb = 0;
        bounds[nb++] = 0;
        for (int i = 0; i < RANDOM_CHARS; i++) {
            len += s_put_utf8 (s + len, s_random_code_point ());
            bounds[nb++] = len;
        }
        size_t b = 0;
        for (size_t k = 0; k <= len; k++) {
            while (b + 1 < nb && bounds[b + 1] <= k)
                b++;
            CHECK (ph_cast_utf8_complete (s, k) == bounds[b]);
        }
        zchunk_t *buf = zchunk_new ("\"", 1);
        CHECK (ph_cast_json_escape (buf, s, len) == 0);
        zchunk_extend (buf, "\"", 1);
        for (size_t i = 0; i < zchunk_size (buf); i++)
            CHECK (zchunk_data (buf)[i] >= 0x20);
        json_error_t jerr;
        json_t *j = json_loadb ((const char *)zchunk_data (buf), zchunk_size (buf),
                                JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        CHECK (json_is_string (j) && json_string_length (j) == len &&
               memcmp (json_string_value (j), s, len) == 0);
        json_decref (j);
        zchunk_destroy (&buf);
    }
    /* a tail that cannot become valid is not carried */
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"a\xC3", 2) == 1);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"a\xF0\x9F\x98", 4) == 1);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"a\xC0", 2) == 2);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"a\xF4\x90", 3) == 3);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"a\xED\xA0", 3) == 3);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"a\x80\x80\x80\x80", 5) == 5);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"", 0) == 0);
    zchunk_t *buf = zchunk_new (NULL, 16);
    ph_cast_json_escape (buf,
                         (const uint8_t *)"\xFF"
                                          "a\"\\",
                         4);
    zchunk_extend (buf, "", 1);
    CHECK_STR ((char *)zchunk_data (buf), "\xEF\xBF\xBD"
                                          "a\\\"\\\\");
    zchunk_destroy (&buf);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_agent_cast");
    zsys_init ();
    zsys_handler_set (NULL);
    snprintf (T.dir, sizeof T.dir, "/tmp/ph-test-cast-XXXXXX");
    if (!mkdtemp (T.dir)) {
        CHECK (!"mkdtemp");
        PH_TEST_END ();
    }
    snprintf (T.spool, sizeof T.spool, "%s/%s", T.dir, PH_SPOOL_DIR_NAME);
    T.agent = calloc (1, sizeof *T.agent);
    T.agent->loop = zloop_new ();
    T.ship = ph_ship_new (T.agent, T.dir, BIG_SPOOL);
    CHECK (T.ship != NULL);
    CHECK (!ph_ship_recording (T.ship)); /* no logshipper: nothing leaves the spool */

    test_header ();
    test_output_and_lines ();
    test_utf8_split_across_reads ();
    test_control_bytes ();
    test_invalid_utf8 ();
    test_long_output ();
    test_resize ();
    test_input_only_when_asked ();
    test_command ();
    test_timing_and_end ();
    test_pure_functions ();

    ph_ship_destroy (&T.ship);
    zloop_destroy (&T.agent->loop);
    free (T.agent);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", T.dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", T.dir);
    PH_TEST_END ();
}
