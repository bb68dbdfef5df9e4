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
#include "ph_logcrypt.h"
#include "ph_daemon.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROG             "porthole-logshipper"
#define DEFAULT_REDIS    PH_DAEMON_DEFAULT_REDIS
#define DEFAULT_KEY_FILE "/etc/porthole/logshipper.key"
#define DEFAULT_BIND     "tcp://*:7620"
#define DEFAULT_MASTER   "/etc/porthole/logs-master.key"
#define DEFAULT_PROM     "127.0.0.1:9620"

static const char s_usage[] =
    "Usage: " PROG " COMMAND [options]\n"
    "\n"
    "The porthole logshipper: receives session transcripts from agents and\n"
    "appends them to log groups and streams in Redis.\n"
    "\n"
    "Commands:\n"
    "  run                  run the daemon\n"
    "  keygen FILE          create the logshipper's CURVE keypair\n"
    "  master-keygen FILE   create the master key of encrypted log groups\n"
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
    "  --master-key-file F               master key of encrypted log groups, the same\n"
    "                                    file on every logshipper (default\n"
    "                                    " DEFAULT_MASTER "); without it, batches for\n"
    "                                    encrypted groups are refused (agents keep them)\n"
    "  --metrics-listen HOST:PORT        Prometheus /metrics (default " DEFAULT_PROM ";\n"
    "                                    port 0: any free port, logged; off: none)\n"
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

static const char s_usage_master[] =
    "Usage: " PROG " master-keygen FILE\n"
    "\n"
    "Creates the master key of encrypted log groups in FILE (64 hex digits, mode\n"
    "0600). Give the same file to every logshipper (--master-key-file) and to\n"
    "nothing else: it wraps the data key of each encrypted log group. Never\n"
    "overwrites FILE: data encrypted under the old key would be lost.\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 65 FILE exists or cannot be written.\n";

static int s_usage_error (const char *cmd, const char *fmt, const char *arg)
{
    return ph_daemon_usage_error (PROG, cmd, fmt, arg);
}

/* ---- run ------------------------------------------------------------------ */

enum { OPT_REDIS = 256, OPT_KEY, OPT_BIND, OPT_ADV, OPT_AUTO, OPT_PID, OPT_MASTER, OPT_PROM };

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
    case OPT_MASTER:
        opt->master_key_file = optarg;
        return 0;
    case OPT_PROM:
        opt->metrics_listen = optarg;
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
                                         {"master-key-file", required_argument, 0, OPT_MASTER},
                                         {"metrics-listen", required_argument, 0, OPT_PROM},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    *opt = (ls_options_t){.redis_url = ph_daemon_default_redis (),
                          .key_file = DEFAULT_KEY_FILE,
                          .bind = DEFAULT_BIND,
                          .master_key_file = DEFAULT_MASTER,
                          .metrics_listen = DEFAULT_PROM,
                          .auto_create = true};
    int rc = ph_daemon_getopt (PROG, "run", s_usage_run, argc, argv, opts, s_parse_run_option, opt);
    if (rc || (rc = ph_daemon_check_redis_url (PROG, "run", opt->redis_url)))
        return rc;
    if (!*opt->advertise)
        ph_daemon_advertised (opt->bind, opt->advertise, sizeof opt->advertise);
    return 0;
}

/*  Checks that Redis answers before going into the background loop, so
 *  that a wrong URL is an exit code and not a silent retry loop; and that
 *  this logshipper's master key is the cluster's (its check value in
 *  ph:logs:kcv, set by the first logshipper with a key). */
static int s_check_redis (const char *url, const ls_options_t *opt, const uint8_t *master)
{
    ph_redis_sync_t *redis = ph_daemon_redis_connect (url);
    if (!redis)
        return PH_EXIT_UNAVAIL;
    int rc = 0;
    if (master) {
        char kcv[PH_LOGCRYPT_KCV_LEN + 1];
        ph_logcrypt_kcv (master, kcv);
        ph_reply_t *r = ph_redis_sync_cmd (redis, "SET ph:logs:kcv %s NX GET", kcv);
        const char *stored = ph_reply_str (r);
        if (!r || ph_reply_is_error (r)) {
            ph_error ("cannot check the master key in Redis: %s", stored ? stored : "no reply");
            rc = PH_EXIT_UNAVAIL;
        } else if (stored && strcmp (stored, kcv) != 0) {
            ph_error ("%s is not the master key the other logshippers use (its check value %s, "
                      "the cluster's %s); copy theirs",
                      opt->master_key_file, kcv, stored);
            rc = PH_EXIT_CONFIG;
        }
        ph_reply_free (&r);
    }
    ph_redis_sync_destroy (&redis);
    return rc;
}

/*  Loads the master key into master. Returns 0 (a missing file is a
 *  warning: this logshipper then refuses encrypted groups) or
 *  PH_EXIT_CONFIG. */
static int s_load_master (const ls_options_t *opt, uint8_t *master, bool *has)
{
    char err[PH_ERRTEXT_MAX];
    int rc = ph_logcrypt_master_load (opt->master_key_file, master, err, sizeof err);
    *has = rc == 0;
    if (rc == PH_ENOENT)
        ph_warn ("%s; until then batches for encrypted log groups are refused", err);
    else if (rc != 0) {
        ph_error ("%s", err);
        return PH_EXIT_CONFIG;
    }
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
    uint8_t master[PH_AEAD_KEY_LEN];
    bool has_master = false;
    if ((rc = ph_daemon_load_keys (PROG, opt.key_file, &keys)) ||
        (rc = s_load_master (&opt, master, &has_master)) ||
        (rc = s_check_redis (opt.redis_url, &opt, has_master ? master : NULL)))
        return rc;
    char lid[LS_LID_MAX], err[PH_ERRTEXT_MAX];
    ph_daemon_node_id ("l-", lid, sizeof lid);
    ls_t *ls = ls_new (&opt, &keys, has_master ? master : NULL, lid, err, sizeof err);
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

static int s_cmd_master_keygen (int argc, char **argv)
{
    if (argc >= 2 && (!strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))) {
        fputs (s_usage_master, stdout);
        return PH_EXIT_OK;
    }
    if (argc != 2 || argv[1][0] == '-')
        return s_usage_error ("master-keygen", "expected one argument, the key FILE%s", "");
    char err[PH_ERRTEXT_MAX];
    if (ph_logcrypt_master_create (argv[1], err, sizeof err) != 0) {
        ph_error ("%s", err);
        return PH_EXIT_CONFIG;
    }
    printf ("%s\n", argv[1]);
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
    if (!strcmp (cmd, "master-keygen"))
        return s_cmd_master_keygen (argc - 1, argv + 1);
    if (!strcmp (cmd, "put-log-events"))
        return ls_client_main (argc - 1, argv + 1);
    return s_usage_error ("", "unknown command '%s' (run, keygen, master-keygen, put-log-events)",
                          cmd);
}
