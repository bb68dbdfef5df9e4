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

typedef struct {
    uint8_t carry[PH_CAST_CARRY_MAX];
    size_t carry_len;
    zchunk_t *line; /* the text line under way */
} s_channel_t;

struct _ph_cast_t {
    ph_transcript_t *t;
    bool interactive, log_input, ended;
    uint64_t start_ms; /* monotonic */
    char *command;     /* JSON-escaped, commands only */
    s_channel_t out, err, in;
};

static const uint8_t s_replacement[] = {0xEF, 0xBF, 0xBD};

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
            if (ph_utf8_valid ((const char *)probe, need))
                return len - back;
        }
        break;
    }
    return len;
}

/*  Appends the escape of one character (len bytes at p, 1..4) to buf. */
static void s_escape_char (zchunk_t *buf, const uint8_t *p, size_t len)
{
    char esc[PH_CAST_ESC_MAX + 1];
    if (len > 1) {
        zchunk_extend (buf, p, len);
        return;
    }
    switch (*p) {
    case '"':
        zchunk_extend (buf, "\\\"", 2);
        return;
    case '\\':
        zchunk_extend (buf, "\\\\", 2);
        return;
    case '\n':
        zchunk_extend (buf, "\\n", 2);
        return;
    case '\r':
        zchunk_extend (buf, "\\r", 2);
        return;
    case '\t':
        zchunk_extend (buf, "\\t", 2);
        return;
    default:
        if (*p < 0x20 || *p == 0x7F) {
            snprintf (esc, sizeof esc, "\\u%04x", *p);
            zchunk_extend (buf, esc, PH_CAST_ESC_MAX);
        } else
            zchunk_extend (buf, p, 1);
    }
}

/*  The length of the valid character at p (of len bytes), or 0 when the
 *  byte at p is not the start of a valid character. */
static size_t s_char_len (const uint8_t *p, size_t len)
{
    size_t n = s_seq_len (*p);
    if (n == 0 || n > len)
        return 0;
    return n == 1 || ph_utf8_valid ((const char *)p, n) ? n : 0;
}

int ph_cast_json_escape (zchunk_t *buf, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = s_char_len (p + i, len - i);
        if (n == 0) {
            zchunk_extend (buf, s_replacement, sizeof s_replacement);
            i++;
        } else {
            s_escape_char (buf, p + i, n);
            i += n;
        }
    }
    return 0;
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
    zchunk_t *buf = zchunk_new (NULL, PH_SHIP_EVENT_MAX + PH_CAST_PREFIX_MAX);
    if (!buf)
        return;
    size_t i = 0;
    while (i < len) {
        char head[PH_CAST_PREFIX_MAX];
        if (self->interactive)
            snprintf (head, sizeof head, "[%.6f, \"%s\", \"", s_elapsed (self), code);
        else
            snprintf (head, sizeof head, "{\"%s\": \"", code);
        zchunk_set (buf, head, strlen (head));
        while (i < len && zchunk_size (buf) < PH_SHIP_EVENT_MAX - PH_CAST_PREFIX_MAX) {
            size_t n = s_char_len (p + i, len - i);
            if (n == 0) {
                zchunk_extend (buf, s_replacement, sizeof s_replacement);
                n = 1;
            } else
                s_escape_char (buf, p + i, n);
            i += n;
        }
        zchunk_extend (buf, self->interactive ? "\"]" : "\"}", 2);
        ph_ship_append (self->t, PH_SHIP_CAST, (const char *)zchunk_data (buf), zchunk_size (buf));
    }
    zchunk_destroy (&buf);
}

/*  Sends the text line under way (without its line end) as one or more
 *  events of valid UTF-8. */
static void s_flush_line (ph_cast_t *self, s_channel_t *ch)
{
    size_t len = zchunk_size (ch->line);
    const uint8_t *p = zchunk_data (ch->line);
    if (len && p[len - 1] == '\r')
        len--;
    zchunk_t *text = zchunk_new (NULL, len + 16);
    if (!text)
        return;
    for (size_t i = 0; i < len;) {
        size_t n = s_char_len (p + i, len - i);
        if (zchunk_size (text) + 4 > PH_SHIP_EVENT_MAX) {
            ph_ship_append (self->t, PH_SHIP_TEXT, (const char *)zchunk_data (text),
                            zchunk_size (text));
            zchunk_set (text, "", 0);
        }
        if (n == 0 || (n == 1 && p[i] == 0))
            zchunk_extend (text, s_replacement, sizeof s_replacement);
        else
            zchunk_extend (text, p + i, n);
        i += n ? n : 1;
    }
    ph_ship_append (self->t, PH_SHIP_TEXT, (const char *)zchunk_data (text), zchunk_size (text));
    zchunk_destroy (&text);
    zchunk_set (ch->line, "", 0);
}

static void s_add_lines (ph_cast_t *self, s_channel_t *ch, const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len;) {
        const uint8_t *nl = memchr (p + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (p + i)) : len - i;
        zchunk_extend (ch->line, p + i, n);
        i += n;
        if (nl) {
            s_flush_line (self, ch);
            i++;
        } else if (zchunk_size (ch->line) > PH_SHIP_EVENT_MAX) {
            s_flush_line (self, ch); /* a very long line: split it */
        }
    }
}

/*  Takes len bytes of ch: what ends in a complete character becomes
 *  events now, an incomplete tail is carried. */
static void s_take (ph_cast_t *self, s_channel_t *ch, const char *code, bool lines,
                    const uint8_t *data, size_t len, bool final)
{
    size_t total = ch->carry_len + len;
    uint8_t *buf = malloc (total ? total : 1);
    if (!buf)
        return;
    memcpy (buf, ch->carry, ch->carry_len);
    if (len)
        memcpy (buf + ch->carry_len, data, len);
    size_t use = final ? total : ph_cast_utf8_complete (buf, total);
    ch->carry_len = total - use;
    memcpy (ch->carry, buf + use, ch->carry_len);
    if (use) {
        s_emit_json (self, code, buf, use);
        if (lines)
            s_add_lines (self, ch, buf, use);
    }
    free (buf);
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
    self->out.line = zchunk_new (NULL, 256);
    self->err.line = zchunk_new (NULL, 256);
    self->in.line = zchunk_new (NULL, 16);
    if (!self->out.line || !self->err.line || !self->in.line)
        goto out_free;
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
    zchunk_destroy (&self->out.line);
    zchunk_destroy (&self->err.line);
    zchunk_destroy (&self->in.line);
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
    if (zchunk_size (self->out.line))
        s_flush_line (self, &self->out);
    if (zchunk_size (self->err.line))
        s_flush_line (self, &self->err);
    if (!self->interactive)
        s_command_event (self, exit_code, true);
    self->ended = true;
    ph_ship_transcript_end (self->t);
}
