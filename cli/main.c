/*  porthole: the user's command line (DESIGN.md §1, docs/architecture.md).
 *
 *  main resolves the global options (--profile, --output, --timeout, with
 *  their environment defaults), finds the verb in s_verbs, checks its
 *  options and runs it. Verbs return the process exit code; see
 *  cli_help.c for what each code means.
 */
#include "cli.h"
#include "cli_args.h"
#include "cli_group.h"
#include "cli_help.h"
#include "cli_output.h"
#include "cli_profile.h"
#include "cli_session.h"
#include "cli_verbs.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_version.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_opt_t s_globals[] = {{"profile", 0},
                                      {"output", 0},
                                      {"timeout", 0},
                                      {"help", CLI_OPT_FLAG},
                                      {"version", CLI_OPT_FLAG},
                                      {NULL, 0}};

static const cli_opt_t s_configure_opts[] = {{"endpoint", 0}, {"server-key", 0}, {NULL, 0}};
static const cli_opt_t s_activation_opts[] = {
    {"tags", 0}, {"registration-limit", 0}, {"expires-in", 0}, {"description", 0}, {NULL, 0}};
static const cli_opt_t s_instances_opts[] = {{"filters", CLI_OPT_REPEAT},
                                             {"max-results", 0},
                                             {"next-token", 0},
                                             {"no-paginate", CLI_OPT_FLAG},
                                             {NULL, 0}};
static const cli_opt_t s_start_opts[] = {{"target", 0}, {"reason", 0}, {"command", 0}, {NULL, 0}};
static const cli_opt_t s_session_id_opts[] = {{"session-id", 0}, {NULL, 0}};
static const cli_opt_t s_sessions_opts[] = {
    {"state", 0}, {"filters", CLI_OPT_REPEAT}, {"max-results", 0}, {"next-token", 0}, {NULL, 0}};
static const cli_opt_t s_no_opts[] = {{NULL, 0}};
static const cli_opt_t s_update_prefs_opts[] = {{"idle-session-timeout", 0},
                                                {"max-session-duration", 0},
                                                {"run-as-enabled", 0},
                                                {"run-as-default-user", 0},
                                                {"admin-rights", 0},
                                                {"shell-profile", 0},
                                                {"log-group", 0},
                                                {"streaming-enabled", 0},
                                                {"encryption-enabled", 0},
                                                {"log-input", 0},
                                                {NULL, 0}};

static const cli_verb_t s_verbs[] = {
    {"configure", cli_verb_configure, s_configure_opts,
     "write a profile (endpoint, server key) and make your key", NULL},
    {"create-activation", cli_verb_create_activation, s_activation_opts,
     "create an activation with which machines register", NULL},
    {"describe-instance-information", cli_verb_describe_instances, s_instances_opts,
     "list managed instances and whether they are online", NULL},
    {"start-session", cli_verb_start_session, s_start_opts,
     "open a shell on an instance, or run a --command there", NULL},
    {"resume-session", cli_verb_resume_session, s_session_id_opts, "reattach to a running session",
     NULL},
    {"terminate-session", cli_verb_terminate_session, s_session_id_opts, "end a session", NULL},
    {"describe-sessions", cli_verb_describe_sessions, s_sessions_opts,
     "list active sessions or session history", NULL},
    {"get-preferences", cli_verb_get_preferences, s_no_opts, "show the session preferences", NULL},
    {"update-preferences", cli_verb_update_preferences, s_update_prefs_opts,
     "change the session preferences", NULL},
};
#define CLI_NVERBS (sizeof s_verbs / sizeof s_verbs[0])

static const cli_group_t *const s_groups[] = {
    &cli_iam_group,     &cli_audit_group,  &cli_logs_group,   &cli_session_group,
    &cli_metrics_group, &cli_alarms_group, &cli_topics_group, NULL};

static const cli_group_t *s_find_group (const char *name)
{
    for (size_t i = 0; s_groups[i]; i++)
        if (strcmp (s_groups[i]->name, name) == 0)
            return s_groups[i];
    return NULL;
}

static const cli_verb_t *s_find_verb (const char *name)
{
    for (size_t i = 0; i < CLI_NVERBS; i++)
        if (strcmp (s_verbs[i].name, name) == 0)
            return &s_verbs[i];
    return NULL;
}

static int s_main_help (FILE *out)
{
    fputs (cli_help_head (), out);
    for (size_t i = 0; i < CLI_NVERBS; i++)
        fprintf (out, "  %-31s%s\n", s_verbs[i].name, s_verbs[i].summary);
    for (size_t i = 0; s_groups[i]; i++)
        fprintf (out, "  %-31s%s\n", s_groups[i]->name, s_groups[i]->summary);
    fputs (cli_help_tail (), out);
    return PH_EXIT_OK;
}

/*  Fills ctx from the global options and the environment. Returns an exit
 *  code. */
static int s_globals_to_ctx (cli_ctx_t *ctx, const cli_args_t *args)
{
    const char *profile = cli_args_get (args, "profile");
    const char *output = cli_args_get (args, "output");
    const char *timeout = cli_args_get (args, "timeout");
    const char *verb = args->verb;
    uint64_t seconds = CLI_TIMEOUT_DEFAULT;
    if (!profile)
        profile = getenv ("PORTHOLE_PROFILE") ? getenv ("PORTHOLE_PROFILE") : CLI_PROFILE_DEFAULT;
    if (!ph_name_valid (profile))
        return cli_usage_error (verb,
                                "profile name '%s' may hold only letters, digits and _.@- "
                                "(at most 64)",
                                profile);
    snprintf (ctx->profile, sizeof ctx->profile, "%s", profile);
    const char *out_source = output ? "--output" : "$PORTHOLE_OUTPUT";
    if (!output)
        output = getenv ("PORTHOLE_OUTPUT") ? getenv ("PORTHOLE_OUTPUT") : "json";
    if (cli_output_parse (output, &ctx->output) != 0)
        return cli_usage_error (verb, "%s '%s' is not json, table or text", out_source, output);
    if (timeout && ph_parse_uint (timeout, 1, CLI_TIMEOUT_MAX, &seconds) != 0)
        return cli_usage_error (verb, "--timeout '%s' is not a number of seconds in 1..%d", timeout,
                                CLI_TIMEOUT_MAX);
    ctx->timeout_s = (int)seconds;
    if (cli_profile_dir (ctx->config_dir, sizeof ctx->config_dir) != 0)
        return cli_error (PH_EXIT_CONFIG, "no home directory is known; set PORTHOLE_CONFIG_DIR");
    return PH_EXIT_OK;
}

/*  "porthole help [VERB]" as a synonym of --help. */
static int s_help_verb (int argc, char **argv, int verb_at)
{
    if (verb_at + 1 >= argc)
        return s_main_help (stdout);
    const cli_group_t *group = s_find_group (argv[verb_at + 1]);
    if (group && verb_at + 2 >= argc) {
        cli_group_help (group, stdout);
        return PH_EXIT_OK;
    }
    if (group) {
        const cli_verb_t *v = cli_group_find (group, argv[verb_at + 2]);
        if (!v)
            return cli_usage_error (NULL, "'%s' is not a porthole %s command", argv[verb_at + 2],
                                    group->name);
        fputs (cli_help_verb (v->name), stdout);
        return PH_EXIT_OK;
    }
    const char *text = cli_help_verb (argv[verb_at + 1]);
    if (!text)
        return cli_usage_error (NULL, "'%s' is not a porthole command", argv[verb_at + 1]);
    fputs (text, stdout);
    return PH_EXIT_OK;
}

/*  Parses argv for verb (NULL: none given) at verb_at and runs it. */
static int s_run_verb (const cli_verb_t *verb, int argc, char **argv, int verb_at)
{
    cli_args_t args;
    char err[512];
    if (cli_args_parse (&args, argc, argv, verb_at, s_globals, verb ? verb->opts : NULL, err,
                        sizeof err) != 0)
        return cli_usage_error (verb ? verb->name : NULL, "%s", err);
    if (cli_args_has (&args, "help"))
        return verb ? (fputs (cli_help_verb (verb->name), stdout), PH_EXIT_OK)
                    : s_main_help (stdout);
    if (cli_args_has (&args, "version")) {
        printf ("porthole %s\n", PH_VERSION);
        return PH_EXIT_OK;
    }
    if (!verb)
        return cli_usage_error (NULL, "no command given");
    cli_ctx_t ctx;
    memset (&ctx, 0, sizeof ctx);
    ctx.verb = verb->name;
    int rc = s_globals_to_ctx (&ctx, &args);
    return rc != PH_EXIT_OK ? rc : verb->run (&ctx, &args);
}

/*  "porthole iam ...": finds the group's verb; without one, the group's
 *  help (on stdout for --help, else on stderr as a usage error). */
static int s_run_group (const cli_group_t *group, int argc, char **argv, int group_at)
{
    char *words[CLI_ARGV_MAX];
    int nwords = 0;
    const cli_verb_t *verb;
    char err[512];
    if (cli_group_resolve (group, argc, argv, group_at, s_globals, words, &nwords, &verb, err,
                           sizeof err) != 0)
        return cli_usage_error (group->name, "%s", err);
    if (verb)
        return s_run_verb (verb, nwords, words, group_at);
    for (int i = 1; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0) {
            cli_group_help (group, stdout);
            return PH_EXIT_OK;
        }
    return cli_usage_error (group->name, "porthole %s needs a command, e.g. porthole %s %s",
                            group->name, group->name,
                            group->verbs[0].name + strlen (group->name) + 1);
}

static int s_run (int argc, char **argv)
{
    int verb_at = cli_args_find_verb (argc, argv, s_globals);
    if (verb_at > 0 && strcmp (argv[verb_at], "help") == 0)
        return s_help_verb (argc, argv, verb_at);
    const cli_group_t *group = verb_at > 0 ? s_find_group (argv[verb_at]) : NULL;
    if (group)
        return s_run_group (group, argc, argv, verb_at);
    const cli_verb_t *verb = verb_at > 0 ? s_find_verb (argv[verb_at]) : NULL;
    if (verb_at > 0 && !verb)
        return cli_usage_error (NULL, "'%s' is not a porthole command", argv[verb_at]);
    return s_run_verb (verb, argc, argv, verb_at);
}

int main (int argc, char **argv)
{
    ph_log_init ("porthole");
    /* czmq must not take SIGINT/SIGTERM: sessions forward them (cli_term) */
    zsys_handler_set (NULL);
    int rc = s_run (argc, argv);
    fflush (stdout);
    return rc;
}
