/*  agent.h: the internal interfaces of porthole-agent, shared by its modules.
 *
 *  main.c           command line, `register` and `run` set-up
 *  agent_facts.c    host facts sent in Enroll and Hello
 *  agent_register.c `porthole-agent register` (blocking; no reactor)
 *  agent_conn.c     the one DEALER to the controller: Hello, Heartbeat,
 *                   dispatch of what the controller sends, signals
 *  agent_session.c  the session table and each session's life
 *  agent_io.c       a session's file descriptors and its data stream
 *  agent_pty.c      fork/exec of shells and commands as the run-as user
 *  agent_cast.c, agent_ship.c, agent_ship_net.c, agent_spool.c
 *                   session transcripts to the logshippers (agent_log.h)
 *
 *  Everything runs on one zloop in one thread; nothing here blocks except
 *  agent_register.c and agent_pty.c's child side (after fork, never in the
 *  reactor).
 */
#ifndef PH_AGENT_H
#define PH_AGENT_H

#include "ph_keys.h"
#include "ph_wire.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PH_AGENT_PROGRAM       "porthole-agent"
#define PH_AGENT_STATE_DIR     "/var/lib/porthole-agent"
#define PH_AGENT_CONF_NAME     "agent.conf"
#define PH_AGENT_KEY_NAME      "agent.key"
#define PH_AGENT_FACT_MAX      256 /* hostname, platform */
#define PH_AGENT_IP_MAX        64
#define PH_AGENT_ENROLL_WAIT_S 15 /* register gives up after this */

/*  What the agent tells the controller about its machine. */
typedef struct {
    char hostname[PH_AGENT_FACT_MAX];
    char platform[PH_AGENT_FACT_MAX];
    char ip[PH_AGENT_IP_MAX];
} ph_agent_facts_t;

/*  Fills facts: hostname, PRETTY_NAME of /etc/os-release (else uname), the
 *  first non-loopback IPv4 address (else 127.0.0.1). Reads small local
 *  files; call at start-up, not in a reactor callback. */
void ph_agent_facts_collect (ph_agent_facts_t *facts);

/*  Options of `porthole-agent register`. */
typedef struct {
    const char *controller;
    const char *server_key;
    const char *activation_id;
    const char *activation_code;
    const char *state_dir;
    bool force;
} ph_agent_register_opts_t;

/*  Enrolls this machine (blocks up to PH_AGENT_ENROLL_WAIT_S). Prints the
 *  instance id as the last line of stdout on success. Returns a PH_EXIT_*
 *  code; every failure has been explained on stderr. */
int ph_agent_register (const ph_agent_register_opts_t *opts);

/*  The daemon's context: one per process, the argument of every callback. */
typedef struct _ph_agent_t ph_agent_t;
struct _ph_ship_t;

struct _ph_agent_t {
    zloop_t *loop;
    zsock_t *dealer;  /* to the controller; connects out, never binds */
    zsock_t *monitor; /* PAIR fed by zmq_socket_monitor on the DEALER */
    char endpoint[PH_STR_MAX];
    char instance_id[32];
    ph_agent_facts_t facts;
    zhashx_t *sessions;      /* session id -> ph_session_t (agent_session.c) */
    struct _ph_ship_t *ship; /* transcripts (agent_log.h) */
    ph_keypair_t kp;         /* the agent's CURVE keypair, also for logshippers */
    uint64_t next_request_id;
    bool connected;           /* CURVE handshake done on the current connection */
    bool hello_ok;            /* HelloReply seen since the last (re)connect */
    bool auth_warned;         /* a failed handshake was logged already */
    uint64_t hello_sent_ms;   /* monotonic; 0: never */
    uint32_t heartbeat_ms;    /* from HelloReply */
    int heartbeat_timer;      /* zloop timer id, or -1 */
    int tick_timer;           /* zloop timer id, or -1 */
    int signal_fd;            /* signalfd: SIGCHLD, SIGTERM, SIGINT */
    uint64_t tick_count;      /* incremented by every tick */
    uint8_t iobuf[64 * 1024]; /* one read of a session's output */
    const char *action_stop;  /* alarm actions' commands (agent_actions.c) */
    const char *action_reboot;
    zlistx_t *actions; /* action commands still running */
};

/* ---- agent_conn.c ------------------------------------------------------ */

/*  Creates the DEALER (CURVE client of server_key, reconnect with jitter),
 *  its monitor, the signalfd and the timers on agent->loop, and connects.
 *  Returns 0 or PH_EINVAL / PH_EIO with the reason logged. */
int ph_agent_conn_start (ph_agent_t *agent, const ph_keypair_t *kp, const char *server_key);

/*  Closes the DEALER, its monitor and the signalfd. */
void ph_agent_conn_stop (ph_agent_t *agent);

/*  Blocks SIGCHLD, SIGTERM and SIGINT (taken through the signalfd) and
 *  ignores SIGPIPE. Call first thing in main, before any thread exists, so
 *  that libzmq's threads inherit the mask. Returns 0 or PH_EIO. */
int ph_agent_signals_block (void);

/*  Sends env (version is filled in) on the DEALER without blocking; a
 *  message that cannot be queued is dropped (streams resend; Hello and
 *  Heartbeat repeat). Returns 0, PH_EIO or PH_ETOOBIG. */
int ph_agent_send (ph_agent_t *agent, ph_env_t *env);

/*  The next request id for a message the agent starts. */
uint64_t ph_agent_request_id (ph_agent_t *agent);

/*  SessionOpened{id} as the answer to request_id. */
void ph_agent_send_session_opened (ph_agent_t *agent, uint64_t request_id, const char *id);

/*  SessionEnded{id, exit code, failed, reason}; reason may be NULL. */
void ph_agent_send_session_ended (ph_agent_t *agent, const char *id, int exit_code, bool failed,
                                  const char *reason);

/* ---- agent_actions.c --------------------------------------------------- */

#define PH_AGENT_ACTION_STOP   "systemctl poweroff"
#define PH_AGENT_ACTION_REBOOT "systemctl reboot"

/*  InstanceAction: ends every session, or starts the stop / reboot
 *  command; InstanceActionResult follows (at once, or when the command
 *  exits). Never blocks. */
void ph_agent_instance_action (ph_agent_t *agent, const Porthole__V1__InstanceAction *a);

/*  A reaped child: when it is an action command, answers its result and
 *  returns true. */
bool ph_agent_action_reaped (ph_agent_t *agent, pid_t pid, int status);

/*  Forgets the commands still running (they go on). */
void ph_agent_actions_destroy (ph_agent_t *agent);

/* ---- agent_session.c --------------------------------------------------- */

/*  Creates the session table. Returns 0 or PH_ENOMEM. */
int ph_agent_sessions_new (ph_agent_t *agent);

/*  Hangs up every live session (SIGHUP to its process group) and frees the
 *  table. Does not wait for the children. */
void ph_agent_sessions_destroy (ph_agent_t *agent);

/*  OpenSession: starts the shell or command, or repeats the answer for a
 *  session that exists already. Answers SessionOpened once the program is
 *  running, or SessionEnded{failed} when it could not start. */
void ph_agent_session_open (ph_agent_t *agent, uint64_t request_id,
                            const Porthole__V1__OpenSession *msg);

/*  CloseSession: SIGHUP now, SIGKILL after 2 s; EXIT follows as usual. */
void ph_agent_session_close (ph_agent_t *agent, const Porthole__V1__CloseSession *msg);

/*  StreamData from the client of a session; unknown sessions are ignored. */
void ph_agent_session_stream (ph_agent_t *agent, const ph_stream_data_t *sd);

/*  Reaps every exited child (waitpid WNOHANG) and moves its session on. */
void ph_agent_sessions_reap (ph_agent_t *agent);

/*  Every ~15 ms: stream ticks, timeouts, pending EXITs, freeing of ended
 *  sessions. */
void ph_agent_sessions_tick (ph_agent_t *agent);

/*  Ids of the sessions whose program is still running, for Hello. The
 *  strings belong to the table; free only the array. *count is set. */
const char **ph_agent_sessions_live_ids (ph_agent_t *agent, size_t *count);

/*  Number of sessions whose program is still running. */
size_t ph_agent_sessions_live_count (ph_agent_t *agent);

/*  After HelloReply: resend each stream's unacknowledged data and the
 *  SessionEnded of sessions that ended (it may have been lost). */
void ph_agent_sessions_resync (ph_agent_t *agent);

#endif
