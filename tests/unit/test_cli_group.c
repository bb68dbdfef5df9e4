/*  Unit tests of cli/cli_group.c: two-word commands ("porthole iam
 *  create-user NAME") are found in their group and argv is rewritten into
 *  an ordinary one-word command, with the bare NAME turned into the verb's
 *  positional option, wherever the global options stand; unknown verbs,
 *  a missing verb and over-long command lines; the group's help lists
 *  every verb. Uses the real iam and audit groups. */
#include "cli_group.h"
#include "ph_errors.h"
#include "ph_test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const cli_opt_t s_globals[] = {{"profile", 0},
                                      {"output", 0},
                                      {"timeout", 0},
                                      {"help", CLI_OPT_FLAG},
                                      {"version", CLI_OPT_FLAG},
                                      {NULL, 0}};

#define ARGV(...) ((char *[]){"porthole", __VA_ARGS__, NULL})

static int s_argc (char **argv)
{
    int n = 0;
    while (argv[n])
        n++;
    return n;
}

/*  Resolves argv (group word at group_at) and joins the result with
 *  spaces into joined. Returns the rc. */
static int s_resolve (const cli_group_t *g, char **argv, int group_at, const cli_verb_t **verb,
                      char *joined, size_t len, char *err, size_t errlen)
{
    char *out[CLI_ARGV_MAX];
    int n = 0;
    err[0] = joined[0] = 0;
    int rc =
        cli_group_resolve (g, s_argc (argv), argv, group_at, s_globals, out, &n, verb, err, errlen);
    if (rc == 0 && *verb)
        for (int i = 0; i < n; i++)
            snprintf (joined + strlen (joined), len - strlen (joined), "%s%s", i ? " " : "",
                      out[i]);
    return rc;
}

static void test_find (void)
{
    const cli_verb_t *v = cli_group_find (&cli_iam_group, "create-user");
    CHECK (v && strcmp (v->name, "iam create-user") == 0);
    CHECK (v && v->positional && strcmp (v->positional, "--user-name") == 0);
    CHECK (cli_group_find (&cli_iam_group, "verify") == NULL);
    CHECK (cli_group_find (&cli_audit_group, "verify") != NULL);
    CHECK (cli_group_find (&cli_iam_group, "create") == NULL);
    CHECK (cli_group_find (&cli_iam_group, "iam create-user") == NULL);
    CHECK (cli_group_find (&cli_iam_group, "") == NULL);
    /* every verb of a group is named "GROUP VERB" and found by VERB */
    const cli_group_t *groups[] = {&cli_iam_group, &cli_audit_group};
    for (size_t g = 0; g < 2; g++)
        for (const cli_verb_t *w = groups[g]->verbs; w->name; w++) {
            size_t len = strlen (groups[g]->name);
            CHECK (strncmp (w->name, groups[g]->name, len) == 0 && w->name[len] == ' ');
            CHECK (cli_group_find (groups[g], w->name + len + 1) == w);
            CHECK (w->run != NULL && w->opts != NULL && w->summary && *w->summary);
        }
}

static void test_resolve (void)
{
    const cli_verb_t *v;
    char joined[512], err[256];
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "create-user", "bob", "--tags", "team=web"), 1,
                      &v, joined, sizeof joined, err, sizeof err) == 0);
    CHECK (v == cli_group_find (&cli_iam_group, "create-user"));
    CHECK_STR (joined, "porthole create-user --tags team=web --user-name bob");

    /* globals before the group, between the words, and option values that
     * look like words */
    CHECK (s_resolve (&cli_iam_group,
                      ARGV ("--output", "json", "iam", "--profile", "p", "create-user", "--tags",
                            "a=b", "carol", "--timeout=5"),
                      3, &v, joined, sizeof joined, err, sizeof err) == 0);
    CHECK_STR (joined, "porthole --output json create-user --profile p --tags a=b --timeout=5 "
                       "--user-name carol");
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "--help", "delete-user", "dave"), 1, &v, joined,
                      sizeof joined, err, sizeof err) == 0);
    CHECK_STR (joined, "porthole delete-user --help --user-name dave");

    /* the positional given by name: nothing to move */
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "create-user", "--user-name", "erin"), 1, &v,
                      joined, sizeof joined, err, sizeof err) == 0);
    CHECK_STR (joined, "porthole create-user --user-name erin");

    /* a verb without a positional keeps its words */
    CHECK (s_resolve (&cli_audit_group, ARGV ("audit", "verify", "--from", "0-0"), 1, &v, joined,
                      sizeof joined, err, sizeof err) == 0);
    CHECK (v && v->positional == NULL);
    CHECK_STR (joined, "porthole verify --from 0-0");
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "list-users", "stray"), 1, &v, joined,
                      sizeof joined, err, sizeof err) == 0);
    CHECK_STR (joined, "porthole list-users stray"); /* left for the parser to refuse */

    /* no verb: the caller shows the group's help */
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam"), 1, &v, joined, sizeof joined, err,
                      sizeof err) == 0 &&
           v == NULL);
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "--help"), 1, &v, joined, sizeof joined, err,
                      sizeof err) == 0 &&
           v == NULL);
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "--profile", "p"), 1, &v, joined, sizeof joined,
                      err, sizeof err) == 0 &&
           v == NULL);

    /* refusals */
    CHECK (s_resolve (&cli_iam_group, ARGV ("iam", "frob", "x"), 1, &v, joined, sizeof joined, err,
                      sizeof err) == PH_EINVAL);
    CHECK_STR (err, "'frob' is not a porthole iam command");
    CHECK (v == NULL);
    CHECK (s_resolve (&cli_audit_group, ARGV ("audit", "create-user"), 1, &v, joined, sizeof joined,
                      err, sizeof err) == PH_EINVAL);
    CHECK_STR (err, "'create-user' is not a porthole audit command");

    static char *many[CLI_ARGV_MAX + 1];
    int n = 0;
    many[n++] = "porthole";
    many[n++] = "iam";
    many[n++] = "list-users";
    while (n < CLI_ARGV_MAX - 1)
        many[n++] = "--profile=x";
    many[n] = NULL;
    char *out[CLI_ARGV_MAX];
    int out_n;
    CHECK (cli_group_resolve (&cli_iam_group, n, many, 1, s_globals, out, &out_n, &v, err,
                              sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "too many arguments") != NULL);
    CHECK (cli_group_resolve (&cli_iam_group, CLI_ARGV_MAX - 2, many, 1, s_globals, out, &out_n, &v,
                              err, sizeof err) == 0);
    CHECK (out_n == CLI_ARGV_MAX - 3); /* the verb word took the group word's place */
}

static void test_help (void)
{
    const cli_group_t *groups[] = {&cli_iam_group, &cli_audit_group};
    for (size_t g = 0; g < 2; g++) {
        char path[] = "/tmp/ph-test-cli-group-XXXXXX";
        int fd = mkstemp (path);
        FILE *f = fdopen (fd, "w+");
        cli_group_help (groups[g], f);
        fflush (f);
        char text[8192];
        size_t n = (size_t)pread (fd, text, sizeof text - 1, 0);
        text[n] = 0;
        fclose (f);
        unlink (path);
        char want[128];
        snprintf (want, sizeof want, "Usage: porthole %s COMMAND [OPTIONS]\n", groups[g]->name);
        CHECK (strncmp (text, want, strlen (want)) == 0);
        size_t len = strlen (groups[g]->name);
        for (const cli_verb_t *v = groups[g]->verbs; v->name; v++) {
            snprintf (want, sizeof want, "  %s ", v->name + len + 1);
            CHECK (strstr (text, want) != NULL);
            CHECK (strstr (text, v->summary) != NULL);
        }
    }
}

int main (void)
{
    test_find ();
    test_resolve ();
    test_help ();
    PH_TEST_END ();
}
