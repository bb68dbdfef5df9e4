/*  agent_cast: records a session as events for its transcript
 *  (agent_log.h, DESIGN.md §6).
 *
 *  Shells: asciicast v2, one line per event in stream <session id>:
 *    {"version": 2, "width": W, "height": H, "timestamp": UNIX_S, "env": {...}}
 *    [t, "o", "output"]   [t, "r", "COLSxROWS"]   [t, "i", "input"]
 *  t is seconds since the start (monotonic). Commands: JSON lines
 *    {"command": "..."}  {"stdout": "..."}  {"stderr": "..."}
 *    {"command": "...", "exit_code": N}
 *  and for both, one event per output line in stream <session id>.txt
 *  (ANSI escapes kept, the line's "\r\n" or "\n" dropped).
 *
 *  Output is text only as far as it is UTF-8: an incomplete sequence at the
 *  end of a read is carried into the next one, so that output split by
 *  the PTY still round-trips byte-exact; a byte that is invalid even then
 *  is written as U+FFFD. A long output chunk or line is split into several
 *  events so that none is over PH_SHIP_EVENT_MAX bytes.
 *
 *  This is on the path of every byte a session prints (bulk output runs at
 *  tens of MB/s), so the encoders scan for the next byte that needs work
 *  with a table and copy the plain run before it in one go; only escapes,
 *  multi-byte characters and bad bytes are handled one at a time. Lines
 *  complete within one read go out without being copied, and a read is
 *  copied only to join it to a carried incomplete character.
 */
#include "agent_log.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PH_CAST_CARRY_MAX  4    /* the longest UTF-8 sequence */
#define PH_CAST_PREFIX_MAX 64   /* `[123456.123456, "o", "` and `"]` */
#define PH_CAST_ESC_MAX    6    /* \u00XX */
#define PH_CAST_CMD_MAX    4096 /* bytes of the command line kept in events */
#define PH_CAST_BUF_MIN    256  /* first allocation of a growable buffer */

/*  A growable byte buffer, grown geometrically: the hot path appends whole
 *  runs of bytes, never one character per call. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
} s_buf_t;

typedef struct {
    uint8_t carry[PH_CAST_CARRY_MAX];
    size_t carry_len;
    s_buf_t line; /* the text line under way */
} s_channel_t;

struct _ph_cast_t {
    ph_transcript_t *t;
    bool interactive, log_input, ended;
    uint64_t start_ms; /* monotonic */
    char *command;     /* JSON-escaped, commands only */
    s_channel_t out, err, in;
    s_buf_t event;  /* the event being encoded */
    s_buf_t joined; /* a carried tail joined to the next read */
};

static const uint8_t s_replacement[] = {0xEF, 0xBF, 0xBD};

/*  Byte classes for the scanners below: what goes into a JSON string as it
 *  is (printable ASCII but '"' and '\'), what needs an escape (the other
 *  ASCII bytes), and what starts (or is not) a multi-byte character. */
enum { S_VERBATIM = 0, S_ESCAPE = 1, S_HIGH = 2 };

static const uint8_t s_json_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,
};

/* ---- buffers -------------------------------------------------------------- */

static bool s_buf_reserve (s_buf_t *b, size_t more)
{
    if (b->len + more <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : PH_CAST_BUF_MIN;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *data = realloc (b->data, cap);
    if (!data)
        return false;
    b->data = data;
    b->cap = cap;
    return true;
}

static void s_buf_add (s_buf_t *b, const void *p, size_t len)
{
    if (len && s_buf_reserve (b, len)) {
        memcpy (b->data + b->len, p, len);
        b->len += len;
    }
}

static void s_buf_free (s_buf_t *b)
{
    free (b->data);
    *b = (s_buf_t){NULL, 0, 0};
}

/* ---- UTF-8 and JSON ------------------------------------------------------ */

/*  The length of the sequence that lead byte c starts, or 0 if c cannot
 *  start one. */
static size_t s_seq_len (uint8_t c)
{
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return 2;
    if (c >= 0xE0 && c <= 0xEF)
        return 3;
    if (c >= 0xF0 && c <= 0xF4)
        return 4;
    return 0;
}

/*  The length of the valid multi-byte character at p (len bytes
 *  available), or 0 when there is none: a bad lead byte, a bad or missing
 *  continuation byte, an overlong form, a surrogate or a code point over
 *  U+10FFFF (RFC 3629; the same rules as ph_utf8_valid). */
static size_t s_utf8_char (const uint8_t *p, size_t len)
{
    size_t n = s_seq_len (p[0]);
    if (n < 2 || n > len)
        return 0;
    uint8_t lo = 0x80, hi = 0xBF; /* the range of the second byte */
    if (p[0] == 0xE0)
        lo = 0xA0; /* overlong */
    else if (p[0] == 0xED)
        hi = 0x9F; /* surrogates */
    else if (p[0] == 0xF0)
        lo = 0x90; /* overlong */
    else if (p[0] == 0xF4)
        hi = 0x8F; /* over U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

size_t ph_cast_utf8_complete (const uint8_t *p, size_t len)
{
    for (size_t back = 1; back < PH_CAST_CARRY_MAX && back <= len; back++) {
        uint8_t c = p[len - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: look further back */
        size_t need = s_seq_len (c);
        if (need > back) {
            /* carry only what may still become valid: complete it with
             * the smallest continuation bytes its lead byte allows */
            uint8_t probe[PH_CAST_CARRY_MAX];
            memcpy (probe, p + len - back, back);
            for (size_t i = back; i < need; i++)
                probe[i] = 0x80;
            if (back == 1 && c == 0xE0)
                probe[1] = 0xA0;
            if (back == 1 && c == 0xF0)
                probe[1] = 0x90;
            if (s_utf8_char (probe, need) == need)
                return len - back;
        }
        break;
    }
    return len;
}

/*  The length of the longest prefix of p (len bytes, at most max of them)
 *  that a JSON string holds as it is: verbatim ASCII and whole valid
 *  multi-byte characters. Never ends inside a character. */
static size_t s_json_span (const uint8_t *p, size_t len, size_t max)
{
    size_t end = len < max ? len : max, i = 0;
    while (i < end) {
        uint8_t cls = s_json_class[p[i]];
        if (cls == S_VERBATIM) {
            i++;
            continue;
        }
        size_t n = cls == S_HIGH ? s_utf8_char (p + i, end - i) : 0;
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

/*  Appends the JSON form of what starts at p that s_json_span did not
 *  take: an ASCII byte that needs an escape, a whole character (when it
 *  only missed the span's limit), or U+FFFD for a byte that does not start
 *  a valid character. Returns the number of input bytes it used. */
static size_t s_json_special (s_buf_t *buf, const uint8_t *p, size_t len)
{
    char esc[PH_CAST_ESC_MAX + 1];
    if (s_json_class[*p] == S_HIGH) {
        size_t n = s_utf8_char (p, len);
        if (n)
            s_buf_add (buf, p, n);
        else
            s_buf_add (buf, s_replacement, sizeof s_replacement);
        return n ? n : 1;
    }
    switch (*p) {
    case '"':
        s_buf_add (buf, "\\\"", 2);
        break;
    case '\\':
        s_buf_add (buf, "\\\\", 2);
        break;
    case '\n':
        s_buf_add (buf, "\\n", 2);
        break;
    case '\r':
        s_buf_add (buf, "\\r", 2);
        break;
    case '\t':
        s_buf_add (buf, "\\t", 2);
        break;
    default: /* other control characters and DEL */
        snprintf (esc, sizeof esc, "\\u%04x", *p);
        s_buf_add (buf, esc, PH_CAST_ESC_MAX);
    }
    return 1;
}

/*  Appends the escape of p[0..len) to buf, the event's size bounded by
 *  limit: stops once buf->len reaches it (an escape or a character may go
 *  past it by at most PH_CAST_ESC_MAX bytes). Returns the bytes used. */
static size_t s_json_escape_upto (s_buf_t *buf, const uint8_t *p, size_t len, size_t limit)
{
    size_t i = 0;
    while (i < len && buf->len < limit) {
        size_t n = s_json_span (p + i, len - i, limit - buf->len);
        if (n) {
            s_buf_add (buf, p + i, n);
            i += n;
        } else
            i += s_json_special (buf, p + i, len - i);
    }
    return i;
}

int ph_cast_json_escape (zchunk_t *buf, const uint8_t *p, size_t len)
{
    s_buf_t out = {NULL, 0, 0};
    s_json_escape_upto (&out, p, len, SIZE_MAX);
    int rc = len && !out.data ? PH_ENOMEM : 0;
    if (out.len)
        zchunk_extend (buf, out.data, out.len);
    s_buf_free (&out);
    return rc;
}

/* ---- events -------------------------------------------------------------- */

static double s_elapsed (const ph_cast_t *self)
{
    return (double)(ph_mono_ms () - self->start_ms) / 1000.0;
}

/*  One asciicast event [t, code, "<escaped>"] per at most
 *  PH_SHIP_EVENT_MAX bytes, or one {"key": "<escaped>"} for commands. */
static void s_emit_json (ph_cast_t *self, const char *code, const uint8_t *p, size_t len)
{
    s_buf_t *buf = &self->event;
    size_t i = 0;
    while (i < len) {
        char head[PH_CAST_PREFIX_MAX];
        int n;
        if (self->interactive)
            n = snprintf (head, sizeof head, "[%.6f, \"%s\", \"", s_elapsed (self), code);
        else
            n = snprintf (head, sizeof head, "{\"%s\": \"", code);
        buf->len = 0;
        s_buf_add (buf, head, (size_t)n);
        i += s_json_escape_upto (buf, p + i, len - i, PH_SHIP_EVENT_MAX - PH_CAST_PREFIX_MAX);
        s_buf_add (buf, self->interactive ? "\"]" : "\"}", 2);
        if (buf->data)
            ph_ship_append (self->t, PH_SHIP_CAST, (const char *)buf->data, buf->len);
    }
}

/*  The length of the longest prefix of p (len bytes, at most max) that a
 *  text event holds as it is: ASCII but NUL, and whole valid characters. */
static size_t s_text_span (const uint8_t *p, size_t len, size_t max)
{
    size_t end = len < max ? len : max, i = 0;
    while (i < end) {
        if (p[i] && p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = p[i] ? s_utf8_char (p + i, end - i) : 0;
        if (n == 0)
            break;
        i += n;
    }
    return i;
}

/*  Sends one text line (without its line end) as one or more events of
 *  valid UTF-8: NUL and bytes that start no valid character become
 *  U+FFFD. */
static void s_emit_line (ph_cast_t *self, const uint8_t *p, size_t len)
{
    s_buf_t *text = &self->event;
    if (len && p[len - 1] == '\r')
        len--;
    text->len = 0;
    for (size_t i = 0; i < len;) {
        if (text->len + PH_CAST_CARRY_MAX > PH_SHIP_EVENT_MAX) {
            ph_ship_append (self->t, PH_SHIP_TEXT, (const char *)text->data, text->len);
            text->len = 0;
        }
        size_t room = PH_SHIP_EVENT_MAX - PH_CAST_CARRY_MAX - text->len;
        size_t n = s_text_span (p + i, len - i, room);
        if (n == 0) /* NUL, a bad byte, or a character at the very end of room */
            n = p[i] == 0 ? 0 : p[i] < 0x80 ? 1 : s_utf8_char (p + i, len - i);
        if (n)
            s_buf_add (text, p + i, n);
        else
            s_buf_add (text, s_replacement, sizeof s_replacement);
        i += n ? n : 1;
    }
    ph_ship_append (self->t, PH_SHIP_TEXT, text->data ? (const char *)text->data : "", text->len);
}

/*  Cuts p into text lines: a line complete in p goes out from p itself,
 *  the start of one waits in ch->line for its end. */
static void s_add_lines (ph_cast_t *self, s_channel_t *ch, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr (p + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
        if (nl && ch->line.len == 0) {
            s_emit_line (self, p + i, n);
            i += n + 1;
            continue;
        }
        s_buf_add (&ch->line, p + i, n);
        i += n;
        if (nl) {
            s_emit_line (self, ch->line.data, ch->line.len);
            ch->line.len = 0;
            i++;
        } else if (ch->line.len > PH_SHIP_EVENT_MAX) {
            s_emit_line (self, ch->line.data, ch->line.len); /* a very long line: split it */
            ch->line.len = 0;
        }
    }
}

/*  Takes len bytes of ch: what ends in a complete character becomes
 *  events now, an incomplete tail is carried. Only a read that follows a
 *  carried tail is copied (to join the two). */
static void s_take (ph_cast_t *self, s_channel_t *ch, const char *code, bool lines,
                    const uint8_t *data, size_t len, bool final)
{
    const uint8_t *buf = data;
    size_t total = len;
    if (ch->carry_len) {
        self->joined.len = 0;
        s_buf_add (&self->joined, ch->carry, ch->carry_len);
        s_buf_add (&self->joined, data, len);
        if (self->joined.len != ch->carry_len + len)
            return; /* out of memory */
        buf = self->joined.data;
        total = self->joined.len;
    }
    size_t use = final ? total : ph_cast_utf8_complete (buf, total);
    ch->carry_len = total - use;
    if (use) {
        s_emit_json (self, code, buf, use);
        if (lines)
            s_add_lines (self, ch, buf, use);
    }
    if (ch->carry_len)
        memmove (ch->carry, buf + use, ch->carry_len);
}

/* ---- the recorder -------------------------------------------------------- */

static void s_header (ph_cast_t *self, unsigned cols, unsigned rows)
{
    char text[256];
    int n = snprintf (text, sizeof text,
                      "{\"version\": 2, \"width\": %u, \"height\": %u, \"timestamp\": %llu, "
                      "\"env\": {\"TERM\": \"xterm-256color\", \"SHELL\": \"/bin/bash\"}}",
                      cols, rows, (unsigned long long)time (NULL));
    ph_ship_append (self->t, PH_SHIP_CAST, text, (size_t)n);
}

static void s_command_event (ph_cast_t *self, int exit_code, bool with_code)
{
    char tail[64] = "";
    if (with_code)
        snprintf (tail, sizeof tail, ", \"exit_code\": %d", exit_code);
    size_t len = strlen (self->command) + strlen (tail) + 32;
    char *text = malloc (len);
    if (!text)
        return;
    int n = snprintf (text, len, "{\"command\": \"%s\"%s}", self->command, tail);
    ph_ship_append (self->t, PH_SHIP_CAST, text, (size_t)n);
    free (text);
}

ph_cast_t *ph_cast_new (ph_transcript_t *t, bool interactive, unsigned cols, unsigned rows,
                        const char *command, bool log_input)
{
    ph_cast_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->t = t;
    self->interactive = interactive;
    self->log_input = log_input;
    self->start_ms = ph_mono_ms ();
    if (interactive) {
        s_header (self, cols, rows);
        return self;
    }
    zchunk_t *esc = zchunk_new (NULL, 256);
    size_t len = command ? strnlen (command, PH_CAST_CMD_MAX) : 0;
    if (!esc)
        goto out_free;
    ph_cast_json_escape (esc, (const uint8_t *)(command ? command : ""), len);
    self->command = strndup ((const char *)zchunk_data (esc), zchunk_size (esc));
    zchunk_destroy (&esc);
    if (!self->command)
        goto out_free;
    s_command_event (self, 0, false);
    return self;
out_free:
    ph_cast_destroy (&self);
    return NULL;
}

void ph_cast_destroy (ph_cast_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_cast_t *self = *self_p;
    s_buf_free (&self->out.line);
    s_buf_free (&self->err.line);
    s_buf_free (&self->in.line);
    s_buf_free (&self->event);
    s_buf_free (&self->joined);
    free (self->command);
    free (self);
    *self_p = NULL;
}

void ph_cast_output (ph_cast_t *self, bool stderr_, const uint8_t *data, size_t len)
{
    if (!self || self->ended || !len)
        return;
    if (self->interactive)
        s_take (self, &self->out, "o", true, data, len, false);
    else if (stderr_)
        s_take (self, &self->err, "stderr", true, data, len, false);
    else
        s_take (self, &self->out, "stdout", true, data, len, false);
}

void ph_cast_input (ph_cast_t *self, const uint8_t *data, size_t len)
{
    if (!self || self->ended || !self->log_input || !self->interactive || !len)
        return;
    s_take (self, &self->in, "i", false, data, len, false);
}

void ph_cast_resize (ph_cast_t *self, unsigned cols, unsigned rows)
{
    if (!self || self->ended || !self->interactive)
        return;
    char size[32];
    int n = snprintf (size, sizeof size, "%ux%u", cols, rows);
    s_emit_json (self, "r", (const uint8_t *)size, (size_t)n);
}

void ph_cast_end (ph_cast_t *self, int exit_code)
{
    if (!self || self->ended)
        return;
    if (self->interactive) {
        s_take (self, &self->out, "o", true, NULL, 0, true);
    } else {
        s_take (self, &self->out, "stdout", true, NULL, 0, true);
        s_take (self, &self->err, "stderr", true, NULL, 0, true);
    }
    if (self->out.line.len)
        s_emit_line (self, self->out.line.data, self->out.line.len);
    if (self->err.line.len)
        s_emit_line (self, self->err.line.data, self->err.line.len);
    if (!self->interactive)
        s_command_event (self, exit_code, true);
    self->ended = true;
    ph_ship_transcript_end (self->t);
}
