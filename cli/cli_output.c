/*  cli_output: see cli_output.h; also the message helpers of cli.h. */
#include "cli_output.h"
#include "ph_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_PREFIX "porthole: "

static int s_vmessage (const char *fmt, va_list ap)
{
    char text[2048];
    vsnprintf (text, sizeof text, fmt, ap);
    bool prefixed = strncmp (text, CLI_PREFIX, strlen (CLI_PREFIX)) == 0;
    fprintf (stderr, "%s%s\n", prefixed ? "" : CLI_PREFIX, text);
    return 0;
}

int cli_error (int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vmessage (fmt, ap);
    va_end (ap);
    return exit_code;
}

int cli_usage_error (const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    s_vmessage (fmt, ap);
    va_end (ap);
    if (verb)
        fprintf (stderr, "Run 'porthole %s --help' for its options.\n", verb);
    else
        fprintf (stderr, "Run 'porthole --help' for the list of commands and options.\n");
    return PH_EXIT_USAGE;
}

int cli_output_parse (const char *name, cli_output_t *out)
{
    if (strcmp (name, "json") == 0)
        *out = CLI_OUT_JSON;
    else if (strcmp (name, "table") == 0)
        *out = CLI_OUT_TABLE;
    else if (strcmp (name, "text") == 0)
        *out = CLI_OUT_TEXT;
    else
        return PH_EINVAL;
    return 0;
}

json_t *cli_json_time (uint64_t ms)
{
    if (ms == 0)
        return json_null ();
    char buf[40];
    ph_format_time (ms, buf, sizeof buf);
    return json_string (buf);
}

json_t *cli_json_str (const char *s)
{
    json_t *j = json_string (s ? s : "");
    return j ? j : json_string ("");
}

/*  Appends text to a growing heap string, control characters as spaces so
 *  that a value never breaks a row or a line. */
static void s_append (char **buf, size_t *len, const char *text)
{
    size_t n = strlen (text);
    char *grown = realloc (*buf, *len + n + 1);
    if (!grown)
        return;
    *buf = grown;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        grown[(*len)++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    grown[*len] = 0;
}

static void s_append_value (char **buf, size_t *len, const json_t *v, bool in_array);

/*  A {"Key","Value"} object shows as Key=Value; other objects as JSON. */
static void s_append_object (char **buf, size_t *len, const json_t *v)
{
    const json_t *key = json_object_get (v, "Key");
    const json_t *value = json_object_get (v, "Value");
    if (json_is_string (key) && json_is_string (value)) {
        s_append (buf, len, json_string_value (key));
        s_append (buf, len, "=");
        s_append (buf, len, json_string_value (value));
        return;
    }
    char *text = json_dumps (v, JSON_COMPACT);
    if (text)
        s_append (buf, len, text);
    free (text);
}

static void s_append_value (char **buf, size_t *len, const json_t *v, bool in_array)
{
    char num[64];
    size_t i;
    json_t *item;
    switch (json_typeof (v)) {
    case JSON_STRING:
        s_append (buf, len, json_string_value (v));
        break;
    case JSON_INTEGER:
        snprintf (num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value (v));
        s_append (buf, len, num);
        break;
    case JSON_REAL:
        snprintf (num, sizeof num, "%g", json_real_value (v));
        s_append (buf, len, num);
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        s_append (buf, len, json_is_true (v) ? "true" : "false");
        break;
    case JSON_ARRAY:
        json_array_foreach (v, i, item)
        {
            if (i)
                s_append (buf, len, ",");
            s_append_value (buf, len, item, true);
        }
        break;
    case JSON_OBJECT:
        s_append_object (buf, len, v);
        break;
    default:
        if (in_array)
            s_append (buf, len, "null");
        break;
    }
}

/*  The text of one cell (heap); null_text for a missing or null value. */
static char *s_cell (const json_t *record, const char *field, const char *null_text)
{
    const json_t *v = json_object_get (record, field);
    char *buf = strdup ("");
    size_t len = 0;
    if (v && !json_is_null (v))
        s_append_value (&buf, &len, v, false);
    if (len == 0)
        s_append (&buf, &len, null_text);
    return buf;
}

/*  Display width in characters of UTF-8 text (continuation bytes skipped). */
static size_t s_width (const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            w++;
    return w;
}

/*  Cuts s (heap) to CLI_CELL_MAX characters, ending in "...". */
static void s_clip (char *s)
{
    if (s_width (s) <= CLI_CELL_MAX)
        return;
    size_t w = 0;
    char *p = s;
    for (; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && ++w > CLI_CELL_MAX - 3)
            break;
    }
    strcpy (p, "...");
}

static size_t s_ncols (const cli_view_t *view)
{
    size_t n = 0;
    while (view->cols[n].field)
        n++;
    return n;
}

/*  The records of doc under view: an array (borrowed) or doc itself. */
static const json_t *s_records (const json_t *doc, const cli_view_t *view, json_t **single)
{
    *single = NULL;
    if (!view->list_key) {
        *single = json_array ();
        json_array_append (*single, (json_t *)doc);
        return *single;
    }
    const json_t *list = json_object_get (doc, view->list_key);
    if (!json_is_array (list)) {
        *single = json_array ();
        return *single;
    }
    return list;
}

static void s_print_row (char **cells, const size_t *widths, size_t ncols)
{
    for (size_t c = 0; c < ncols; c++) {
        bool last = c + 1 == ncols;
        fputs (cells[c], stdout);
        if (!last)
            for (size_t pad = s_width (cells[c]); pad < widths[c] + 2; pad++)
                putchar (' ');
    }
    putchar ('\n');
}

static void s_print_table (const json_t *records, const cli_view_t *view)
{
    size_t ncols = s_ncols (view), nrows = json_array_size (records);
    char **cells = calloc ((nrows + 1) * ncols, sizeof *cells);
    size_t *widths = calloc (ncols, sizeof *widths);
    for (size_t c = 0; c < ncols; c++) {
        cells[c] = strdup (view->cols[c].header);
        widths[c] = s_width (cells[c]);
    }
    for (size_t r = 0; r < nrows; r++)
        for (size_t c = 0; c < ncols; c++) {
            char *cell = s_cell (json_array_get (records, r), view->cols[c].field, "-");
            s_clip (cell);
            cells[(r + 1) * ncols + c] = cell;
            if (s_width (cell) > widths[c])
                widths[c] = s_width (cell);
        }
    for (size_t r = 0; r <= nrows; r++)
        s_print_row (cells + r * ncols, widths, ncols);
    for (size_t i = 0; i < (nrows + 1) * ncols; i++)
        free (cells[i]);
    free (cells);
    free (widths);
}

static void s_print_text (const json_t *records, const cli_view_t *view)
{
    size_t r;
    const json_t *record;
    json_array_foreach (records, r, record)
    {
        for (size_t c = 0;; c++) {
            const char *field = view->text_fields ? view->text_fields[c] : view->cols[c].field;
            if (!field)
                break;
            char *cell = s_cell (record, field, "");
            for (char *p = cell; *p; p++)
                if (*p == '\t')
                    *p = ' ';
            printf ("%s%s", c ? "\t" : "", cell);
            free (cell);
        }
        putchar ('\n');
    }
}

static void s_print_footer (const json_t *doc, const cli_view_t *view, cli_output_t output)
{
    const json_t *v = view->footer_key ? json_object_get (doc, view->footer_key) : NULL;
    if (!json_is_string (v) || !*json_string_value (v))
        return;
    if (output == CLI_OUT_TABLE)
        printf ("\n%s: %s\n", view->footer_key, json_string_value (v));
    else
        printf ("NEXTTOKEN\t%s\n", json_string_value (v));
}

int cli_output_print (const cli_ctx_t *ctx, const json_t *doc, const cli_view_t *view)
{
    if (ctx->output == CLI_OUT_JSON) {
        char *text = json_dumps (doc, JSON_INDENT (4) | JSON_PRESERVE_ORDER);
        if (!text)
            return PH_ENOMEM;
        printf ("%s\n", text);
        free (text);
    } else {
        json_t *single;
        const json_t *records = s_records (doc, view, &single);
        if (ctx->output == CLI_OUT_TABLE)
            s_print_table (records, view);
        else
            s_print_text (records, view);
        s_print_footer (doc, view, ctx->output);
        json_decref (single);
    }
    return fflush (stdout) == 0 && !ferror (stdout) ? 0 : PH_EIO;
}
