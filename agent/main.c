/*  porthole-agent: the program that runs on every managed machine
 *  (DESIGN.md §1). Two subcommands:
 *
 *    register  enroll this machine with a controller (agent_register.c)
 *    run       the daemon: one outgoing DEALER, sessions on one zloop
 *
 *  This file parses the command line, loads the state directory and sets
 *  the daemon up; the work is in the other agent_*.c modules (agent.h).
 */
#include "agent.h"
#include "agent_log.h"
#include "ph_config.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PH_MAIN_PATH_MAX 4096

static const char s_exit_codes[] =
    "Exit codes:\n"
    "  0   success\n"
    "  64  bad arguments, or the state directory is registered already (use --force)\n"
    "  65  missing or bad state: not registered, unreadable agent.conf or agent.key\n"
    "  69  the controller did not answer in time (wrong endpoint or key, or it is down)\n"
    "  70  the controller answered with an unexpected error\n"
    "  77  the activation was refused (wrong, expired or used up)\n";

static void s_usage_main (FILE *out)
{
    fprintf (out,
             "Usage: porthole-agent COMMAND [OPTIONS]\n"
             "\n"
             "The porthole agent: runs shell sessions and commands on this machine for\n"
             "people who connect through a porthole controller. It connects out to the\n"
             "controller and never listens on any port.\n"
             "\n"
             "Commands:\n"
             "  register   enroll this machine with a controller (once, as root)\n"
             "  run        run the agent daemon\n"
             "\n"
             "Options:\n"
             "  --help     show this help (also: porthole-agent COMMAND --help)\n"
             "  --version  print the version\n"
             "\n"
             "Environment: PORTHOLE_LOG=debug|info|warn|error (default info).\n"
             "\n%s",
             s_exit_codes);
}

static void s_usage_register (FILE *out)
{
    fprintf (out,
             "Usage: porthole-agent register --controller tcp://HOST:7610 --server-key KEY\n"
             "                               --activation-id ID --activation-code CODE\n"
             "                               [--state-dir DIR] [--force]\n"
             "\n"
             "Generates this agent's CURVE keypair, enrolls it with the controller using an\n"
             "activation (porthole create-activation), and saves agent.key and agent.conf in\n"
             "the state directory. Prints the new instance id (mi-...) as the last line of\n"
             "standard output. Nothing is written unless the controller accepts.\n"
             "\n"
             "Options:\n"
             "  --controller EP[,EP]   the controller's agents endpoint, tcp://HOST:7610;\n"
             "                         several controllers (up to 8) separated by commas:\n"
             "                         enrolls with the first, and the daemon fails over\n"
             "                         to the next when one gives no answer for 10 s\n"
             "  --server-key KEY       the controller's CURVE public key (40 Z85 characters)\n"
             "  --activation-id ID     activation id\n"
             "  --activation-code CODE activation code\n"
             "  --state-dir DIR        where to keep the agent's state (default %s,\n"
             "                         created with mode 0700)\n"
             "  --force                register again even if DIR holds a registration\n"
             "  --help                 show this help\n"
             "\n%s",
             PH_AGENT_STATE_DIR, s_exit_codes);
}

static void s_usage_run (FILE *out)
{
    fprintf (out,
             "Usage: porthole-agent run [--state-dir DIR] [--pid-file FILE] [--spool-max-mb N]\n"
             "           [--action-stop COMMAND] [--action-reboot COMMAND]\n"
             "\n"
             "Runs the agent daemon in the foreground: connects to the controller named in\n"
             "DIR/agent.conf (reconnecting with backoff for as long as it takes; with several\n"
             "in controller=, the next one after 10 s without an answer), heartbeats,\n"
             "and runs the sessions the controller opens. Logs go to standard error.\n"
             "Session transcripts are spooled in DIR/spool and shipped to the logshippers\n"
             "the controller names; what is spooled survives a restart and is sent then.\n"
             "SIGTERM or SIGINT hang up the running sessions and exit with 0.\n"
             "\n"
             "Options:\n"
             "  --state-dir DIR   the state written by register (default %s)\n"
             "  --pid-file FILE   write the daemon's pid to FILE (removed at exit; default none)\n"
             "  --spool-max-mb N  bound of the transcript spool in MiB (default %d); when it\n"
             "                    is full, sessions' output is held back until logshippers\n"
             "                    acknowledge what it holds\n"
             "  --action-stop COMMAND    what an alarm's instance:stop action runs (sh -c, as\n"
             "                    root; default \"" PH_AGENT_ACTION_STOP "\")\n"
             "  --action-reboot COMMAND  what instance:reboot runs (default\n"
             "                    \"" PH_AGENT_ACTION_REBOOT "\"); instance:end-sessions hangs\n"
             "                    up every session of this agent\n"
             "  --help            show this help\n"
             "\n%s",
             PH_AGENT_STATE_DIR, PH_SPOOL_MAX_MB_DFLT, s_exit_codes);
}

static int s_usage_error (const char *command, const char *fmt, const char *arg)
    __attribute__ ((format (printf, 2, 0)));

static int s_usage_error (const char *command, const char *fmt, const char *arg)
{
    fprintf (stderr, "%s: ", PH_AGENT_PROGRAM);
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "; see porthole-agent %s--help\n", command);
    return PH_EXIT_USAGE;
}

/* ---- register ------------------------------------------------------------ */

static int s_cmd_register (int argc, char **argv)
{
    static const struct option options[] = {
        {"controller", required_argument, NULL, 'c'},
        {"server-key", required_argument, NULL, 'k'},
        {"activation-id", required_argument, NULL, 'i'},
        {"activation-code", required_argument, NULL, 'a'},
        {"state-dir", required_argument, NULL, 'd'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ph_agent_register_opts_t o = {.state_dir = PH_AGENT_STATE_DIR};
    int c;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.controller = optarg;
            break;
        case 'k':
            o.server_key = optarg;
            break;
        case 'i':
            o.activation_id = optarg;
            break;
        case 'a':
            o.activation_code = optarg;
            break;
        case 'd':
            o.state_dir = optarg;
            break;
        case 'f':
            o.force = true;
            break;
        case 'h':
            s_usage_register (stdout);
            return PH_EXIT_OK;
        default:
            return s_usage_error ("register ", "unknown option or missing value in '%s'",
                                  argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_usage_error ("register ", "unexpected argument '%s'", argv[optind]);
    return ph_agent_register (&o);
}

/* ---- run ----------------------------------------------------------------- */

/*  The daemon's configuration from the state directory. */
typedef struct {
    char endpoint[PH_STR_MAX];
    char server_key[PH_Z85_KEY_LEN + 1];
    char instance_id[32];
    ph_keypair_t kp;
    const char *dir;
    uint64_t spool_max_mb;
    const char *action_stop, *action_reboot;
} s_state_t;

static int s_not_registered (const char *dir, const char *what)
{
    fprintf (stderr,
             "%s: %s is not registered (%s); run porthole-agent register --controller "
             "tcp://HOST:7610 --server-key KEY --activation-id ID --activation-code CODE "
             "--state-dir %s first\n",
             PH_AGENT_PROGRAM, dir, what, dir);
    return PH_EXIT_CONFIG;
}

static int s_load_conf (const char *dir, s_state_t *st)
{
    char path[PH_MAIN_PATH_MAX], err[512] = "";
    snprintf (path, sizeof path, "%s/%s", dir, PH_AGENT_CONF_NAME);
    if (access (path, F_OK) != 0)
        return s_not_registered (dir, "no agent.conf");
    ph_config_t *conf = ph_config_load (path, err, sizeof err);
    if (!conf) {
        fprintf (stderr, "%s: %s; fix the file or register again with --force\n", PH_AGENT_PROGRAM,
                 err);
        return PH_EXIT_CONFIG;
    }
    const char *ep = ph_config_get (conf, "", "controller");
    const char *key = ph_config_get (conf, "", "server_key");
    const char *id = ph_config_get (conf, "", "instance_id");
    int rc = 0;
    if (!ep || ph_agent_endpoints_parse (ep, NULL, PH_AGENT_ENDPOINTS_MAX) < 0 || !key ||
        !ph_keys_z85_valid (key) || !id || !ph_instance_id_valid (id)) {
        fprintf (stderr,
                 "%s: %s lacks a valid controller=, server_key= or instance_id=; register "
                 "again with porthole-agent register --force --state-dir %s\n",
                 PH_AGENT_PROGRAM, path, dir);
        rc = PH_EXIT_CONFIG;
    } else {
        snprintf (st->endpoint, sizeof st->endpoint, "%s", ep);
        snprintf (st->server_key, sizeof st->server_key, "%s", key);
        snprintf (st->instance_id, sizeof st->instance_id, "%s", id);
    }
    ph_config_destroy (&conf);
    return rc;
}

static int s_load_state (const char *dir, s_state_t *st)
{
    int rc = s_load_conf (dir, st);
    if (rc != 0)
        return rc;
    char path[PH_MAIN_PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, PH_AGENT_KEY_NAME);
    rc = ph_keys_load (path, &st->kp);
    if (rc == PH_ENOENT)
        return s_not_registered (dir, "no agent.key");
    if (rc != 0) {
        fprintf (stderr,
                 "%s: %s is malformed or readable by others; it must be mode 0600 (chmod 600 "
                 "%s) or register again with --force\n",
                 PH_AGENT_PROGRAM, path, path);
        return PH_EXIT_CONFIG;
    }
    return 0;
}

/*  A daemon started with closed stdio would hand fds 0-2 to sockets that
 *  a child then writes to. */
static void s_ensure_stdio (void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl (fd, F_GETFD) >= 0)
            continue;
        int null = open ("/dev/null", O_RDWR);
        if (null >= 0 && null != fd) {
            dup2 (null, fd);
            close (null);
        }
    }
}

static int s_write_pid_file (const char *path)
{
    char text[32];
    int n = snprintf (text, sizeof text, "%d\n", (int)getpid ());
    if (ph_file_write (path, text, (size_t)n, 0644) != 0) {
        fprintf (stderr, "%s: cannot write the pid file %s: %s; check --pid-file\n",
                 PH_AGENT_PROGRAM, path, strerror (errno));
        return PH_EXIT_CONFIG;
    }
    return 0;
}

static int s_daemon (const s_state_t *st)
{
    ph_agent_t *agent = calloc (1, sizeof *agent);
    if (!agent)
        return PH_EXIT_CONFIG;
    int rc = PH_EXIT_OK;
    agent->signal_fd = -1;
    agent->n_endpoints =
        (size_t)ph_agent_endpoints_parse (st->endpoint, agent->endpoints, PH_AGENT_ENDPOINTS_MAX);
    snprintf (agent->endpoint, sizeof agent->endpoint, "%s", agent->endpoints[0]);
    snprintf (agent->instance_id, sizeof agent->instance_id, "%s", st->instance_id);
    agent->action_stop = st->action_stop;
    agent->action_reboot = st->action_reboot;
    ph_agent_facts_collect (&agent->facts);
    agent->loop = zloop_new ();
    if (!agent->loop || ph_agent_sessions_new (agent) != 0) {
        rc = PH_EXIT_CONFIG;
        goto out_free;
    }
    agent->ship = ph_ship_new (agent, st->dir, st->spool_max_mb * 1024 * 1024);
    if (!agent->ship) {
        fprintf (stderr,
                 "%s: cannot set up the transcript spool in %s/%s; check that the state "
                 "directory is writable\n",
                 PH_AGENT_PROGRAM, st->dir, PH_SPOOL_DIR_NAME);
        rc = PH_EXIT_CONFIG;
        goto out_stop;
    }
    if (ph_agent_conn_start (agent, &st->kp, st->server_key) != 0) {
        rc = PH_EXIT_CONFIG;
        goto out_stop;
    }
    ph_info ("porthole-agent %s running as %s (%s, %s, %s)", PH_VERSION, agent->instance_id,
             agent->facts.hostname, agent->facts.platform, agent->facts.ip);
    zloop_start (agent->loop);
    ph_info ("stopped");
out_stop:
    ph_agent_sessions_destroy (agent);
    ph_agent_actions_destroy (agent);
    ph_ship_destroy (&agent->ship);
    ph_agent_conn_stop (agent);
    memset (&agent->kp, 0, sizeof agent->kp);
out_free:
    zloop_destroy (&agent->loop);
    free (agent);
    return rc;
}

static int s_cmd_run (int argc, char **argv)
{
    static const struct option options[] = {
        {"state-dir", required_argument, NULL, 'd'},
        {"pid-file", required_argument, NULL, 'p'},
        {"spool-max-mb", required_argument, NULL, 's'},
        {"action-stop", required_argument, NULL, 'S'},
        {"action-reboot", required_argument, NULL, 'R'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *dir = PH_AGENT_STATE_DIR, *pid_file = NULL;
    const char *action_stop = PH_AGENT_ACTION_STOP, *action_reboot = PH_AGENT_ACTION_REBOOT;
    uint64_t spool_mb = PH_SPOOL_MAX_MB_DFLT;
    int c;
    opterr = 0;
    while ((c = getopt_long (argc, argv, "+", options, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'p':
            pid_file = optarg;
            break;
        case 's':
            if (ph_parse_uint (optarg, 1, 1024 * 1024, &spool_mb) != 0)
                return s_usage_error ("run ",
                                      "--spool-max-mb needs a number of MiB from 1 to "
                                      "1048576, not '%s'",
                                      optarg);
            break;
        case 'S':
            action_stop = optarg;
            break;
        case 'R':
            action_reboot = optarg;
            break;
        case 'h':
            s_usage_run (stdout);
            return PH_EXIT_OK;
        default:
            return s_usage_error ("run ", "unknown option or missing value in '%s'",
                                  argv[optind - 1]);
        }
    }
    if (optind < argc)
        return s_usage_error ("run ", "unexpected argument '%s'", argv[optind]);
    s_state_t st = {.dir = dir,
                    .spool_max_mb = spool_mb,
                    .action_stop = action_stop,
                    .action_reboot = action_reboot};
    int rc = s_load_state (dir, &st);
    if (rc != 0)
        return rc;
    s_ensure_stdio ();
    /* before any thread exists: libzmq's threads inherit the mask */
    if (ph_agent_signals_block () != 0) {
        fprintf (stderr, "%s: cannot block signals: %s\n", PH_AGENT_PROGRAM, strerror (errno));
        return PH_EXIT_CONFIG;
    }
    if (pid_file && (rc = s_write_pid_file (pid_file)) != 0)
        return rc;
    rc = s_daemon (&st);
    memset (&st.kp, 0, sizeof st.kp);
    if (pid_file)
        unlink (pid_file);
    return rc;
}

int main (int argc, char **argv)
{
    setenv ("ZSYS_SIGHANDLER", "false", 1);
    zsys_handler_set (NULL);
    ph_log_init (PH_AGENT_PROGRAM);
    if (argc < 2)
        return s_usage_error ("", "%s", "a command is needed (register or run)");
    const char *cmd = argv[1];
    if (strcmp (cmd, "--help") == 0 || strcmp (cmd, "-h") == 0 || strcmp (cmd, "help") == 0) {
        s_usage_main (stdout);
        return PH_EXIT_OK;
    }
    if (strcmp (cmd, "--version") == 0 || strcmp (cmd, "version") == 0) {
        printf ("%s %s\n", PH_AGENT_PROGRAM, PH_VERSION);
        return PH_EXIT_OK;
    }
    if (strcmp (cmd, "register") == 0)
        return s_cmd_register (argc - 1, argv + 1);
    if (strcmp (cmd, "run") == 0)
        return s_cmd_run (argc - 1, argv + 1);
    return s_usage_error ("", "unknown command '%s' (expected register or run)", cmd);
}
