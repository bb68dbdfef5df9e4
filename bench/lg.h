/*  lg.h: the internals of ph-loadgen (bench/loadgen.c), the load generator
 *  of issue 6. Shared by its modules only.
 *
 *  ph-loadgen simulates N porthole agents, each with its own CURVE keypair
 *  and its own DEALER to a real porthole-controller, and M interactive
 *  sessions that echo. One process cannot hold 10,000 agents (four file
 *  descriptors each: DEALER mailbox, TCP connection, and the two ends of
 *  the socket monitor, against a hard RLIMIT_NOFILE of 20,000 here), so:
 *
 *    loadgen.c      the coordinator: options, phases, measurements, report.
 *                   It never touches ZeroMQ, so that it may fork workers.
 *    lg_enroll.c    a child process: CreateActivation and Enroll of the
 *                   agents that the state directory does not hold yet.
 *    lg_agents.c    an agent worker (child): a slice of the agents, each
 *                   doing Hello and Heartbeat exactly as porthole-agent
 *                   (agent/agent_conn.c) does.
 *    lg_echo.c      the sessions of the simulated agents: OpenSession ->
 *                   SessionOpened, STDIN echoed as STDOUT via ph_stream.
 *    lg_clients.c   the client worker (child): StartSession + Attach per
 *                   session over its own DEALER with the admin key, like
 *                   the CLI; measures session start and keystroke echo.
 *    lg_loop.c      a reactor for thousands of ZeroMQ sockets (epoll over
 *                   ZMQ_FD; zloop polls every socket on every wake-up).
 *    lg_state.c     the state directory (enrolled keys and instance ids)
 *                   and the porthole-dev stack directory.
 *    lg_proc.c      /proc figures (CPU, RSS) and Redis INFO.
 *    lg_report.c    percentiles, the JSON and the text report.
 *
 *  Workers report through one shared memory block (lg_shared_t, counters
 *  and latency samples) and take commands from it (run, stop, restart
 *  mark). Times are CLOCK_MONOTONIC microseconds, comparable across the
 *  processes.
 */
#ifndef LG_H
#define LG_H

#include "ph_keys.h"
#include "ph_stream.h"
#include "ph_wire.h"

#include <czmq.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LG_PROGRAM "ph-loadgen"

/* ---- limits and timings ------------------------------------------------ */

#define LG_WORKERS_MAX       32
#define LG_FDS_PER_AGENT     4   /* DEALER mailbox, TCP, monitor PAIR x2 */
#define LG_FDS_PER_SESSION   2   /* client DEALER mailbox, TCP */
#define LG_FDS_SPARE         256 /* epoll, pipes, libzmq's own, logs */
#define LG_AGENTS_MAX        100000
#define LG_SESSIONS_MAX      10000
#define LG_ECHO_SAMPLES_MAX  200000
#define LG_TICK_MS           10 /* timers, stream ticks, shared counters */
#define LG_RECV_BATCH        256
#define LG_RECONNECT_MIN     100 /* as porthole-agent: random 100..300 ms */
#define LG_RECONNECT_SPAN    200
#define LG_RECONNECT_MAX     5000
#define LG_SNDHWM            10000
#define LG_HELLO_RETRY_MS    2000 /* agent_conn.c */
#define LG_HELLO_MIN_GAP_MS  1000
#define LG_HEARTBEAT_DFLT_MS 10000
#define LG_HEARTBEAT_MIN_MS  1000
#define LG_HEARTBEAT_MAX_MS  300000
#define LG_ENROLL_PARALLEL   200
#define LG_ENROLL_WAIT_MS    30000
#define LG_REQUEST_WAIT_MS   15000
#define LG_SESSION_WAIT_MS   30000 /* StartSession sent -> first byte back */
#define LG_RESUME_RETRY_MS   1000
#define LG_ECHO_LINGER_MS    5000 /* an ended echo session keeps its stream */
#define LG_STOP_LINGER_MS    1500 /* last messages out before sockets close */
#define LG_ENDPOINT_MAX      256
#define LG_IID_MAX           24
#define LG_SID_MAX           96
#define LG_PATH_MAX          4096
#define LG_COLS              80
#define LG_ROWS              24

/* ---- options ------------------------------------------------------------ */

typedef struct {
    char stack[LG_PATH_MAX];
    char agent_endpoint[LG_ENDPOINT_MAX];
    char client_endpoint[LG_ENDPOINT_MAX];
    char server_key[PH_Z85_KEY_LEN + 1];
    char admin_key_file[LG_PATH_MAX];
    char redis_url[LG_ENDPOINT_MAX];
    char state_dir[LG_PATH_MAX];
    char controller_pid_file[LG_PATH_MAX];
    char agent_pid_file[LG_PATH_MAX];
    char real_target[LG_IID_MAX];
    const char *json_path;
    const char *restart_cmd;
    pid_t controller_pid;
    pid_t agent_pid;
    unsigned agents;
    unsigned sessions;
    unsigned real_sessions;
    unsigned session_rate;
    unsigned keystroke_ms;
    unsigned measure_s;
    unsigned settle_s;
    unsigned register_timeout_s;
    unsigned restart_timeout_s;
    unsigned workers;
    unsigned enroll_parallel;
    bool enroll_only;
} lg_opts_t;

/* ---- shared memory between the coordinator and its workers ------------- */

typedef enum { LG_CMD_RUN = 0, LG_CMD_STOP = 1 } lg_cmd_t;

typedef enum {
    LG_ERR_HANDSHAKE = 0, /* CURVE handshake refused */
    LG_ERR_SEND,          /* a message could not be queued */
    LG_ERR_BAD_FRAME,     /* a frame failed ph_wire_decode */
    LG_ERR_REFUSED,       /* Error{AccessDenied} and other unexpected errors */
    LG_ERR_START,         /* StartSession/Attach answered with an Error */
    LG_ERR_START_TIMEOUT, /* no first byte within LG_SESSION_WAIT_MS */
    LG_ERR_ECHO,          /* echoed bytes not what was typed */
    LG_ERR_RESUME,        /* a session could not be resumed */
    LG_ERR_COUNT
} lg_err_t;

extern const char *const lg_err_names[LG_ERR_COUNT];

typedef struct {
    _Atomic int cmd;               /* lg_cmd_t, coordinator -> worker */
    _Atomic uint64_t mark_us;      /* 0, or when the restarted controller was started */
    _Atomic int ready;             /* worker: set-up done, sockets connecting */
    _Atomic uint64_t start_us;     /* worker: when its first socket connected */
    _Atomic uint32_t heartbeat_ms; /* agent worker: interval of HelloReply */
    _Atomic uint64_t cpu_us;       /* worker: its own user+system CPU */
    _Atomic uint64_t agents;       /* agent worker: agents in its slice */
    _Atomic uint64_t connected, registered, reregistered;
    _Atomic uint64_t all_registered_us; /* when its last agent registered */
    _Atomic uint64_t last_rereg_us;     /* latest re-registration after mark */
    _Atomic uint64_t hello_sent, hb_sent, not_registered;
    _Atomic uint64_t echo_open, echo_bytes;
    _Atomic uint64_t err[LG_ERR_COUNT];
} lg_worker_shm_t;

typedef struct {
    lg_worker_shm_t workers[LG_WORKERS_MAX];
    lg_worker_shm_t client; /* the client worker's counters */
    _Atomic uint64_t sess_started, sess_opened, sess_failed, sess_resumed, sess_exited;
    _Atomic uint64_t real_opened;
    _Atomic uint64_t keys_sent, keys_echoed;
    _Atomic uint32_t n_start, n_real_start, n_echo;
    uint32_t start_us[LG_SESSIONS_MAX];      /* echo sessions: start latency */
    uint32_t real_start_us[LG_SESSIONS_MAX]; /* sessions on the real agent */
    uint32_t echo_us[LG_ECHO_SAMPLES_MAX];   /* keystroke echo round trips */
} lg_shared_t;

/* ---- lg_state.c --------------------------------------------------------- */

typedef struct {
    char iid[LG_IID_MAX];
    ph_keypair_t kp;
} lg_identity_t;

typedef struct {
    size_t count, cap;
    lg_identity_t *ids;
} lg_state_t;

/*  Fills the endpoints, keys, Redis URL, pid files and real target of o
 *  from the porthole-dev stack directory o->stack and the environment
 *  (PORTHOLE_ENDPOINT, PORTHOLE_SERVER_KEY, PORTHOLE_REDIS_URL), leaving
 *  what the command line set. Returns 0, or PH_EINVAL with err saying what
 *  is missing and how to give it. Reads small files. */
int lg_stack_resolve (lg_opts_t *o, char *err, size_t errlen);

/*  Loads the identities saved in o->state_dir for this controller (its
 *  server key and agents endpoint); a state of another stack is ignored
 *  (with a warning), a missing one is empty. Returns 0 or PH_EINVAL. */
int lg_state_load (const lg_opts_t *o, lg_state_t *st, char *err, size_t errlen);

/*  Writes st to o->state_dir (mode 0600, atomic). Returns 0 or PH_EIO. */
int lg_state_save (const lg_opts_t *o, const lg_state_t *st);

/*  Appends one identity. Returns 0 or PH_ENOMEM. */
int lg_state_add (lg_state_t *st, const char *iid, const ph_keypair_t *kp);

void lg_state_free (lg_state_t *st);

/* ---- lg_loop.c ----------------------------------------------------------- */

typedef struct _lg_loop_t lg_loop_t;
typedef struct _lg_watch_t lg_watch_t;

/*  Called when sock has messages (ZMQ_POLLIN). Reads at most a batch and
 *  calls lg_loop_kick if more may be waiting. */
typedef void (lg_ready_fn) (lg_loop_t *loop, zsock_t *sock, void *arg);

lg_loop_t *lg_loop_new (void);
void lg_loop_destroy (lg_loop_t **self_p);

/*  Watches sock (its ZMQ_FD in epoll). Returns NULL on failure. */
lg_watch_t *lg_loop_watch (lg_loop_t *self, zsock_t *sock, lg_ready_fn *fn, void *arg);

/*  Stops watching; the watch is freed after the current turn. */
void lg_loop_unwatch (lg_loop_t *self, lg_watch_t **watch_p);

/*  Checks the watched socket again in this turn: after a send (which may
 *  have consumed the ZMQ_FD signal) or after a partial read. */
void lg_loop_kick (lg_loop_t *self, lg_watch_t *watch);

/*  One turn: waits at most timeout_ms for readiness, runs the handlers and
 *  the kicked watches. Returns 0, or PH_EIO when epoll failed. */
int lg_loop_once (lg_loop_t *self, int timeout_ms);

/* ---- lg_proc.c ----------------------------------------------------------- */

/*  Monotonic clock in microseconds (all processes share it). */
uint64_t lg_now_us (void);

/*  utime+stime of pid in microseconds; 0 when it is gone. */
uint64_t lg_proc_cpu_us (pid_t pid);

/*  VmRSS of pid in KiB; -1 when it is gone. */
long lg_proc_rss_kb (pid_t pid);

/*  Busy and total jiffies of the whole machine (/proc/stat). */
void lg_machine_jiffies (uint64_t *busy, uint64_t *total);

/*  This process's own user+system CPU in microseconds. */
uint64_t lg_self_cpu_us (void);

/*  A pid from a pid file; 0 when missing. */
pid_t lg_pid_from_file (const char *path);

/*  INFO stats total_commands_processed; -1 when Redis cannot be asked. */
long long lg_redis_commands (const char *url);

/*  How many instances Redis shows with last_seen_ms within window_ms of now
 *  (heartbeats that the controller processed and flushed); -1 on error. */
long long lg_redis_fresh_instances (const char *url, uint64_t window_ms);

/*  The controller's heartbeat interval as HelloReply gives it is not in
 *  Redis; the coordinator learns it from the workers (shared memory). */

/* ---- lg_enroll.c ---------------------------------------------------------- */

/*  Child process: makes sure o->state_dir holds o->agents identities, by
 *  CreateActivation (admin key) and Enroll of the missing ones. Returns an
 *  exit code (PH_EXIT_*), with every failure explained on stderr. */
int lg_enroll_run (const lg_opts_t *o);

/*  Builds a CURVE DEALER to endpoint for kp, with the agent's reconnect
 *  options (random 100..300 ms, up to 5 s). NULL on failure. */
zsock_t *lg_dealer_new (const ph_keypair_t *kp, const char *server_key, bool immediate);

/*  Loads the admin keypair of o (the stack's CLI key). Returns 0 or
 *  PH_EINVAL with a message on stderr. */
int lg_admin_key (const lg_opts_t *o, ph_keypair_t *kp);

/* ---- lg_agents.c --------------------------------------------------------- */

typedef struct _lg_agent_t lg_agent_t;
typedef struct _lg_agents_t lg_agents_t;

/*  Agent worker (child process): agents [lo, hi) of st until told to stop.
 *  Returns an exit code. */
int lg_agents_run (const lg_opts_t *o, const lg_state_t *st, size_t lo, size_t hi,
                   lg_worker_shm_t *shm);

/*  Sends env (version filled in) on the agent's DEALER. Returns 0 or the
 *  ph_wire_send code (counted as an error). */
int lg_agent_send (lg_agent_t *agent, ph_env_t *env);

/*  The next request id of an agent. */
uint64_t lg_agent_request_id (lg_agent_t *agent);

/*  The worker's shared counters. */
lg_worker_shm_t *lg_agent_shm (lg_agent_t *agent);

/* ---- lg_echo.c ----------------------------------------------------------- */

typedef struct _lg_echo_t lg_echo_t;

/*  The sessions of one worker's agents. */
lg_echo_t *lg_echo_new (void);
void lg_echo_destroy (lg_echo_t **self_p);

/*  OpenSession for agent: SessionOpened (again, for a known session). */
void lg_echo_open (lg_echo_t *self, lg_agent_t *agent, uint64_t request_id,
                   const Porthole__V1__OpenSession *msg);

/*  StreamData for one of agent's sessions: STDIN comes back as STDOUT. */
void lg_echo_stream (lg_echo_t *self, lg_agent_t *agent, const ph_stream_data_t *sd);

/*  CloseSession: EXIT "0" on the stream, then SessionEnded. */
void lg_echo_close (lg_echo_t *self, lg_agent_t *agent, const char *sid, const char *why);

/*  Ids of agent's live sessions (for Hello); strings owned by the table,
 *  array freed by the caller. */
const char **lg_echo_live_ids (lg_echo_t *self, lg_agent_t *agent, size_t *count);
size_t lg_echo_live_count (lg_echo_t *self, lg_agent_t *agent);

/*  After HelloReply: resend what agent's streams have unacknowledged. */
void lg_echo_resync (lg_echo_t *self, lg_agent_t *agent);

/*  Stream timers, lingering ended sessions. */
void lg_echo_tick (lg_echo_t *self, uint64_t now_us);

/*  Ends every live session (at stop). */
void lg_echo_end_all (lg_echo_t *self);

/*  Sessions still open. */
size_t lg_echo_open_count (const lg_echo_t *self);

/* ---- lg_clients.c -------------------------------------------------------- */

/*  Client worker (child process): opens o->sessions echo sessions on the
 *  agents of st (spread evenly over the first o->agents) and
 *  o->real_sessions on o->real_target, types into the echo sessions, and
 *  resumes sessions after a controller restart, until told to stop.
 *  Returns an exit code. */
int lg_clients_run (const lg_opts_t *o, const lg_state_t *st, lg_shared_t *shared);

/* ---- lg_report.c --------------------------------------------------------- */

/*  One measurement window: the controller, Redis, the workers. */
typedef struct {
    double seconds;
    double ctl_cpu_pct;      /* of one core */
    long ctl_rss_kb;         /* at the end of the window */
    double redis_ops_s;      /* total_commands_processed delta / s */
    double hb_s;             /* heartbeats sent (and processed) / s */
    double machine_busy_pct; /* of all cores */
    double loadgen_cpu_pct;  /* all workers, of one core */
    long long fresh;         /* instances with a fresh last_seen_ms */
    long agent_rss_kb;       /* the real agent, when known */
} lg_window_t;

typedef struct {
    unsigned agents_wanted;
    unsigned long agents_registered;
    unsigned workers;
    double register_s; /* first connect -> all registered; < 0: not all */
    long ctl_rss_base_kb, agent_rss_base_kb;
    unsigned heartbeat_ms;
    lg_window_t idle;     /* N agents, no sessions */
    lg_window_t sessions; /* N agents, M+K sessions open */
    bool have_sessions;
    bool restarted;
    double restart_cmd_s; /* the restart command itself (stop + start) */
    double rereg_s;       /* restart command done -> all re-registered */
    double rereg_total_s; /* restart began -> all re-registered */
    unsigned long reregistered;
    unsigned long resumed;
    uint64_t err[LG_ERR_COUNT];
    unsigned long not_registered;
    size_t echo_samples; /* keystroke echoes within the sessions window */
} lg_result_t;

/*  The p-th percentile (0..100) of n samples (sorted in place); 0 if n=0. */
double lg_percentile_ms (uint32_t *us, size_t n, double p);

/*  Prints the text report on stdout and, when o->json_path is set, writes
 *  the JSON report there. Returns 0 or PH_EIO. */
int lg_report (const lg_opts_t *o, const lg_result_t *r, lg_shared_t *shared);

#endif
