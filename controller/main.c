/*  porthole-controller: command line and start-up.
 *
 *    run               the daemon (ctl_server.c and friends)
 *    keygen FILE       the controller's CURVE keypair
 *    bootstrap-admin   the cluster's first admin user, straight into Redis
 *
 *  Start-up may block (key file, a synchronous Redis connection to load or
 *  create the cluster secret and to register this controller); once the
 *  reactor runs, nothing blocks.
 */
#include "ctl.h"
#include "ph_daemon.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PROG                 "porthole-controller"
#define DEFAULT_REDIS        PH_DAEMON_DEFAULT_REDIS
#define DEFAULT_KEY_FILE     "/etc/porthole/controller.key"
#define DEFAULT_AGENT_BIND   "tcp://*:7610"
#define DEFAULT_CLIENT_BIND  "tcp://*:7611"
#define DEFAULT_HEARTBEAT_MS 5000
#define SESSION_LIMIT_MAX_S  (7 * 86400)
#define SECRET_BYTES         32

static const char s_usage[] =
    "Usage: " PROG " COMMAND [options]\n"
    "\n"
    "The porthole controller: instance registry, session API and data relay.\n"
    "\n"
    "Commands:\n"
    "  run                       run the daemon\n"
    "  keygen FILE               create the controller's CURVE keypair\n"
    "  bootstrap-admin NAME      create the cluster's first admin user\n"
    "\n"
    "Options:\n"
    "  -h, --help                this text ('" PROG " COMMAND --help' for a command)\n"
    "  -V, --version             print the version\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 65 bad key file or configuration,\n"
    "69 Redis unreachable or an endpoint cannot be bound.\n";

static const char s_usage_run[] =
    "Usage: " PROG " run [options]\n"
    "\n"
    "Runs the controller until SIGTERM or SIGINT. Logs go to stderr\n"
    "(PORTHOLE_LOG=debug|info|warn|error, default info).\n"
    "\n"
    "Options:\n"
    "  --redis URL                     Redis (redis://HOST:PORT[/DB] or unix:///PATH);\n"
    "                                  default $PORTHOLE_REDIS_URL, else " DEFAULT_REDIS "\n"
    "  --key-file F                    CURVE keypair (default " DEFAULT_KEY_FILE ")\n"
    "  --agent-bind EP                 agents endpoint (default " DEFAULT_AGENT_BIND ")\n"
    "  --client-bind EP                clients endpoint (default " DEFAULT_CLIENT_BIND ")\n"
    "  --advertise-client-endpoint EP  where clients reach this controller, sent to\n"
    "                                  them as the session stream_url; default the\n"
    "                                  client bind with '*' replaced by 127.0.0.1.\n"
    "                                  Set it in multi-host setups.\n"
    "  --advertise-agent-endpoint EP   where agents reach this controller; default the\n"
    "                                  agent bind with '*' replaced by 127.0.0.1\n"
    "  --heartbeat-interval-ms N       agent heartbeat interval (default 5000,\n"
    "                                  1000..300000); 3 missed = ConnectionLost\n"
    "  --idle-timeout-seconds N        override the preferences' idle timeout sent to\n"
    "                                  agents (default 0 = use preferences)\n"
    "  --max-duration-seconds N        override the preferences' maximum session\n"
    "                                  duration (default 0 = use preferences)\n"
    "  --pid-file F                    write the pid here; removed at exit\n"
    "  -h, --help                      this text\n"
    "\n"
    "Exit codes: 0 stopped by a signal, 64 bad arguments, 65 bad key file or pid\n"
    "file, 69 Redis unreachable at start or an endpoint cannot be bound.\n";

static const char s_usage_keygen[] =
    "Usage: " PROG " keygen FILE [--force]\n"
    "\n"
    "Creates a CURVE keypair in FILE (mode 0600) and prints its public key (Z85)\n"
    "as the last line of stdout: agents and clients pin it (server_key).\n"
    "\n"
    "Options:\n"
    "  --force      overwrite FILE if it exists (default: refuse)\n"
    "  -h, --help   this text\n"
    "\n"
    "Exit codes: 0 ok, 64 bad arguments, 65 FILE exists or cannot be written.\n";

static const char s_usage_bootstrap[] =
    "Usage: " PROG " bootstrap-admin NAME --public-key KEY [--redis URL]\n"
    "\n"
    "Creates the cluster's first admin user NAME with the CURVE public key KEY\n"
    "(Z85, 40 characters; 'porthole configure' prints it). Works once per\n"
    "cluster, directly against Redis.\n"
    "\n"
    "Options:\n"
    "  --public-key KEY   the user's public key (required)\n"
    "  --redis URL        default $PORTHOLE_REDIS_URL, else " DEFAULT_REDIS "\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit codes: 0 created, 64 bad arguments, 65 the cluster already has a\n"
    "bootstrap admin, or the name or key is taken, 69 Redis unreachable.\n";

static int s_usage_error (const char *cmd, const char *fmt, const char *arg)
{
    return ph_daemon_usage_error (PROG, cmd, fmt, arg);
}

/* ---- bootstrap-admin ---------------------------------------------------- */

/*  KEYS: ph:bootstrap, ph:key:{KEY}, ph:user:{NAME}, ph:users,
 *  ph:user:{NAME}:keys; ARGV: name, now ms, key. */
static const char s_bootstrap_lua[] =
    "local b = redis.call('GET', KEYS[1])\n"
    "if b then return {'bootstrap', b} end\n"
    "local k = redis.call('GET', KEYS[2])\n"
    "if k then return {'key', k} end\n"
    "if redis.call('EXISTS', KEYS[3]) == 1 then return {'user', ARGV[1]} end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'NX')\n"
    "redis.call('HSET', KEYS[3], 'name', ARGV[1], 'admin', '1', 'created_ms', ARGV[2],\n"
    "           'public_key', ARGV[3], 'tags', '')\n"
    "redis.call('SADD', KEYS[4], ARGV[1])\n"
    "redis.call('SADD', KEYS[5], ARGV[3])\n"
    "redis.call('SET', KEYS[2], 'user:' .. ARGV[1])\n"
    "return {'ok', ARGV[1]}\n";

static int s_bootstrap_result (const ph_reply_t *r, const char *name, const char *url)
{
    const char *what = ph_reply_str (ph_reply_at (r, 0));
    const char *arg = ph_reply_str (ph_reply_at (r, 1));
    if (!r || ph_reply_is_error (r) || !what) {
        fprintf (stderr, PROG ": Redis at %s failed: %s; is it running and writable?\n", url,
                 r ? ph_reply_str (r) : "connection lost");
        return PH_EXIT_UNAVAIL;
    }
    if (strcmp (what, "ok") == 0) {
        printf ("bootstrap admin %s created\n", name);
        return PH_EXIT_OK;
    }
    if (strcmp (what, "bootstrap") == 0)
        fprintf (stderr, PROG ": cluster already has a bootstrap admin '%s'; nothing changed\n",
                 arg);
    else if (strcmp (what, "key") == 0)
        fprintf (stderr,
                 PROG ": that public key is already registered (as %s); each user needs their "
                      "own key\n",
                 arg);
    else
        fprintf (stderr, PROG ": user '%s' already exists; nothing changed\n", arg);
    return PH_EXIT_CONFIG;
}

static int s_cmd_bootstrap (int argc, char **argv)
{
    static const struct option opts[] = {{"public-key", required_argument, 0, 'k'},
                                         {"redis", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *key = NULL, *url = ph_daemon_default_redis ();
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs (s_usage_bootstrap, stdout);
            return PH_EXIT_OK;
        } else if (c == 'k')
            key = optarg;
        else if (c == 'r')
            url = optarg;
        else
            return s_usage_error ("bootstrap-admin", "bad option '%s'", argv[optind - 1]);
    }
    if (optind != argc - 1)
        return s_usage_error ("bootstrap-admin", "%s", "give exactly one NAME");
    const char *name = argv[optind];
    if (!ph_name_valid (name))
        return s_usage_error ("bootstrap-admin",
                              "'%s' is not a valid user name (1..64 of A-Z a-z 0-9 _ . @ -)", name);
    if (!key || !ph_keys_z85_valid (key))
        return s_usage_error ("bootstrap-admin", "%s",
                              "--public-key must be a 40-character Z85 CURVE public key");
    int rc = ph_daemon_check_redis_url (PROG, "bootstrap-admin", url);
    if (rc)
        return rc;
    char err[PH_ERRTEXT_MAX];
    ph_redis_sync_t *redis = ph_redis_sync_new (url, err, sizeof err);
    if (!redis) {
        fprintf (stderr, PROG ": %s; is redis-server running? set --redis or PORTHOLE_REDIS_URL\n",
                 err);
        return PH_EXIT_UNAVAIL;
    }
    ph_reply_t *r = ph_redis_sync_cmd (
        redis,
        "EVAL %s 5 ph:bootstrap ph:key:{%s} ph:user:{%s} ph:users ph:user:{%s}:keys %s %llu %s",
        s_bootstrap_lua, key, name, name, name, (unsigned long long)ph_now_ms (), key);
    rc = s_bootstrap_result (r, name, url);
    ph_reply_free (&r);
    ph_redis_sync_destroy (&redis);
    return rc;
}

/* ---- run: start-up ------------------------------------------------------ */

/*  Loads the cluster secret, creating it when this is the first
 *  controller. Returns 0 or PH_EREDIS/PH_EINVAL with a message printed. */
static int s_load_secret (ph_redis_sync_t *redis, uint8_t *secret, size_t *len)
{
    uint8_t raw[SECRET_BYTES];
    char hex[2 * SECRET_BYTES + 1];
    if (ph_random_bytes (raw, sizeof raw) != 0)
        return PH_EIO;
    ph_hex (raw, sizeof raw, hex);
    ph_reply_t *r = ph_redis_sync_cmd (redis, "SET ph:secret:cluster %s NX", hex);
    bool ok = ph_reply_ok (r);
    ph_reply_free (&r);
    r = ok ? ph_redis_sync_cmd (redis, "GET ph:secret:cluster") : NULL;
    const char *text = ph_reply_str (r);
    int rc = 0;
    if (!text) {
        ph_error ("cannot load the cluster secret from Redis; is Redis writable?");
        rc = PH_EREDIS;
    } else if (strlen (text) != 2 * SECRET_BYTES ||
               strspn (text, "0123456789abcdef") != 2 * SECRET_BYTES) {
        ph_error ("ph:secret:cluster in Redis is not %d hex digits; restore it from a backup",
                  2 * SECRET_BYTES);
        rc = PH_EINVAL;
    } else {
        for (size_t i = 0; i < SECRET_BYTES; i++)
            sscanf (text + 2 * i, "%2hhx", &secret[i]);
        *len = SECRET_BYTES;
    }
    ph_reply_free (&r);
    return rc;
}

/*  Writes this controller's record (ph:controller:{CID}). */
static int s_register (ph_redis_sync_t *redis, const ctl_t *ctl)
{
    ph_reply_t *r = ph_redis_sync_cmd (
        redis,
        "HSET ph:controller:{%s} client_endpoint %s agent_endpoint %s server_key %s "
        "started_ms %llu",
        ctl->cid, ctl->opt.advertise_client, ctl->opt.advertise_agent, ctl->keys.public_z85,
        (unsigned long long)ctl->started_ms);
    ph_reply_free (&r);
    r = ph_redis_sync_cmd (redis, "EXPIRE ph:controller:{%s} %d", ctl->cid, CTL_CONTROLLER_TTL_S);
    int rc = ph_reply_ok (r) ? 0 : PH_EREDIS;
    ph_reply_free (&r);
    if (rc)
        ph_error ("cannot register this controller in Redis; is Redis writable?");
    return rc;
}

/*  Start-up, blocking: loads or creates the cluster secret, builds the
 *  reactor (which binds), then registers the controller in Redis. Returns
 *  the reactor, or NULL with *exit_code set and the reason logged. */
static ctl_t *s_start (const ctl_options_t *opt, const ph_keypair_t *keys, int *exit_code)
{
    ph_redis_sync_t *redis = ph_daemon_redis_connect (opt->redis_url);
    if (!redis) {
        *exit_code = PH_EXIT_UNAVAIL;
        return NULL;
    }
    uint8_t secret[CTL_SECRET_MAX];
    size_t secret_len = 0;
    char cid[CTL_CID_MAX], err[PH_ERRTEXT_MAX];
    ph_daemon_node_id ("c-", cid, sizeof cid);
    ctl_t *ctl = NULL;
    int rc = s_load_secret (redis, secret, &secret_len);
    if (rc) {
        *exit_code = rc == PH_EINVAL ? PH_EXIT_CONFIG : PH_EXIT_UNAVAIL;
        goto out_close;
    }
    ctl = ctl_new (opt, keys, cid, secret, secret_len, err, sizeof err);
    if (!ctl) {
        ph_error ("%s", err);
        *exit_code = PH_EXIT_UNAVAIL;
        goto out_close;
    }
    ctl->started_ms = ph_now_ms ();
    if (s_register (redis, ctl) != 0) {
        ctl_destroy (&ctl);
        *exit_code = PH_EXIT_UNAVAIL;
    }
out_close:
    ph_redis_sync_destroy (&redis);
    return ctl;
}

/*  Best effort at a clean exit: clients stop being sent here at once. */
static void s_unregister (const ctl_options_t *opt, const char *cid)
{
    char err[PH_ERRTEXT_MAX];
    ph_redis_sync_t *redis = ph_redis_sync_new (opt->redis_url, err, sizeof err);
    if (!redis)
        return;
    ph_reply_t *r = ph_redis_sync_cmd (redis, "DEL ph:controller:{%s}", cid);
    ph_reply_free (&r);
    ph_redis_sync_destroy (&redis);
}

static int s_parse_u32 (const char *opt, const char *text, uint64_t min, uint64_t max,
                        uint32_t *out)
{
    uint64_t v;
    if (ph_parse_uint (text, min, max, &v) != 0) {
        fprintf (stderr,
                 PROG " run: %s must be a number in %llu..%llu (got '%s'); see '" PROG
                      " run --help'\n",
                 opt, (unsigned long long)min, (unsigned long long)max, text);
        return PH_EXIT_USAGE;
    }
    *out = (uint32_t)v;
    return 0;
}

enum {
    OPT_REDIS = 256,
    OPT_KEY,
    OPT_ABIND,
    OPT_CBIND,
    OPT_ADV_C,
    OPT_ADV_A,
    OPT_HB,
    OPT_IDLE,
    OPT_MAXDUR,
    OPT_PID
};

static int s_parse_run_option (int c, void *arg)
{
    ctl_options_t *opt = arg;
    switch (c) {
    case OPT_REDIS:
        opt->redis_url = optarg;
        return 0;
    case OPT_KEY:
        opt->key_file = optarg;
        return 0;
    case OPT_ABIND:
        opt->agent_bind = optarg;
        return 0;
    case OPT_CBIND:
        opt->client_bind = optarg;
        return 0;
    case OPT_ADV_C:
        snprintf (opt->advertise_client, sizeof opt->advertise_client, "%s", optarg);
        return 0;
    case OPT_ADV_A:
        snprintf (opt->advertise_agent, sizeof opt->advertise_agent, "%s", optarg);
        return 0;
    case OPT_HB:
        return s_parse_u32 ("--heartbeat-interval-ms", optarg, CTL_HEARTBEAT_MIN_MS,
                            CTL_HEARTBEAT_MAX_MS, &opt->heartbeat_ms);
    case OPT_IDLE:
        return s_parse_u32 ("--idle-timeout-seconds", optarg, 0, SESSION_LIMIT_MAX_S,
                            &opt->idle_timeout_s);
    case OPT_MAXDUR:
        return s_parse_u32 ("--max-duration-seconds", optarg, 0, SESSION_LIMIT_MAX_S,
                            &opt->max_duration_s);
    case OPT_PID:
        opt->pid_file = optarg;
        return 0;
    default:
        return PH_EXIT_USAGE;
    }
}

/*  Parses the run options. Returns 0, PH_EXIT_USAGE, or -1 after --help. */
static int s_parse_run (int argc, char **argv, ctl_options_t *opt)
{
    static const struct option opts[] = {
        {"redis", required_argument, 0, OPT_REDIS},
        {"key-file", required_argument, 0, OPT_KEY},
        {"agent-bind", required_argument, 0, OPT_ABIND},
        {"client-bind", required_argument, 0, OPT_CBIND},
        {"advertise-client-endpoint", required_argument, 0, OPT_ADV_C},
        {"advertise-agent-endpoint", required_argument, 0, OPT_ADV_A},
        {"heartbeat-interval-ms", required_argument, 0, OPT_HB},
        {"idle-timeout-seconds", required_argument, 0, OPT_IDLE},
        {"max-duration-seconds", required_argument, 0, OPT_MAXDUR},
        {"pid-file", required_argument, 0, OPT_PID},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    *opt = (ctl_options_t){.redis_url = ph_daemon_default_redis (),
                           .key_file = DEFAULT_KEY_FILE,
                           .agent_bind = DEFAULT_AGENT_BIND,
                           .client_bind = DEFAULT_CLIENT_BIND,
                           .heartbeat_ms = DEFAULT_HEARTBEAT_MS};
    int rc = ph_daemon_getopt (PROG, "run", s_usage_run, argc, argv, opts, s_parse_run_option, opt);
    if (rc || (rc = ph_daemon_check_redis_url (PROG, "run", opt->redis_url)))
        return rc;
    if (!*opt->advertise_client)
        ph_daemon_advertised (opt->client_bind, opt->advertise_client,
                              sizeof opt->advertise_client);
    if (!*opt->advertise_agent)
        ph_daemon_advertised (opt->agent_bind, opt->advertise_agent, sizeof opt->advertise_agent);
    return 0;
}

static int s_cmd_run (int argc, char **argv)
{
    ctl_options_t opt;
    int rc = s_parse_run (argc, argv, &opt);
    if (rc)
        return rc < 0 ? PH_EXIT_OK : rc;
    ph_keypair_t keys;
    if ((rc = ph_daemon_load_keys (PROG, opt.key_file, &keys)))
        return rc;
    ctl_t *ctl = s_start (&opt, &keys, &rc);
    if (!ctl)
        return rc;
    char cid[CTL_CID_MAX];
    snprintf (cid, sizeof cid, "%s", ctl->cid);
    if (opt.pid_file && (rc = ph_daemon_write_pid (opt.pid_file))) {
        ctl_destroy (&ctl);
        s_unregister (&opt, cid);
        return rc;
    }
    ctl_run (ctl);
    ctl_destroy (&ctl);
    s_unregister (&opt, cid);
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
        return ph_daemon_keygen (PROG, s_usage_keygen,
                                 " (agents and clients that pinned its public key will then "
                                 "need the new one)",
                                 argc - 1, argv + 1);
    if (!strcmp (cmd, "bootstrap-admin"))
        return s_cmd_bootstrap (argc - 1, argv + 1);
    return s_usage_error ("", "unknown command '%s' (run, keygen, bootstrap-admin)", cmd);
}
