/*  porthole-logshipper: command line and start-up.
 *
 *    run               the daemon (ls_server.c, ls_put.c)
 *    keygen FILE       the logshipper's CURVE keypair
 *    put-log-events    ship one batch as an instance (ls_client.c)
 *
 *  Start-up may block (key file, pid file, binding); once the reactor runs,
 *  nothing blocks. The record that tells controllers (and through them the
 *  agents) where this logshipper is, is written from the reactor as soon as
 *  Redis is connected, and deleted at a clean exit.
 */
#include "ls.h"
#include "ph_daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROG             "porthole-logshipper"
#define DEFAULT_REDIS    PH_DAEMON_DEFAULT_REDIS
#define DEFAULT_KEY_FILE "/etc/porthole/logshipper.key"
#define DEFAULT_BIND     "tcp://*:7620"

static const char s_usage[] =
    "Usage: " PROG " COMMAND [options]\n"
    "\n"
    "The porthole logshipper: receives session transcripts from agents and\n"
    "appends them to log groups and streams in Redis.\n"
    "\n"
    "Commands:\n"
    "  run                  run the daemon\n"
    "  keygen FILE          create the logshipper's CURVE keypair\n"
    "  put-log-events       ship one batch with an instance key (checks, tests)\n"
    "\n"
    "Options:\n"
    "  -h, --help           this text ('" PROG " COMMAND --help' for a command)\n"
    "  -V, --version        print the version\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 65 bad key file or configuration,\n"
    "69 Redis unreachable or the endpoint cannot be bound.\n";

static const char s_usage_run[] =
    "Usage: " PROG " run [options]\n"
    "\n"
    "Runs the logshipper until SIGTERM or SIGINT. Logs go to stderr\n"
    "(PORTHOLE_LOG=debug|info|warn|error, default info).\n"
    "\n"
    "Options:\n"
    "  --redis URL                       Redis (redis://HOST:PORT[/DB] or unix:///PATH);\n"
    "                                    default $PORTHOLE_REDIS_URL, else " DEFAULT_REDIS "\n"
    "  --key-file F                      CURVE keypair (default " DEFAULT_KEY_FILE ")\n"
    "  --bind EP                         agents endpoint (default " DEFAULT_BIND ")\n"
    "  --advertise-endpoint EP           where agents reach this logshipper (sent to them\n"
    "                                    by the controllers); default the bind with '*'\n"
    "                                    replaced by 127.0.0.1. Set it in multi-host setups.\n"
    "  --auto-create-log-groups BOOL     create an unknown log group on its first batch\n"
    "                                    (default true); false: such batches are refused\n"
    "                                    with ResourceNotFound\n"
    "  --pid-file F                      write the pid here; removed at exit\n"
    "  -h, --help                        this text\n"
    "\n"
    "Exit codes: 0 stopped by a signal, 64 bad arguments, 65 bad key file or pid\n"
    "file, 69 Redis unreachable at start or the endpoint cannot be bound.\n";

static const char s_usage_keygen[] =
    "Usage: " PROG " keygen FILE [--force]\n"
    "\n"
    "Creates a CURVE keypair in FILE (mode 0600) and prints its public key (Z85)\n"
    "as the last line of stdout; agents receive it from the controllers.\n"
    "\n"
    "Options:\n"
    "  --force      overwrite FILE if it exists (default: refuse)\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 65 FILE exists or cannot be written.\n";

static int s_usage_error (const char *cmd, const char *fmt, const char *arg)
{
    return ph_daemon_usage_error (PROG, cmd, fmt, arg);
}

/* ---- run ------------------------------------------------------------------ */

enum { OPT_REDIS = 256, OPT_KEY, OPT_BIND, OPT_ADV, OPT_AUTO, OPT_PID };

static int s_parse_run_option (int c, void *arg)
{
    ls_options_t *opt = arg;
    switch (c) {
    case OPT_REDIS:
        opt->redis_url = optarg;
        return 0;
    case OPT_KEY:
        opt->key_file = optarg;
        return 0;
    case OPT_BIND:
        opt->bind = optarg;
        return 0;
    case OPT_ADV:
        snprintf (opt->advertise, sizeof opt->advertise, "%s", optarg);
        return 0;
    case OPT_AUTO:
        if (ph_parse_bool (optarg, &opt->auto_create) != 0)
            return s_usage_error (
                "run", "--auto-create-log-groups must be true or false (got '%s')", optarg);
        return 0;
    case OPT_PID:
        opt->pid_file = optarg;
        return 0;
    default:
        return PH_EXIT_USAGE;
    }
}

/*  Parses the run options. Returns 0, PH_EXIT_USAGE, or -1 after --help. */
static int s_parse_run (int argc, char **argv, ls_options_t *opt)
{
    static const struct option opts[] = {{"redis", required_argument, 0, OPT_REDIS},
                                         {"key-file", required_argument, 0, OPT_KEY},
                                         {"bind", required_argument, 0, OPT_BIND},
                                         {"advertise-endpoint", required_argument, 0, OPT_ADV},
                                         {"auto-create-log-groups", required_argument, 0, OPT_AUTO},
                                         {"pid-file", required_argument, 0, OPT_PID},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *opt = (ls_options_t){.redis_url = ph_daemon_default_redis (),
                          .key_file = DEFAULT_KEY_FILE,
                          .bind = DEFAULT_BIND,
                          .auto_create = true};
    int rc = ph_daemon_getopt (PROG, "run", s_usage_run, argc, argv, opts, s_parse_run_option, opt);
    if (rc || (rc = ph_daemon_check_redis_url (PROG, "run", opt->redis_url)))
        return rc;
    if (!*opt->advertise)
        ph_daemon_advertised (opt->bind, opt->advertise, sizeof opt->advertise);
    return 0;
}

/*  Checks that Redis answers before going into the background loop, so
 *  that a wrong URL is an exit code and not a silent retry loop. */
static int s_check_redis (const char *url)
{
    ph_redis_sync_t *redis = ph_daemon_redis_connect (url);
    if (!redis)
        return PH_EXIT_UNAVAIL;
    ph_redis_sync_destroy (&redis);
    return 0;
}

/*  Best effort at a clean exit: controllers stop handing this one out. */
static void s_unregister (const char *url, const char *lid)
{
    char err[PH_ERRTEXT_MAX];
    ph_redis_sync_t *redis = ph_redis_sync_new (url, err, sizeof err);
    if (!redis)
        return;
    ph_reply_t *r = ph_redis_sync_cmd (redis, "DEL ph:logshipper:{%s}", lid);
    ph_reply_free (&r);
    r = ph_redis_sync_cmd (redis, "SREM ph:logshippers %s", lid);
    ph_reply_free (&r);
    ph_redis_sync_destroy (&redis);
}

static int s_cmd_run (int argc, char **argv)
{
    ls_options_t opt;
    int rc = s_parse_run (argc, argv, &opt);
    if (rc)
        return rc < 0 ? PH_EXIT_OK : rc;
    ph_keypair_t keys;
    if ((rc = ph_daemon_load_keys (PROG, opt.key_file, &keys)) ||
        (rc = s_check_redis (opt.redis_url)))
        return rc;
    char lid[LS_LID_MAX], err[PH_ERRTEXT_MAX];
    ph_daemon_node_id ("l-", lid, sizeof lid);
    ls_t *ls = ls_new (&opt, &keys, lid, err, sizeof err);
    if (!ls) {
        ph_error ("%s", err);
        return PH_EXIT_UNAVAIL;
    }
    if (opt.pid_file && (rc = ph_daemon_write_pid (opt.pid_file))) {
        ls_destroy (&ls);
        return rc;
    }
    ls_run (ls);
    ls_destroy (&ls);
    s_unregister (opt.redis_url, lid);
    if (opt.pid_file)
        unlink (opt.pid_file);
    return PH_EXIT_OK;
}

int main (int argc, char **argv)
{
    ph_log_init (PROG);
    int rc = ph_daemon_main_prelude (PROG, s_usage, argc, argv);
    if (rc >= 0)
        return rc;
    const char *cmd = argv[1];
    if (!strcmp (cmd, "run"))
        return s_cmd_run (argc - 1, argv + 1);
    if (!strcmp (cmd, "keygen"))
        return ph_daemon_keygen (PROG, s_usage_keygen, "", argc - 1, argv + 1);
    if (!strcmp (cmd, "put-log-events"))
        return ls_client_main (argc - 1, argv + 1);
    return s_usage_error ("", "unknown command '%s' (run, keygen, put-log-events)", cmd);
}
