/*  Unit tests of agent/agent_cast.c (the run-copying encoder of issue 6;
 *  test_agent_cast.c belongs to another engineer): the JSON escape against a reference
 *  that encodes one character at a time (the encoder before it copied runs
 *  of plain bytes), on random byte strings full of escapes, multi-byte
 *  characters and bad bytes; ph_cast_utf8_complete; and whole recordings
 *  through a real transcript (agent_ship.c) into the spool, read back and
 *  parsed: output fed in random splits (characters cut across reads)
 *  comes back byte-exact from the "o" events, text lines from the .txt
 *  stream, bad bytes as U+FFFD, long output and long lines split into
 *  events under PH_SHIP_EVENT_MAX, and the JSON lines of a command. */
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_util.h"
#include "ph_wire.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_SPOOL_MAX  (64ull * 1024 * 1024)
#define T_ROUNDS     20000 /* random strings for the escape */
#define T_BULK_BYTES 300000

static char s_dir[] = "/tmp/ph-test-agent-cast-XXXXXX";

/* ---- the reference escape: one character at a time ---------------------- */

static size_t s_ref_char_len (const uint8_t *p, size_t len)
{
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
               : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
               : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                              : 0;
    if (n == 0 || n > len)
        return 0;
    return n == 1 || ph_utf8_valid ((const char *)p, n) ? n : 0;
}

static void s_ref_escape (zchunk_t *buf, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = s_ref_char_len (p + i, len - i);
        char esc[8];
        if (n == 0) {
            zchunk_extend (buf, "\xEF\xBF\xBD", 3);
            n = 1;
        } else if (n > 1)
            zchunk_extend (buf, p + i, n);
        else if (p[i] == '"' || p[i] == '\\') {
            snprintf (esc, sizeof esc, "\\%c", p[i]);
            zchunk_extend (buf, esc, 2);
        } else if (p[i] == '\n' || p[i] == '\r' || p[i] == '\t') {
            snprintf (esc, sizeof esc, "\\%c", p[i] == '\n' ? 'n' : p[i] == '\r' ? 'r' : 't');
            zchunk_extend (buf, esc, 2);
        } else if (p[i] < 0x20 || p[i] == 0x7F) {
            snprintf (esc, sizeof esc, "\\u%04x", p[i]);
            zchunk_extend (buf, esc, 6);
        } else
            zchunk_extend (buf, p + i, 1);
        i += n;
    }
}

/*  Random bytes that hit every branch: plain ASCII, escapes, valid 2-4
 *  byte characters, overlong forms, surrogates, stray continuation bytes,
 *  sequences cut short. */
static size_t s_random_text (uint8_t *out, size_t max)
{
    static const char *const pieces[] = {"plain text ",
                                         "\"",
                                         "\\",
                                         "\n",
                                         "\r\n",
                                         "\t",
                                         "\x1b[1;31m",
                                         "\x7f",
                                         "\x01",
                                         "\xc3\xa9",
                                         "\xe2\x82\xac",
                                         "\xf0\x9f\x98\x80",
                                         "\xf4\x8f\xbf\xbf",
                                         "\xc0\x80",
                                         "\xe0\x80\x80",
                                         "\xed\xa0\x80",
                                         "\xf4\x90\x80\x80",
                                         "\xf8",
                                         "\xff",
                                         "\x80",
                                         "\xe2\x82",
                                         "\xf0\x9f",
                                         "\xc3",
                                         "\xed\x9f\xbf",
                                         "\xee\x80\x80",
                                         "\xef\xbf\xbf"};
    size_t len = 0;
    size_t want = (size_t)random () % max;
    while (len < want) {
        const char *p = pieces[random () % (sizeof pieces / sizeof pieces[0])];
        size_t n = strlen (p);
        if (random () % 4 == 0) { /* a random byte */
            out[len++] = (uint8_t)random ();
            continue;
        }
        if (len + n > max)
            break;
        memcpy (out + len, p, n);
        len += n;
    }
    return len;
}

static void test_escape_matches_reference (void)
{
    uint8_t text[512];
    int mismatches = 0;
    for (int round = 0; round < T_ROUNDS; round++) {
        size_t len = s_random_text (text, sizeof text);
        zchunk_t *got = zchunk_new (NULL, 64), *want = zchunk_new (NULL, 64);
        int rc = ph_cast_json_escape (got, text, len);
        s_ref_escape (want, text, len);
        if (rc != 0 || zchunk_size (got) != zchunk_size (want) ||
            memcmp (zchunk_data (got), zchunk_data (want), zchunk_size (got)) != 0)
            mismatches++;
        zchunk_destroy (&got);
        zchunk_destroy (&want);
    }
    CHECK (mismatches == 0);

    zchunk_t *buf = zchunk_new (NULL, 64);
    ph_cast_json_escape (buf, (const uint8_t *)"a\"b\\c\n\x01\x7f\xc3\xa9\xff", 11);
    zchunk_extend (buf, "", 1);
    CHECK_STR ((const char *)zchunk_data (buf), "a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\xef\xbf\xbd");
    zchunk_destroy (&buf);
}

static void test_utf8_complete (void)
{
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"abc\xe2\x82", 5) == 3);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"abc\xe2\x82\xac", 6) == 6);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"\xf0\x9f\x98", 3) == 0);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"\xf0", 1) == 0);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"\xe0", 1) == 0);
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"x\xc0", 2) == 2);         /* never valid */
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"x\xed\xa0", 3) == 3);     /* surrogate */
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"x\xe0\x80", 3) == 3);     /* overlong */
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"x\xf4\x90", 3) == 3);     /* > U+10FFFF */
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"x\x80\x80\x80", 4) == 4); /* no lead */
    CHECK (ph_cast_utf8_complete ((const uint8_t *)"", 0) == 0);
}

/* ---- recordings through the spool --------------------------------------- */

typedef struct {
    zchunk_t *cast_data; /* "o" (or stdout) data, concatenated */
    zchunk_t *err_data;  /* stderr data of a command */
    zchunk_t *text;      /* text events, each followed by '\n' */
    size_t cast_events, text_events;
    size_t longest;      /* bytes of the longest event */
    bool bad_event;      /* an event that is not the JSON it should be */
    char last_cast[256]; /* the last cast event (a command's exit) */
} recording_t;

static void s_take_cast_event (recording_t *rec, const char *msg, bool interactive)
{
    json_error_t jerr;
    json_t *j = json_loads (msg, JSON_ALLOW_NUL, &jerr);
    rec->cast_events++;
    snprintf (rec->last_cast, sizeof rec->last_cast, "%s", msg);
    if (!j) {
        rec->bad_event = true;
        return;
    }
    json_t *data = NULL;
    zchunk_t *into = rec->cast_data;
    if (interactive && json_is_array (j) && json_array_size (j) == 3 &&
        json_is_string (json_array_get (j, 1)) &&
        strcmp (json_string_value (json_array_get (j, 1)), "o") == 0)
        data = json_array_get (j, 2);
    else if (!interactive && json_object_get (j, "stdout"))
        data = json_object_get (j, "stdout");
    else if (!interactive && json_object_get (j, "stderr")) {
        data = json_object_get (j, "stderr");
        into = rec->err_data;
    }
    if (data && json_is_string (data))
        zchunk_extend (into, json_string_value (data), json_string_length (data));
    json_decref (j);
}

/*  Reads every batch of session sid from the spool, in order. */
static void s_read_spool (const char *sid, bool interactive, recording_t *rec)
{
    char dir[256];
    snprintf (dir, sizeof dir, "%s/%s", s_dir, PH_SPOOL_DIR_NAME);
    ph_spool_t *spool = ph_spool_new (dir, T_SPOOL_MAX);
    CHECK (spool != NULL);
    size_t count = 0;
    uint32_t *nums = spool ? ph_spool_batches (spool, sid, &count) : NULL;
    CHECK (count > 0);
    for (size_t b = 0; b < count; b++) {
        size_t len = 0;
        uint8_t *data = ph_spool_read (spool, sid, nums[b], &len);
        ph_env_t *env = NULL;
        char err[256];
        CHECK (data && ph_wire_decode (data, len, &env, err, sizeof err) == 0);
        if (env && env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS) {
            const Porthole__V1__PutLogEvents *put = env->put_log_events;
            bool text = strstr (put->log_stream, PH_SHIP_TXT_SUFFIX) != NULL;
            for (size_t i = 0; i < put->n_events; i++) {
                const char *msg = put->events[i]->message;
                size_t mlen = strlen (msg);
                if (mlen > rec->longest)
                    rec->longest = mlen;
                if (text) {
                    zchunk_extend (rec->text, msg, mlen);
                    zchunk_extend (rec->text, "\n", 1);
                    rec->text_events++;
                } else
                    s_take_cast_event (rec, msg, interactive);
            }
        }
        ph_wire_free (&env);
        free (data);
        ph_spool_remove (spool, sid, nums[b]);
    }
    free (nums);
    if (spool)
        ph_spool_forget (spool, sid);
    ph_spool_destroy (&spool);
}

/*  Records output (fed in random pieces of 1..max_piece bytes) of a shell
 *  (command NULL) or a command, and reads the recording back. */
static void s_record (const char *sid, const uint8_t *out, size_t len, size_t max_piece,
                      const char *command, const uint8_t *err, size_t err_len, recording_t *rec)
{
    ph_agent_t agent;
    memset (&agent, 0, sizeof agent);
    agent.loop = zloop_new ();
    ph_ship_t *ship = ph_ship_new (&agent, s_dir, T_SPOOL_MAX);
    CHECK (ship != NULL);
    ph_transcript_t *t = ph_ship_transcript_new (ship, sid, NULL);
    ph_cast_t *cast = ph_cast_new (t, command == NULL, 80, 24, command, false);
    CHECK (cast != NULL);
    for (size_t i = 0; i < len;) {
        size_t n = 1 + (size_t)random () % max_piece;
        n = n > len - i ? len - i : n;
        ph_cast_output (cast, false, out + i, n);
        i += n;
        if (err_len) {
            ph_cast_output (cast, true, err, err_len);
            err_len = 0;
        }
    }
    ph_cast_end (cast, 3);
    ph_cast_destroy (&cast);
    ph_ship_destroy (&ship);
    zloop_destroy (&agent.loop);
    memset (rec, 0, sizeof *rec);
    rec->cast_data = zchunk_new (NULL, 1024);
    rec->err_data = zchunk_new (NULL, 64);
    rec->text = zchunk_new (NULL, 1024);
    s_read_spool (sid, command == NULL, rec);
}

static void s_recording_free (recording_t *rec)
{
    zchunk_destroy (&rec->cast_data);
    zchunk_destroy (&rec->err_data);
    zchunk_destroy (&rec->text);
}

static bool s_chunk_is (zchunk_t *c, const void *data, size_t len)
{
    return zchunk_size (c) == len && memcmp (zchunk_data (c), data, len) == 0;
}

/*  Valid UTF-8 output of many short lines, fed in pieces that cut
 *  characters: the "o" events give it back byte-exact, the text stream
 *  line by line without the "\r". */
static void test_bulk_output_round_trips (void)
{
    static const char *const words[] = {"ls -l ",
                                        "\"quoted\" ",
                                        "back\\slash ",
                                        "tab\there ",
                                        "\x1b[0;32mgreen\x1b[0m ",
                                        "\xc3\xa9t\xc3\xa9 ",
                                        "\xe2\x82\xac ",
                                        "\xf0\x9f\x98\x80 ",
                                        "\x07",
                                        "\x7f"};
    uint8_t *out = malloc (T_BULK_BYTES + 64);
    zchunk_t *lines = zchunk_new (NULL, T_BULK_BYTES);
    size_t len = 0, line_len = 0;
    while (len < T_BULK_BYTES) {
        const char *w = words[random () % (sizeof words / sizeof words[0])];
        memcpy (out + len, w, strlen (w));
        zchunk_extend (lines, w, strlen (w));
        len += strlen (w);
        line_len += strlen (w);
        if (random () % 8 == 0 || line_len > 200) {
            memcpy (out + len, "\r\n", 2);
            zchunk_extend (lines, "\n", 1);
            len += 2;
            line_len = 0;
        }
    }
    memcpy (out + len, "\r\n", 2); /* the last line ends too */
    zchunk_extend (lines, "\n", 1);
    len += 2;

    recording_t rec;
    s_record ("alice-00000000000000001", out, len, 5000, NULL, NULL, 0, &rec);
    CHECK (!rec.bad_event);
    CHECK (s_chunk_is (rec.cast_data, out, len));
    CHECK (rec.cast_events > len / PH_SHIP_EVENT_MAX); /* split into several events */
    CHECK (rec.longest <= PH_SHIP_EVENT_MAX);
    CHECK (s_chunk_is (rec.text, zchunk_data (lines), zchunk_size (lines)));
    s_recording_free (&rec);

    /* the same fed one byte at a time: every character is cut */
    size_t head = ph_cast_utf8_complete (out, 3000); /* no character cut at the end */
    s_record ("alice-00000000000000002", out, head, 1, NULL, NULL, 0, &rec);
    CHECK (!rec.bad_event);
    CHECK (s_chunk_is (rec.cast_data, out, head));
    s_recording_free (&rec);
    zchunk_destroy (&lines);
    free (out);
}

/*  Bad bytes become U+FFFD; NUL stays NUL in JSON but not in text. */
static void test_bad_bytes (void)
{
    static const uint8_t out[] = "a\xff"
                                 "b\xc0\x80"
                                 "c\xed\xa0\x80"
                                 "d\x00"
                                 "e\xe2\x82\r\n";
    recording_t rec;
    s_record ("alice-00000000000000003", out, sizeof out - 1, 2, NULL, NULL, 0, &rec);
    static const char want[] = "a\xef\xbf\xbd"
                               "b\xef\xbf\xbd\xef\xbf\xbd"
                               "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                               "d\x00"
                               "e\xef\xbf\xbd\xef\xbf\xbd\r\n";
    CHECK (!rec.bad_event);
    CHECK (s_chunk_is (rec.cast_data, want, sizeof want - 1));
    static const char want_text[] = "a\xef\xbf\xbd"
                                    "b\xef\xbf\xbd\xef\xbf\xbd"
                                    "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                                    "d\xef\xbf\xbd"
                                    "e\xef\xbf\xbd\xef\xbf\xbd\n";
    CHECK (s_chunk_is (rec.text, want_text, sizeof want_text - 1));
    s_recording_free (&rec);
}

/*  A line longer than an event, of multi-byte characters, and one of
 *  control characters (6 bytes of JSON each): split, never cut inside a
 *  character, each event under the limit. */
static void test_long_lines (void)
{
    size_t len = 3 * PH_SHIP_EVENT_MAX;
    uint8_t *out = malloc (len + 1);
    for (size_t i = 0; i + 3 <= len; i += 3)
        memcpy (out + i, "\xe2\x82\xac", 3);
    recording_t rec;
    s_record ("alice-00000000000000004", out, len, 7000, NULL, NULL, 0, &rec);
    CHECK (!rec.bad_event);
    CHECK (s_chunk_is (rec.cast_data, out, len));
    CHECK (rec.longest <= PH_SHIP_EVENT_MAX);
    CHECK (rec.text_events >= 3);
    CHECK (zchunk_size (rec.text) == len + rec.text_events); /* only the '\n' added */
    s_recording_free (&rec);

    memset (out, 0x01, len);
    s_record ("alice-00000000000000005", out, len, 9000, NULL, NULL, 0, &rec);
    CHECK (!rec.bad_event);
    CHECK (s_chunk_is (rec.cast_data, out, len));
    CHECK (rec.longest <= PH_SHIP_EVENT_MAX);
    CHECK (rec.cast_events >= 6 * len / PH_SHIP_EVENT_MAX);
    s_recording_free (&rec);
    free (out);
}

static void test_command (void)
{
    static const char out[] = "line 1\nline \"2\"\n";
    recording_t rec;
    s_record ("alice-00000000000000006", (const uint8_t *)out, sizeof out - 1, 4,
              "echo \"hi\"\ttab", (const uint8_t *)"oops\n", 5, &rec);
    CHECK (!rec.bad_event);
    CHECK (s_chunk_is (rec.cast_data, out, sizeof out - 1));
    CHECK (s_chunk_is (rec.err_data, "oops\n", 5));
    CHECK_STR (rec.last_cast, "{\"command\": \"echo \\\"hi\\\"\\ttab\", \"exit_code\": 3}");
    s_recording_free (&rec);
}

int main (void)
{
    zsys_init ();
    srandom (7); /* after zsys_init, which seeds it too */
    CHECK (mkdtemp (s_dir) != NULL);
    test_escape_matches_reference ();
    test_utf8_complete ();
    test_bulk_output_round_trips ();
    test_bad_bytes ();
    test_long_lines ();
    test_command ();
    char cmd[300];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
