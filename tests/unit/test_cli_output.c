/*  Unit tests of cli/cli_output.c: --output names, the JSON helpers, and
 *  the three renderings of a document (json pretty-printed in member
 *  order; table with aligned columns, "-" for missing values, clipped long
 *  cells, Key=Value tags, control characters blanked; text tab-separated
 *  with its own field list and a NEXTTOKEN line), a write error on stdout,
 *  and the message helpers of cli.h (prefix once, exit codes). */
#include "cli_output.h"
#include "ph_test.h"

#include <fcntl.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*  Runs fn with stdout (or stderr) sent to a temp file; returns what was
 *  written (heap, caller frees) and fn's rc in *rc. */
typedef int (print_fn) (void *arg);

static char *s_capture (int fd_no, print_fn *fn, void *arg, int *rc)
{
    char path[] = "/tmp/ph-test-cli-output-XXXXXX";
    int fd = mkstemp (path);
    FILE *stream = fd_no == STDOUT_FILENO ? stdout : stderr;
    fflush (stream);
    int saved = dup (fd_no);
    dup2 (fd, fd_no);
    *rc = fn (arg);
    fflush (stream);
    dup2 (saved, fd_no);
    close (saved);
    off_t size = lseek (fd, 0, SEEK_END);
    char *text = calloc (1, (size_t)size + 1);
    if (pread (fd, text, (size_t)size, 0) != size)
        text[0] = 0;
    close (fd);
    unlink (path);
    return text;
}

typedef struct {
    cli_ctx_t ctx;
    const json_t *doc;
    const cli_view_t *view;
} print_args_t;

static int s_print (void *arg)
{
    print_args_t *p = arg;
    return cli_output_print (&p->ctx, p->doc, p->view);
}

/*  Renders doc with view in format; returns the text (heap). */
static char *s_render (cli_output_t format, const json_t *doc, const cli_view_t *view)
{
    print_args_t p = {.doc = doc, .view = view};
    p.ctx.output = format;
    int rc;
    char *text = s_capture (STDOUT_FILENO, s_print, &p, &rc);
    CHECK (rc == 0);
    return text;
}

static void s_expect_text (char *got, const char *want)
{
    if (strcmp (got, want) != 0) {
        fprintf (stderr, "--- got:\n%s--- want:\n%s---\n", got, want);
        CHECK (false);
    } else
        CHECK (true);
    free (got);
}

static void test_helpers (void)
{
    cli_output_t out = CLI_OUT_TEXT;
    CHECK (cli_output_parse ("json", &out) == 0 && out == CLI_OUT_JSON);
    CHECK (cli_output_parse ("table", &out) == 0 && out == CLI_OUT_TABLE);
    CHECK (cli_output_parse ("text", &out) == 0 && out == CLI_OUT_TEXT);
    CHECK (cli_output_parse ("JSON", &out) == PH_EINVAL);
    CHECK (cli_output_parse ("yaml", &out) == PH_EINVAL);
    CHECK (cli_output_parse ("", &out) == PH_EINVAL);
    CHECK (out == CLI_OUT_TEXT);

    json_t *t = cli_json_time (0);
    CHECK (json_is_null (t));
    json_decref (t);
    t = cli_json_time (1764083045123ULL);
    CHECK_STR (json_string_value (t), "2025-11-25T15:04:05.123Z");
    json_decref (t);
    json_t *s = cli_json_str (NULL);
    CHECK_STR (json_string_value (s), "");
    json_decref (s);
    s = cli_json_str ("x");
    CHECK_STR (json_string_value (s), "x");
    json_decref (s);
}

static const cli_col_t s_cols[] = {
    {"Id", "Id"}, {"State", "Status"}, {"Tags", "Tags"}, {"Note", "Note"}, {NULL, NULL}};
static const char *const s_text_fields[] = {"Id", "Count", "Note", "Missing", NULL};
static const cli_view_t s_view = {"Items", s_cols, s_text_fields, "NextToken"};

static json_t *s_doc (void)
{
    return json_pack ("{s:[{s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}], s:s, s:i},"
                      "    {s:s, s:n, s:[], s:s, s:b}],"
                      " s:s}",
                      "Items", "Id", "i-1", "State", "Online", "Tags", "Key", "env", "Value",
                      "prod", "Key", "role", "Value", "web", "Note", "a\tb\nc", "Count", 3, "Id",
                      "instance-two", "State", "Tags", "Note", "héllo", "Flag", 1, "NextToken",
                      "50");
}

static void test_json (void)
{
    json_t *doc = json_pack ("{s:i, s:s, s:n}", "Zed", 1, "Alpha", "x", "Null");
    s_expect_text (s_render (CLI_OUT_JSON, doc, &s_view),
                   "{\n    \"Zed\": 1,\n    \"Alpha\": \"x\",\n    \"Null\": null\n}\n");
    json_decref (doc);
}

static void test_table (void)
{
    json_t *doc = s_doc ();
    s_expect_text (s_render (CLI_OUT_TABLE, doc, &s_view),
                   "Id            Status  Tags               Note\n"
                   "i-1           Online  env=prod,role=web  a b c\n"
                   "instance-two  -       -                  héllo\n"
                   "\nNextToken: 50\n");
    json_decref (doc);

    /* a long cell is cut to CLI_CELL_MAX characters ending in "..." */
    char long_text[200];
    memset (long_text, 'x', 100);
    long_text[100] = 0;
    doc = json_pack ("{s:[{s:s, s:s}]}", "Items", "Id", long_text, "Note", "é");
    char *got = s_render (CLI_OUT_TABLE, doc, &s_view);
    char *row = strchr (got, '\n') + 1;
    char want[200];
    memset (want, 'x', CLI_CELL_MAX - 3);
    strcpy (want + CLI_CELL_MAX - 3, "...");
    CHECK (strncmp (row, want, CLI_CELL_MAX) == 0 && row[CLI_CELL_MAX] == ' ');
    free (got);
    json_decref (doc);

    /* no list in the document: the header alone */
    doc = json_pack ("{s:s}", "Other", "x");
    s_expect_text (s_render (CLI_OUT_TABLE, doc, &s_view), "Id  Status  Tags  Note\n");
    json_decref (doc);
    doc = json_pack ("{s:s}", "Items", "not a list");
    s_expect_text (s_render (CLI_OUT_TABLE, doc, &s_view), "Id  Status  Tags  Note\n");
    json_decref (doc);
}

static void test_single_record (void)
{
    static const cli_col_t cols[] = {
        {"Limit", "Limit"}, {"On", "On"}, {"Ratio", "Ratio"}, {"Obj", "Obj"}, {NULL, NULL}};
    static const cli_view_t view = {NULL, cols, NULL, NULL};
    json_t *doc =
        json_pack ("{s:i, s:b, s:f, s:{s:i}}", "Limit", 1000, "On", 0, "Ratio", 1.5, "Obj", "a", 1);
    s_expect_text (s_render (CLI_OUT_TABLE, doc, &view), "Limit  On     Ratio  Obj\n"
                                                         "1000   false  1.5    {\"a\":1}\n");
    s_expect_text (s_render (CLI_OUT_TEXT, doc, &view), "1000\tfalse\t1.5\t{\"a\":1}\n");
    json_decref (doc);

    /* null inside a list shows as "null"; an empty string as "-" */
    doc =
        json_pack ("{s:[s,n,i], s:s, s:s, s:s}", "Limit", "a", 2, "On", "", "Ratio", "", "Obj", "");
    s_expect_text (s_render (CLI_OUT_TABLE, doc, &view), "Limit     On  Ratio  Obj\n"
                                                         "a,null,2  -   -      -\n");
    json_decref (doc);
}

static void test_text (void)
{
    json_t *doc = s_doc ();
    s_expect_text (s_render (CLI_OUT_TEXT, doc, &s_view), "i-1\t3\ta b c\t\n"
                                                          "instance-two\t\théllo\t\n"
                                                          "NEXTTOKEN\t50\n");
    /* no NextToken line when it is empty or null */
    json_object_set_new (doc, "NextToken", json_string (""));
    s_expect_text (s_render (CLI_OUT_TEXT, doc, &s_view),
                   "i-1\t3\ta b c\t\ninstance-two\t\théllo\t\n");
    json_object_set_new (doc, "NextToken", json_null ());
    char *got = s_render (CLI_OUT_TABLE, doc, &s_view);
    CHECK (strstr (got, "NextToken") == NULL);
    free (got);
    json_decref (doc);

    /* without text fields, the table's columns */
    static const cli_view_t view = {"Items", s_cols, NULL, NULL};
    doc = json_pack ("{s:[{s:s, s:s}]}", "Items", "Id", "a", "State", "b");
    s_expect_text (s_render (CLI_OUT_TEXT, doc, &view), "a\tb\t\t\n");
    json_decref (doc);
}

static int s_print_to_full (void *arg)
{
    int rc = s_print (arg);
    __fpurge (stdout);
    clearerr (stdout);
    return rc;
}

static void test_write_error (void)
{
    int full = open ("/dev/full", O_WRONLY);
    if (full < 0) {
        fprintf (stderr, "/dev/full missing; write-error check skipped\n");
        return;
    }
    json_t *doc = s_doc ();
    print_args_t p = {.doc = doc, .view = &s_view};
    p.ctx.output = CLI_OUT_TABLE;
    fflush (stdout);
    int saved = dup (STDOUT_FILENO);
    dup2 (full, STDOUT_FILENO);
    int rc = s_print_to_full (&p);
    p.ctx.output = CLI_OUT_JSON;
    int rc2 = s_print_to_full (&p);
    dup2 (saved, STDOUT_FILENO);
    close (saved);
    close (full);
    CHECK (rc == PH_EIO);
    CHECK (rc2 == PH_EIO);
    json_decref (doc);
}

static int s_error_plain (void *arg)
{
    (void)arg;
    return cli_error (PH_EXIT_CONFIG, "no key for profile %s", "dev");
}

static int s_error_prefixed (void *arg)
{
    (void)arg;
    return cli_error (PH_EXIT_API, "porthole: AccessDenied: %s", "nope");
}

static int s_usage_verb (void *arg)
{
    (void)arg;
    return cli_usage_error ("start-session", "needs --target");
}

static int s_usage_program (void *arg)
{
    (void)arg;
    return cli_usage_error (NULL, "'%s' is not a porthole command", "frob");
}

static void test_messages (void)
{
    int rc;
    s_expect_text (s_capture (STDERR_FILENO, s_error_plain, NULL, &rc),
                   "porthole: no key for profile dev\n");
    CHECK (rc == PH_EXIT_CONFIG);
    s_expect_text (s_capture (STDERR_FILENO, s_error_prefixed, NULL, &rc),
                   "porthole: AccessDenied: nope\n");
    CHECK (rc == PH_EXIT_API);
    s_expect_text (s_capture (STDERR_FILENO, s_usage_verb, NULL, &rc),
                   "porthole: needs --target\n"
                   "Run 'porthole start-session --help' for its options.\n");
    CHECK (rc == PH_EXIT_USAGE);
    s_expect_text (s_capture (STDERR_FILENO, s_usage_program, NULL, &rc),
                   "porthole: 'frob' is not a porthole command\n"
                   "Run 'porthole --help' for the list of commands and options.\n");
    CHECK (rc == PH_EXIT_USAGE);
}

int main (void)
{
    test_helpers ();
    test_json ();
    test_table ();
    test_single_record ();
    test_text ();
    test_write_error ();
    test_messages ();
    PH_TEST_END ();
}
