/*  ph_daemon: command-line and start-up helpers shared by the porthole
 *  daemons (see ph_daemon.h). Written once so that the controller and the
 *  logshipper say the same things the same way: each message names the
 *  program that prints it and tells the user what to do next.
 */
#include "ph_daemon.h"
#include "ph_crypto.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_version.h"
#include "ph_wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NODE_ID_RANDOM_BYTES 4
#define PID_TEXT_MAX         32
#define REDIS_HOST_MAX       256

int ph_daemon_usage_error (const char *prog, const char *cmd, const char *fmt, const char *arg)
{
    fprintf (stderr, "%s%s%s: ", prog, *cmd ? " " : "", cmd);
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "; see '%s%s%s --help'\n", prog, *cmd ? " " : "", cmd);
    return PH_EXIT_USAGE;
}

int ph_daemon_main_prelude (const char *prog, const char *usage, int argc, char **argv)
{
    if (argc < 2) {
        fputs (usage, stderr);
        return PH_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp (cmd, "-h") || !strcmp (cmd, "--help") || !strcmp (cmd, "help")) {
        fputs (usage, stdout);
        return PH_EXIT_OK;
    }
    if (!strcmp (cmd, "-V") || !strcmp (cmd, "--version")) {
        printf ("%s %s\n", prog, PH_VERSION);
        return PH_EXIT_OK;
    }
    opterr = 0;
    return -1;
}

const char *ph_daemon_default_redis (void)
{
    const char *env = getenv ("PORTHOLE_REDIS_URL");
    return env && *env ? env : PH_DAEMON_DEFAULT_REDIS;
}

int ph_daemon_getopt (const char *prog, const char *cmd, const char *usage, int argc, char **argv,
                      const struct option *opts, ph_daemon_option_fn *on_option, void *arg)
{
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs (usage, stdout);
            return -1;
        }
        if (c == '?' || c == ':')
            return ph_daemon_usage_error (prog, cmd, "bad option '%s'", argv[optind - 1]);
        int rc = on_option (c, arg);
        if (rc)
            return rc;
    }
    if (optind != argc)
        return ph_daemon_usage_error (prog, cmd, "unexpected argument '%s'", argv[optind]);
    return 0;
}

int ph_daemon_check_redis_url (const char *prog, const char *cmd, const char *url)
{
    char host[REDIS_HOST_MAX];
    int port, db;
    if (ph_redis_parse_url (url, host, &port, &db) == 0)
        return 0;
    return ph_daemon_usage_error (
        prog, cmd, "bad Redis URL '%s': use redis://HOST:PORT[/DB] or unix:///PATH", url);
}

void ph_daemon_advertised (const char *bind, char *out, size_t len)
{
    const char *star = strstr (bind, "*");
    const char *any = strstr (bind, "0.0.0.0");
    if (star)
        snprintf (out, len, "%.*s127.0.0.1%s", (int)(star - bind), bind, star + 1);
    else if (any)
        snprintf (out, len, "%.*s127.0.0.1%s", (int)(any - bind), bind, any + 7);
    else
        snprintf (out, len, "%s", bind);
}

/*  Parses "keygen FILE [--force]". Returns 0 with *path set, -1 after
 *  --help, or PH_EXIT_USAGE with a message printed. */
static int s_parse_keygen (const char *prog, const char *usage, int argc, char **argv,
                           const char **path, bool *force)
{
    static const struct option opts[] = {
        {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            fputs (usage, stdout);
            return -1;
        }
        if (c != 'f')
            return ph_daemon_usage_error (prog, "keygen", "unknown option '%s'", argv[optind - 1]);
        *force = true;
    }
    if (optind != argc - 1)
        return ph_daemon_usage_error (prog, "keygen", "%s", "give exactly one FILE");
    *path = argv[optind];
    return 0;
}

int ph_daemon_keygen (const char *prog, const char *usage, const char *replace_note, int argc,
                      char **argv)
{
    const char *path = NULL;
    bool force = false;
    int rc = s_parse_keygen (prog, usage, argc, argv, &path, &force);
    if (rc)
        return rc < 0 ? PH_EXIT_OK : rc;
    if (!force && access (path, F_OK) == 0) {
        fprintf (stderr, "%s: %s exists; pass --force to replace it%s\n", prog, path, replace_note);
        return PH_EXIT_CONFIG;
    }
    ph_keypair_t kp;
    if (ph_keys_generate (&kp) != 0 || ph_keys_save (&kp, path) != 0) {
        fprintf (stderr,
                 "%s: cannot write %s: %s; check that its directory exists and is writable\n", prog,
                 path, strerror (errno));
        return PH_EXIT_CONFIG;
    }
    fprintf (stderr, "%s: wrote %s (mode 0600); its public key follows\n", prog, path);
    printf ("%s\n", kp.public_z85);
    return PH_EXIT_OK;
}

int ph_daemon_load_keys (const char *prog, const char *path, ph_keypair_t *kp)
{
    int rc = ph_keys_load (path, kp);
    if (rc == PH_ENOENT)
        ph_error ("cannot read key file %s; create it with '%s keygen %s'", path, prog, path);
    else if (rc)
        ph_error ("key file %s is malformed or readable by others; check it, chmod 600 it, or "
                  "create a new one with '%s keygen %s --force'",
                  path, prog, path);
    return rc ? PH_EXIT_CONFIG : 0;
}

int ph_daemon_write_pid (const char *path)
{
    char text[PID_TEXT_MAX];
    int n = snprintf (text, sizeof text, "%d\n", (int)getpid ());
    if (ph_file_write (path, text, (size_t)n, 0644) != 0) {
        ph_error ("cannot write pid file %s: %s; check its directory", path, strerror (errno));
        return PH_EXIT_CONFIG;
    }
    return 0;
}

void ph_daemon_node_id (const char *prefix, char *out, size_t len)
{
    uint8_t raw[NODE_ID_RANDOM_BYTES];
    char hex[2 * NODE_ID_RANDOM_BYTES + 1];
    ph_random_bytes (raw, sizeof raw);
    ph_hex (raw, sizeof raw, hex);
    snprintf (out, len, "%s%s", prefix, hex);
}

zsock_t *ph_daemon_server_socket (const ph_keypair_t *keys, const char *domain,
                                  const char *endpoint, const char *busy_hint, char *err,
                                  size_t errlen)
{
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock || ph_keys_setup_server (sock, keys, domain) != 0) {
        snprintf (err, errlen, "cannot set up CURVE on a socket (is libzmq built with libsodium?)");
        zsock_destroy (&sock);
        return NULL;
    }
    zsock_set_router_mandatory (sock, 1);
    zsock_set_router_handover (sock, 1);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        snprintf (err, errlen, "cannot bind %s: %s; %s", endpoint, zmq_strerror (zmq_errno ()),
                  busy_hint);
        zsock_destroy (&sock);
        return NULL;
    }
    return sock;
}

ph_redis_sync_t *ph_daemon_redis_connect (const char *url)
{
    char err[PH_ERRTEXT_MAX];
    ph_redis_sync_t *redis = ph_redis_sync_new (url, err, sizeof err);
    if (!redis)
        ph_error ("%s; is redis-server running? set --redis or PORTHOLE_REDIS_URL", err);
    return redis;
}
