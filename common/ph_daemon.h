/*  ph_daemon: the start-up pieces that every porthole daemon's command line
 *  shares (porthole-controller, porthole-logshipper): usage errors, the
 *  top-level --help/--version, option loops, the keygen command, key and
 *  pid files, node ids, advertised endpoints and bound server sockets.
 *
 *  Everything here runs before the reactor and may block (files, a
 *  synchronous Redis connection); none of it is called from a handler.
 *  Messages name the program (prog, e.g. "porthole-controller") so that
 *  each daemon keeps its own wording.
 */
#ifndef PH_DAEMON_H
#define PH_DAEMON_H

#include "ph_keys.h"
#include "ph_redis.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#define PH_DAEMON_DEFAULT_REDIS "redis://127.0.0.1:6379"

/*  Handles one option that getopt_long returned (optarg is set). Returns 0
 *  or an exit code (PH_EXIT_USAGE with a message printed). */
typedef int (ph_daemon_option_fn) (int c, void *arg);

/*  Prints "PROG[ CMD]: <fmt with arg>; see 'PROG[ CMD] --help'" to stderr.
 *  cmd is "" for the top level. Returns PH_EXIT_USAGE. */
int ph_daemon_usage_error (const char *prog, const char *cmd, const char *fmt, const char *arg);

/*  The top level of main(): no command prints usage to stderr
 *  (PH_EXIT_USAGE); -h/--help/help prints it to stdout and -V/--version
 *  prints "PROG VERSION" (PH_EXIT_OK). Returns that exit code, or -1 when
 *  argv[1] is a command for the caller to dispatch (opterr is then 0). */
int ph_daemon_main_prelude (const char *prog, const char *usage, int argc, char **argv);

/*  $PORTHOLE_REDIS_URL when set and not empty, else
 *  PH_DAEMON_DEFAULT_REDIS. */
const char *ph_daemon_default_redis (void);

/*  Runs getopt_long over argv with short options "h" and long options
 *  opts: -h/--help prints usage to stdout and returns -1; an unknown option
 *  or a missing argument is a usage error of cmd; every other option goes
 *  to on_option. Any argument left over is a usage error too. Returns 0,
 *  -1 after --help, or an exit code with a message printed. */
int ph_daemon_getopt (const char *prog, const char *cmd, const char *usage, int argc, char **argv,
                      const struct option *opts, ph_daemon_option_fn *on_option, void *arg);

/*  Checks that url is a Redis URL (redis://HOST:PORT[/DB] or
 *  unix:///PATH). Returns 0 or PH_EXIT_USAGE with a usage error of cmd. */
int ph_daemon_check_redis_url (const char *prog, const char *cmd, const char *url);

/*  The endpoint peers use to reach bind: a '*' or 0.0.0.0 host becomes
 *  127.0.0.1. Writes at most len bytes to out. */
void ph_daemon_advertised (const char *bind, char *out, size_t len);

/*  The "keygen FILE [--force]" command (argv[0] is "keygen"): writes a
 *  CURVE keypair (mode 0600) and prints its public key on stdout. An
 *  existing FILE is refused unless --force; replace_note is appended to
 *  that message (e.g. " (agents ... will need the new one)", or "").
 *  Returns PH_EXIT_OK, PH_EXIT_USAGE or PH_EXIT_CONFIG. Blocks on the file. */
int ph_daemon_keygen (const char *prog, const char *usage, const char *replace_note, int argc,
                      char **argv);

/*  Loads the daemon's key file into kp, logging what to do when it is
 *  missing or bad. Returns 0 or PH_EXIT_CONFIG. */
int ph_daemon_load_keys (const char *prog, const char *path, ph_keypair_t *kp);

/*  Writes this process's pid to path (mode 0644). Returns 0 or
 *  PH_EXIT_CONFIG with the reason logged. */
int ph_daemon_write_pid (const char *path);

/*  A fresh node id: prefix followed by 8 random hex digits (e.g.
 *  "c-0a1b2c3d"), written to out (at most len bytes). */
void ph_daemon_node_id (const char *prefix, char *out, size_t len);

/*  A CURVE server ROUTER for domain, bound to endpoint: unreachable peers
 *  are reported (EHOSTUNREACH) instead of silently dropped, and a
 *  reconnecting peer that reuses its routing id takes over. Returns the
 *  socket, or NULL with a message in err ending in busy_hint (what to do
 *  when the endpoint is taken). Blocks only while binding. */
zsock_t *ph_daemon_server_socket (const ph_keypair_t *keys, const char *domain,
                                  const char *endpoint, const char *busy_hint, char *err,
                                  size_t errlen);

/*  Connects synchronously to Redis at url. Returns the connection (the
 *  caller destroys it), or NULL with the reason and a hint logged. */
ph_redis_sync_t *ph_daemon_redis_connect (const char *url);

#endif
