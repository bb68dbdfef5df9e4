/*  Unit tests of cli/cli_help.c: every verb that main.c accepts has a help
 *  text that starts with its usage line, documents each of its options and
 *  the exit codes it can return; the program's help names the global
 *  options, the environment variables the CLI reads and the exit codes.
 *  The one-word verbs and their options below mirror main.c's tables (a
 *  verb or an option added there without help shows up here); the iam and
 *  audit groups are walked through their own tables. */
#include "cli_group.h"
#include "cli_help.h"
#include "ph_test.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *verb;
    const char *opts[8];
    bool session; /* exits with the remote status, 75, 76 */
} verb_doc_t;

static const verb_doc_t s_verbs[] = {
    {"configure", {"--endpoint", "--server-key", "--profile"}, false},
    {"create-activation",
     {"--tags", "--registration-limit", "--expires-in", "--description"},
     false},
    {"describe-instance-information",
     {"--filters", "--max-results", "--next-token", "--no-paginate"},
     false},
    {"start-session", {"--target", "--reason", "--command"}, true},
    {"resume-session", {"--session-id"}, true},
    {"terminate-session", {"--session-id"}, false},
    {"describe-sessions", {"--state", "--filters", "--max-results", "--next-token"}, false},
    {"get-preferences", {NULL}, false},
    {"update-preferences",
     {"--idle-session-timeout", "--max-session-duration", "--run-as-enabled",
      "--run-as-default-user", "--admin-rights", "--shell-profile"},
     false},
};

static void s_expect_in (const char *what, const char *text, const char *want)
{
    if (!text || !strstr (text, want)) {
        fprintf (stderr, "%s: help lacks '%s'\n", what, want);
        CHECK (false);
    } else
        CHECK (true);
}

static void test_verbs (void)
{
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++) {
        const verb_doc_t *v = &s_verbs[i];
        const char *text = cli_help_verb (v->verb);
        CHECK (text != NULL);
        if (!text)
            continue;
        char usage[128];
        snprintf (usage, sizeof usage, "Usage: porthole %s", v->verb);
        CHECK (strncmp (text, usage, strlen (usage)) == 0);
        CHECK (text[strlen (text) - 1] == '\n');
        for (size_t k = 0; v->opts[k]; k++)
            s_expect_in (v->verb, text, v->opts[k]);
        s_expect_in (v->verb, text, "Exit status:");
        s_expect_in (v->verb, text, "64");
        s_expect_in (v->verb, text, "65");
        if (strcmp (v->verb, "configure") != 0) {
            s_expect_in (v->verb, text, "--profile NAME");
            s_expect_in (v->verb, text, "--output FORMAT");
            s_expect_in (v->verb, text, "--timeout SECONDS");
            s_expect_in (v->verb, text, "69");
            s_expect_in (v->verb, text, "70");
            s_expect_in (v->verb, text, "77");
        }
        if (v->session) {
            s_expect_in (v->verb, text, "75");
            s_expect_in (v->verb, text, "76");
            s_expect_in (v->verb, text, "~.");
        }
    }
    CHECK (cli_help_verb ("frobnicate") == NULL);
    CHECK (cli_help_verb ("") == NULL);
    CHECK (cli_help_verb ("help") == NULL);
}

/*  Every verb of the iam and audit groups: its help starts with its usage,
 *  documents each option of its table and the API exit codes. */
static void test_groups (void)
{
    const cli_group_t *groups[] = {&cli_iam_group, &cli_audit_group};
    for (size_t g = 0; g < 2; g++)
        for (const cli_verb_t *v = groups[g]->verbs; v->name; v++) {
            const char *text = cli_help_verb (v->name);
            CHECK (text != NULL);
            if (!text) {
                fprintf (stderr, "no help for '%s'\n", v->name);
                continue;
            }
            CHECK (cli_help_iam_verb (v->name) == text);
            char usage[128];
            snprintf (usage, sizeof usage, "Usage: porthole %s", v->name);
            CHECK (strncmp (text, usage, strlen (usage)) == 0);
            for (const cli_opt_t *o = v->opts; o->name; o++) {
                char opt[80];
                snprintf (opt, sizeof opt, "--%s", o->name);
                s_expect_in (v->name, text, opt);
            }
            s_expect_in (v->name, text, "Exit status:");
            s_expect_in (v->name, text, "64");
            s_expect_in (v->name, text, "77");
        }
    CHECK (cli_help_iam_verb ("iam frobnicate") == NULL);
    CHECK (cli_help_iam_verb ("create-user") == NULL);
}

static void test_program (void)
{
    const char *head = cli_help_head (), *tail = cli_help_tail ();
    CHECK (head && strncmp (head, "Usage: porthole", 15) == 0);
    const char *want[] = {"--profile",
                          "--output",
                          "--timeout",
                          "--help",
                          "--version",
                          "PORTHOLE_CONFIG_DIR",
                          "PORTHOLE_ENDPOINT",
                          "PORTHOLE_SERVER_KEY",
                          "PORTHOLE_PROFILE",
                          "PORTHOLE_OUTPUT",
                          "PORTHOLE_LOG",
                          "Exit status:",
                          "64",
                          "65",
                          "69",
                          "70",
                          "75",
                          "76",
                          "77",
                          NULL};
    for (size_t i = 0; want[i]; i++)
        s_expect_in ("porthole --help", tail, want[i]);
}

int main (void)
{
    test_verbs ();
    test_groups ();
    test_program ();
    PH_TEST_END ();
}
