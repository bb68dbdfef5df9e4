/*  Unit tests of cli/cli_args.c: where the verb is, global and verb
 *  options on either side of it, --name=value, flags, repeatable options
 *  and the plain words that continue them, and every refusal (unknown or
 *  short options, missing values, values given to flags, repeats, stray
 *  words, too many values). */
#include "cli_args.h"
#include "ph_errors.h"
#include "ph_test.h"

#include <stdio.h>
#include <string.h>

static const cli_opt_t s_globals[] = {{"profile", 0},
                                      {"output", 0},
                                      {"timeout", 0},
                                      {"help", CLI_OPT_FLAG},
                                      {"version", CLI_OPT_FLAG},
                                      {NULL, 0}};

static const cli_opt_t s_verb_opts[] = {
    {"state", 0}, {"filters", CLI_OPT_REPEAT}, {"max-results", 0}, {"reason", 0}, {NULL, 0}};

#define ARGV(...) ((char *[]){"porthole", __VA_ARGS__, NULL})

static int s_argc (char **argv)
{
    int n = 0;
    while (argv[n])
        n++;
    return n;
}

/*  Finds the verb and parses argv as main.c does. Returns the rc of
 *  cli_args_parse; err holds its message. */
static int s_parse (cli_args_t *args, char **argv, char *err, size_t errlen)
{
    int argc = s_argc (argv);
    int verb_at = cli_args_find_verb (argc, argv, s_globals);
    err[0] = 0;
    return cli_args_parse (args, argc, argv, verb_at, s_globals, s_verb_opts, err, errlen);
}

static void test_find_verb (void)
{
    char **a = ARGV ("--profile", "p", "describe-sessions", "--state", "Active");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == 3);
    a = ARGV ("--output=json", "get-preferences");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == 2);
    a = ARGV ("--help");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == -1);
    a = ARGV ("-h", "start-session");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == 2);
    a = ARGV ("--version", "--help", "describe-sessions");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == 3);
    /* a verb option before the verb is taken to have a value */
    a = ARGV ("--state", "Active", "describe-sessions");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == 3);
    a = ARGV ("--state=Active", "describe-sessions");
    CHECK (cli_args_find_verb (s_argc (a), a, s_globals) == 2);
    char *none[] = {"porthole", NULL};
    CHECK (cli_args_find_verb (1, none, s_globals) == -1);
}

static void test_globals_anywhere (void)
{
    cli_args_t args;
    char err[256];
    int rc = s_parse (&args,
                      ARGV ("describe-sessions", "--state", "Active", "--profile", "prod",
                            "--output=table", "--timeout", "5"),
                      err, sizeof err);
    CHECK (rc == 0);
    CHECK_STR (args.verb, "describe-sessions");
    CHECK_STR (cli_args_get (&args, "state"), "Active");
    CHECK_STR (cli_args_get (&args, "profile"), "prod");
    CHECK_STR (cli_args_get (&args, "output"), "table");
    CHECK_STR (cli_args_get (&args, "timeout"), "5");
    CHECK (!cli_args_has (&args, "help"));
    CHECK (cli_args_get (&args, "max-results") == NULL);

    rc = s_parse (&args, ARGV ("--profile=dev", "--state", "History", "describe-sessions"), err,
                  sizeof err);
    CHECK (rc == 0);
    CHECK_STR (args.verb, "describe-sessions");
    CHECK_STR (cli_args_get (&args, "profile"), "dev");
    CHECK_STR (cli_args_get (&args, "state"), "History");

    /* no verb at all: only globals */
    rc = s_parse (&args, ARGV ("--version"), err, sizeof err);
    CHECK (rc == 0 && args.verb == NULL && cli_args_has (&args, "version"));
    CHECK_STR (cli_args_get (&args, "version"), "");
}

static void test_flags_and_values (void)
{
    cli_args_t args;
    char err[256];
    CHECK (s_parse (&args, ARGV ("describe-sessions", "-h"), err, sizeof err) == 0);
    CHECK (cli_args_has (&args, "help"));
    CHECK (s_parse (&args, ARGV ("describe-sessions", "--help"), err, sizeof err) == 0);
    CHECK (cli_args_has (&args, "help"));

    /* "=" keeps everything after the first '=' and allows an empty value */
    CHECK (s_parse (&args, ARGV ("start-session", "--reason=a=b c"), err, sizeof err) == 0);
    CHECK_STR (cli_args_get (&args, "reason"), "a=b c");
    CHECK (s_parse (&args, ARGV ("start-session", "--reason="), err, sizeof err) == 0);
    CHECK (cli_args_has (&args, "reason"));
    CHECK_STR (cli_args_get (&args, "reason"), "");

    /* the next word is the value even when it looks like an option */
    CHECK (s_parse (&args, ARGV ("start-session", "--reason", "-x"), err, sizeof err) == 0);
    CHECK_STR (cli_args_get (&args, "reason"), "-x");
    /* a lone "-" is a word, not an option */
    CHECK (s_parse (&args, ARGV ("start-session", "--reason", "why", "-"), err, sizeof err) ==
           PH_EINVAL);
    CHECK (strstr (err, "unexpected argument '-'") != NULL);
}

static void test_repeat (void)
{
    cli_args_t args;
    char err[256];
    int rc = s_parse (&args,
                      ARGV ("describe-sessions", "--filters", "A", "B", "--state", "Active",
                            "--filters=C", "--filters", "D"),
                      err, sizeof err);
    CHECK (rc == 0);
    CHECK (cli_args_count (&args, "filters") == 4);
    CHECK_STR (cli_args_nth (&args, "filters", 0), "A");
    CHECK_STR (cli_args_nth (&args, "filters", 1), "B");
    CHECK_STR (cli_args_nth (&args, "filters", 2), "C");
    CHECK_STR (cli_args_nth (&args, "filters", 3), "D");
    CHECK (cli_args_nth (&args, "filters", 4) == NULL);
    CHECK_STR (cli_args_get (&args, "filters"), "D"); /* the last one */
    CHECK (cli_args_count (&args, "state") == 1);
    CHECK (cli_args_count (&args, "nothing") == 0);
    CHECK (cli_args_nth (&args, "nothing", 0) == NULL);

    /* "--filters=X" does not open a continuation: the next word is stray */
    rc = s_parse (&args, ARGV ("describe-sessions", "--filters=X", "Y"), err, sizeof err);
    CHECK (rc == PH_EINVAL && strstr (err, "unexpected argument 'Y'"));

    /* a non-repeatable option ends the continuation */
    rc = s_parse (&args, ARGV ("describe-sessions", "--filters", "A", "--state", "Active", "B"),
                  err, sizeof err);
    CHECK (rc == PH_EINVAL && strstr (err, "unexpected argument 'B'"));

    /* the verb ends the continuation of a repeatable option before it */
    rc = s_parse (&args, ARGV ("--filters", "A", "describe-sessions", "B"), err, sizeof err);
    CHECK (rc == PH_EINVAL && strstr (err, "unexpected argument 'B'"));
}

static void test_refusals (void)
{
    cli_args_t args;
    char err[256];
    CHECK (s_parse (&args, ARGV ("describe-sessions", "--bogus", "1"), err, sizeof err) ==
           PH_EINVAL);
    CHECK (strstr (err, "unknown option '--bogus'") != NULL);
    CHECK (s_parse (&args, ARGV ("describe-sessions", "--bogus=1"), err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "unknown option '--bogus'") != NULL && !strstr (err, "=1"));

    CHECK (s_parse (&args, ARGV ("describe-sessions", "-s", "Active"), err, sizeof err) ==
           PH_EINVAL);
    CHECK (strstr (err, "'-s'") && strstr (err, "long"));
    CHECK (s_parse (&args, ARGV ("describe-sessions", "--"), err, sizeof err) == PH_EINVAL);

    CHECK (s_parse (&args, ARGV ("describe-sessions", "--state"), err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "--state needs a value") != NULL);

    CHECK (s_parse (&args, ARGV ("describe-sessions", "--help=yes"), err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "--help takes no value") != NULL);

    CHECK (s_parse (&args, ARGV ("describe-sessions", "--state", "A", "--state=B"), err,
                    sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "--state is given more than once") != NULL);
    CHECK (s_parse (&args, ARGV ("--profile", "a", "describe-sessions", "--profile", "b"), err,
                    sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "--profile is given more than once") != NULL);
    CHECK (s_parse (&args, ARGV ("-h", "describe-sessions", "--help"), err, sizeof err) ==
           PH_EINVAL);

    CHECK (s_parse (&args, ARGV ("describe-sessions", "--state", "Active", "extra"), err,
                    sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "unexpected argument 'extra'") != NULL);

    /* verb options are unknown when no verb table is given */
    char *argv[] = {"porthole", "--state", "x", NULL};
    CHECK (cli_args_parse (&args, 3, argv, -1, s_globals, NULL, err, sizeof err) == PH_EINVAL);
    CHECK (strstr (err, "unknown option '--state'") != NULL);
}

static void test_too_many (void)
{
    static char *argv[CLI_ARGS_MAX + 8];
    cli_args_t args;
    char err[256];
    int argc = 0;
    argv[argc++] = "porthole";
    argv[argc++] = "describe-instance-information";
    argv[argc++] = "--filters";
    for (int i = 0; i < CLI_ARGS_MAX; i++)
        argv[argc++] = "Key=a,Values=b";
    argv[argc] = NULL;
    /* exactly CLI_ARGS_MAX values fit */
    CHECK (cli_args_parse (&args, argc, argv, 1, s_globals, s_verb_opts, err, sizeof err) == 0);
    CHECK (cli_args_count (&args, "filters") == CLI_ARGS_MAX);
    argv[argc++] = "Key=c,Values=d";
    argv[argc] = NULL;
    CHECK (cli_args_parse (&args, argc, argv, 1, s_globals, s_verb_opts, err, sizeof err) ==
           PH_EINVAL);
    CHECK (strstr (err, "too many options") != NULL);
}

int main (void)
{
    test_find_verb ();
    test_globals_anywhere ();
    test_flags_and_values ();
    test_repeat ();
    test_refusals ();
    test_too_many ();
    PH_TEST_END ();
}
