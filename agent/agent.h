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
 *  agent_cast.c, agent_ship.c, agent_ship_net.c, agent_spool.c,
 *  agent_spool_disk.c
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

#define PH_AGENT_ENDPOINTS_MAX 8     /* controllers in agent.conf's controller= list */
#define PH_AGENT_ENDPOINT_LEN  256   /* characters of one tcp://HOST:PORT */
#define PH_AGENT_FAILOVER_MS   10000 /* no HelloReply this long: the next controller */

/*  Reads list, controller= of agent.conf or --controller: one endpoint or
 *  several separated by commas (spaces around them are ignored), each
 *  "tcp://..." of fewer than PH_AGENT_ENDPOINT_LEN characters, at most
 *  PH_AGENT_ENDPOINTS_MAX. Fills out (may be NULL to only check). Returns
 *  the number of endpoints, or PH_EINVAL. */
int ph_agent_endpoints_parse (const char *list, char (*out)[PH_AGENT_ENDPOINT_LEN], size_t max);

/*  The daemon's context: one per process, the argument of every callback. */
typedef struct _ph_agent_t ph_agent_t;
struct _ph_ship_t;

struct _ph_agent_t {
    zloop_t *loop;
    zsock_t *dealer;           /* to the controller; connects out, never binds */
    zsock_t *monitor;          /* PAIR fed by zmq_socket_monitor on the DEALER */
    char endpoint[PH_STR_MAX]; /* the controller in use, one of endpoints */
    char endpoints[PH_AGENT_ENDPOINTS_MAX][PH_AGENT_ENDPOINT_LEN];
    size_t n_endpoints, endpoint_at; /* failover: the next one after a silent one */
    char instance_id[32];
    ph_agent_facts_t facts;
    zhashx_t *sessions;      /* session id -> ph_session_t (agent_session.c) */
    struct _ph_ship_t *ship; /* transcripts (agent_log.h) */
    ph_keypair_t kp;         /* the agent's CURVE keypair, also for logshippers */
    uint64_t next_request_id;
    bool connected;                      /* CURVE handshake done on the current connection */
    bool hello_ok;                       /* HelloReply seen since the last (re)connect */
    bool auth_warned;                    /* a failed handshake was logged already */
    uint64_t hello_sent_ms;              /* monotonic; 0: never */
    uint64_t hello_due_ms;               /* monotonic: next Hello while unanswered */
    uint32_t hello_retry_ms;             /* base of the next Hello retry (2 s doubling to 30 s) */
    uint64_t waiting_since_ms;           /* monotonic: no HelloReply since then */
    uint32_t hello_deadline_ms;          /* waiting this long: a new DEALER (jittered) */
    uint64_t rebuild_due_ms;             /* monotonic: DEALER replaced then; 0: not planned */
    uint32_t rebuild_step_ms;            /* base of the next rebuild delay (1 s doubling to 30 s) */
    char server_key[PH_Z85_KEY_LEN + 1]; /* the controller's, pinned */
    uint32_t heartbeat_ms;               /* from HelloReply */
    int heartbeat_timer;                 /* zloop timer id, or -1 */
    int tick_timer;                      /* zloop timer id, or -1 */
    int signal_fd;                       /* signalfd: SIGCHLD, SIGTERM, SIGINT */
    uint64_t tick_count;                 /* incremented by every tick */
    uint8_t iobuf[64 * 1024];            /* one read of a session's output */
    const char *action_stop;             /* alarm actions' commands (agent_actions.c) */
    const char *action_reboot;
    zlistx_t *actions; /* action commands still running */
};

/* ---- agent_conn.c ------------------------------------------------------ */

/*  The agent's DEALERs (to the controller, to each logshipper) are made
 *  the same way, by ph_agent_dealer_open: CURVE client of the server's
 *  pinned key with the agent's keypair, connect only, ZMQ_IMMEDIATE, and a
 *  socket monitor (a PAIR on a fresh inproc endpoint) reporting
 *  PH_AGENT_DEALER_EVENTS. libzmq 4.3.4 never reconnects a DEALER whose
 *  handshake the server refused (ZAP 400/500, a broken handshake): after
 *  such an event (ph_agent_handshake_refused) the owner closes it and
 *  opens a new one after a jittered backoff (ph_agent_jitter). After
 *  ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL libzmq reconnects by itself. */
#define PH_AGENT_DEALER_EVENTS                                                                     \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |                                      \
     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
#define PH_AGENT_REBUILD_MIN_MS 1000  /* first new DEALER after a failed handshake */
#define PH_AGENT_REBUILD_MAX_MS 30000 /* ... doubling up to this */

typedef struct {
    const char *server_key; /* Z85 */
    int sndhwm;
    int reconnect_ms;        /* ZMQ_RECONNECT_IVL, plus a random 0..reconnect_jitter_ms */
    int reconnect_jitter_ms; /* so that a fleet does not reconnect in lockstep */
    int reconnect_max_ms;    /* ZMQ_RECONNECT_IVL_MAX */
} ph_agent_dealer_opts_t;

/*  Creates a DEALER (not yet connected) and its monitor into *dealer and
 *  *monitor. Returns 0, PH_EINVAL (server_key is not a Z85 key) or PH_EIO;
 *  on failure nothing is left open. */
int ph_agent_dealer_open (const ph_keypair_t *kp, const ph_agent_dealer_opts_t *o, zsock_t **dealer,
                          zsock_t **monitor);

/*  Puts both on loop as tolerant readers (a socket error does not end the
 *  loop): on_dealer (dealer_arg) and on_monitor (monitor_arg). Returns 0 or
 *  PH_EIO. ph_agent_dealer_close ends them. */
int ph_agent_dealer_watch (zloop_t *loop, zsock_t *dealer, zloop_reader_fn *on_dealer,
                           void *dealer_arg, zsock_t *monitor, zloop_reader_fn *on_monitor,
                           void *monitor_arg);

/*  Ends the zloop readers of both (if any), stops the monitor and closes
 *  both sockets; messages not yet sent are dropped. Accepts NULLs. */
void ph_agent_dealer_close (zloop_t *loop, zsock_t **dealer, zsock_t **monitor);

/*  True for ZMQ_EVENT_HANDSHAKE_FAILED_AUTH and _PROTOCOL: the server
 *  refused the handshake, and libzmq will not try that connection again. */
bool ph_agent_handshake_refused (uint16_t event);

/*  base_ms +- 25 %, uniformly random: retries of a fleet spread out. */
uint32_t ph_agent_jitter (uint32_t base_ms);

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
