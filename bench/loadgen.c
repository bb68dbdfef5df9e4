/*  ph-loadgen: the load generator of issue 6 (see lg.h for the modules).
 *
 *  This file is the coordinator: the command line, the phases of a run and
 *  the measurements taken from outside the processes. It never uses
 *  ZeroMQ, so that it may fork workers (a libzmq context does not survive
 *  fork); the workers report through shared memory.
 *
 *    1. enrollment child: the state directory gets N agent identities
 *    2. agent workers: N agents connect, Hello; time until all registered
 *    3. window "idle": controller CPU and RSS, Redis ops/s, heartbeats/s
 *    4. client worker: M echo sessions (+ K on the real agent), session
 *       start p50/p99; window "sessions": the same figures, keystroke echo
 *    5. --restart-cmd: the controller restarts; time until every agent
 *       registered again, sessions resumed
 *    6. stop: sessions end (EXIT, SessionEnded), workers exit; report
 */
#include "lg.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_version.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LG_POLL_MS        20
#define LG_PROGRESS_MS    2000
#define LG_CHILD_EXIT_MS  30000
#define LG_OPEN_SLACK_S   60 /* beyond sessions / rate */
#define LG_RESUME_WAIT_S  30
#define LG_FRESH_SLACK_MS 1000

static volatile sig_atomic_t s_stop;

static void s_on_signal (int sig)
{
    (void)sig;
    s_stop = 1;
}

static const char s_usage[] =
    "Usage: " LG_PROGRAM " [options]\n"
    "\n"
    "Simulates N porthole agents with real CURVE connections to a running\n"
    "porthole-controller (registration, Hello, Heartbeat as porthole-agent does)\n"
    "and M interactive sessions that echo, and reports registration time,\n"
    "controller CPU and RSS, Redis ops/s, heartbeats/s, session start and\n"
    "keystroke echo p50/p99, restart recovery and errors (text on stdout,\n"
    "JSON with --json). Enrolled agents are kept in the state directory so\n"
    "that later runs skip enrollment.\n"
    "\n"
    "Stack (a deploy/porthole-dev directory gives all of these):\n"
    "  --stack DIR             read endpoints, keys, Redis URL and pids from DIR\n"
    "  --agent-endpoint EP     controller agents port (DIR/agent_endpoint)\n"
    "  --client-endpoint EP    controller clients port (DIR/cli/config, $PORTHOLE_ENDPOINT)\n"
    "  --server-key KEY        controller public key (DIR/cli/config, $PORTHOLE_SERVER_KEY)\n"
    "  --admin-key FILE        admin keypair (DIR/cli/default.key)\n"
    "  --redis URL             Redis, for INFO stats (DIR/env, $PORTHOLE_REDIS_URL)\n"
    "  --controller-pid PID    controller to measure (DIR/pids/controller.pid, re-read\n"
    "                          after a restart)\n"
    "  --agent-pid PID         real porthole-agent to measure (DIR/pids/agent-1.pid)\n"
    "  --state-dir DIR         enrolled agents (default STACK/loadgen, else\n"
    "                          ./ph-loadgen-state)\n"
    "\n"
    "Load:\n"
    "  --agents N              simulated agents (default 100)\n"
    "  --sessions M            echo sessions, on M different agents (default 0)\n"
    "  --real-sessions K       sessions on the real agent, for its memory per session\n"
    "                          (default 0)\n"
    "  --real-target ID        the real agent's instance id (DIR/agents/1/agent.conf)\n"
    "  --session-rate R        sessions started per second (default 100)\n"
    "  --keystroke-ms MS       each open echo session types a byte this often and\n"
    "                          times its echo (default 1000; 0: never)\n"
    "  --measure S             length of each measurement window (default 15)\n"
    "  --settle S              pause before each window (default 2)\n"
    "  --restart-cmd CMD       after the windows, run CMD (sh -c) to restart the\n"
    "                          controller and time until all agents registered again\n"
    "  --register-timeout S    give up on registration after S (default 300)\n"
    "  --restart-timeout S     give up on re-registration after S (default 300)\n"
    "  --workers W             agent worker processes (default: as many as the open\n"
    "                          files limit needs, 4 descriptors per agent)\n"
    "  --enroll-parallel P     enrollments in flight (default 200)\n"
    "  --enroll-only           enroll the agents the state lacks, then exit (so that a\n"
    "                          measured run starts from a controller that did not see\n"
    "                          the enrollment churn)\n"
    "  --json FILE             write the report as JSON to FILE\n"
    "  -h, --help              this text\n"
    "  -V, --version           print the version\n"
    "\n"
    "Exit codes: 0 every agent registered (and re-registered), every session\n"
    "opened, no protocol errors; 64 bad arguments; 65 bad keys, state or limits;\n"
    "69 controller unreachable or registration timed out; 70 sessions failed or\n"
    "the controller answered with errors.\n";

typedef struct {
    lg_opts_t o;
    lg_shared_t *sh;
    lg_state_t st;
    pid_t workers[LG_WORKERS_MAX];
    unsigned n_workers;
    pid_t client;
    lg_result_t r;
} lg_run_t;

/* ---- command line -------------------------------------------------------- */

static int s_usage_error (const char *fmt, const char *arg)
{
    fprintf (stderr, LG_PROGRAM ": ");
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "; see " LG_PROGRAM " --help\n");
    return PH_EXIT_USAGE;
}

static int s_uint (const char *name, const char *text, uint64_t max, unsigned *out)
{
    uint64_t v;
    if (ph_parse_uint (text, 0, max, &v) != 0) {
        char msg[128];
        snprintf (msg, sizeof msg, "%s must be a number in 0..%llu, not '%%s'", name,
                  (unsigned long long)max);
        return s_usage_error (msg, text);
    }
    *out = (unsigned)v;
    return 0;
}

static void s_copy (char *dst, size_t len, const char *src)
{
    snprintf (dst, len, "%s", src);
}

enum {
    O_STACK = 256,
    O_AGENT_EP,
    O_CLIENT_EP,
    O_SERVER_KEY,
    O_ADMIN_KEY,
    O_REDIS,
    O_CTL_PID,
    O_AGENT_PID,
    O_STATE,
    O_AGENTS,
    O_SESSIONS,
    O_REAL,
    O_REAL_TARGET,
    O_RATE,
    O_KEYS,
    O_MEASURE,
    O_SETTLE,
    O_RESTART,
    O_REG_TO,
    O_RESTART_TO,
    O_WORKERS,
    O_ENROLL_PAR,
    O_JSON,
    O_ENROLL_ONLY,
};

static const struct option s_long[] = {{"stack", 1, 0, O_STACK},
                                       {"agent-endpoint", 1, 0, O_AGENT_EP},
                                       {"client-endpoint", 1, 0, O_CLIENT_EP},
                                       {"server-key", 1, 0, O_SERVER_KEY},
                                       {"admin-key", 1, 0, O_ADMIN_KEY},
                                       {"redis", 1, 0, O_REDIS},
                                       {"controller-pid", 1, 0, O_CTL_PID},
                                       {"agent-pid", 1, 0, O_AGENT_PID},
                                       {"state-dir", 1, 0, O_STATE},
                                       {"agents", 1, 0, O_AGENTS},
                                       {"sessions", 1, 0, O_SESSIONS},
                                       {"real-sessions", 1, 0, O_REAL},
                                       {"real-target", 1, 0, O_REAL_TARGET},
                                       {"session-rate", 1, 0, O_RATE},
                                       {"keystroke-ms", 1, 0, O_KEYS},
                                       {"measure", 1, 0, O_MEASURE},
                                       {"settle", 1, 0, O_SETTLE},
                                       {"restart-cmd", 1, 0, O_RESTART},
                                       {"register-timeout", 1, 0, O_REG_TO},
                                       {"restart-timeout", 1, 0, O_RESTART_TO},
                                       {"workers", 1, 0, O_WORKERS},
                                       {"enroll-parallel", 1, 0, O_ENROLL_PAR},
                                       {"json", 1, 0, O_JSON},
                                       {"enroll-only", 0, 0, O_ENROLL_ONLY},
                                       {"help", 0, 0, 'h'},
                                       {"version", 0, 0, 'V'},
                                       {0, 0, 0, 0}};

static int s_option_number (lg_opts_t *o, int c, const char *arg)
{
    unsigned pid = 0;
    int rc = 0;
    switch (c) {
    case O_AGENTS:
        return s_uint ("--agents", arg, LG_AGENTS_MAX, &o->agents);
    case O_SESSIONS:
        return s_uint ("--sessions", arg, LG_SESSIONS_MAX, &o->sessions);
    case O_REAL:
        return s_uint ("--real-sessions", arg, LG_SESSIONS_MAX, &o->real_sessions);
    case O_RATE:
        return s_uint ("--session-rate", arg, 100000, &o->session_rate);
    case O_KEYS:
        return s_uint ("--keystroke-ms", arg, 60000, &o->keystroke_ms);
    case O_MEASURE:
        return s_uint ("--measure", arg, 86400, &o->measure_s);
    case O_SETTLE:
        return s_uint ("--settle", arg, 3600, &o->settle_s);
    case O_REG_TO:
        return s_uint ("--register-timeout", arg, 86400, &o->register_timeout_s);
    case O_RESTART_TO:
        return s_uint ("--restart-timeout", arg, 86400, &o->restart_timeout_s);
    case O_WORKERS:
        return s_uint ("--workers", arg, LG_WORKERS_MAX, &o->workers);
    case O_ENROLL_PAR:
        return s_uint ("--enroll-parallel", arg, 5000, &o->enroll_parallel);
    case O_CTL_PID:
        rc = s_uint ("--controller-pid", arg, 1u << 22, &pid);
        o->controller_pid = (pid_t)pid;
        return rc;
    case O_AGENT_PID:
        rc = s_uint ("--agent-pid", arg, 1u << 22, &pid);
        o->agent_pid = (pid_t)pid;
        return rc;
    default:
        return s_usage_error ("unknown option '%s'", arg);
    }
}

static int s_option (lg_opts_t *o, int c, const char *arg)
{
    switch (c) {
    case O_STACK:
        s_copy (o->stack, sizeof o->stack, arg);
        return 0;
    case O_AGENT_EP:
        s_copy (o->agent_endpoint, sizeof o->agent_endpoint, arg);
        return 0;
    case O_CLIENT_EP:
        s_copy (o->client_endpoint, sizeof o->client_endpoint, arg);
        return 0;
    case O_SERVER_KEY:
        s_copy (o->server_key, sizeof o->server_key, arg);
        return 0;
    case O_ADMIN_KEY:
        s_copy (o->admin_key_file, sizeof o->admin_key_file, arg);
        return 0;
    case O_REDIS:
        s_copy (o->redis_url, sizeof o->redis_url, arg);
        return 0;
    case O_STATE:
        s_copy (o->state_dir, sizeof o->state_dir, arg);
        return 0;
    case O_REAL_TARGET:
        s_copy (o->real_target, sizeof o->real_target, arg);
        return 0;
    case O_RESTART:
        o->restart_cmd = arg;
        return 0;
    case O_JSON:
        o->json_path = arg;
        return 0;
    case O_ENROLL_ONLY:
        o->enroll_only = true;
        return 0;
    default:
        return s_option_number (o, c, arg);
    }
}

static int s_check (lg_opts_t *o)
{
    char err[512];
    if (lg_stack_resolve (o, err, sizeof err) != 0) {
        fprintf (stderr, LG_PROGRAM ": %s\n", err);
        return PH_EXIT_USAGE;
    }
    if (o->agents == 0)
        return s_usage_error ("%s", "--agents must be at least 1");
    if (o->sessions > o->agents)
        return s_usage_error ("%s", "--sessions may not exceed --agents (one session per agent)");
    if (o->sessions + o->real_sessions > LG_SESSIONS_MAX)
        return s_usage_error ("%s", "--sessions plus --real-sessions is over 10000");
    if (o->real_sessions && !ph_instance_id_valid (o->real_target))
        return s_usage_error ("%s", "--real-sessions needs --real-target mi-... (or --stack DIR)");
    return 0;
}

static int s_parse (int argc, char **argv, lg_opts_t *o)
{
    *o = (lg_opts_t){.agents = 100,
                     .session_rate = 100,
                     .keystroke_ms = 1000,
                     .measure_s = 15,
                     .settle_s = 2,
                     .register_timeout_s = 300,
                     .restart_timeout_s = 300,
                     .enroll_parallel = LG_ENROLL_PARALLEL};
    int c;
    while ((c = getopt_long (argc, argv, "hV", s_long, NULL)) != -1) {
        if (c == 'h') {
            fputs (s_usage, stdout);
            exit (PH_EXIT_OK);
        }
        if (c == 'V') {
            printf (LG_PROGRAM " %s\n", PH_VERSION);
            exit (PH_EXIT_OK);
        }
        if (c == '?')
            return s_usage_error ("%s", "unknown option or missing value");
        int rc = s_option (o, c, optarg);
        if (rc != 0)
            return rc;
    }
    if (optind != argc)
        return s_usage_error ("unexpected argument '%s'", argv[optind]);
    if (o->enroll_parallel == 0)
        o->enroll_parallel = 1;
    return s_check (o);
}

/* ---- processes ------------------------------------------------------------- */

static void s_sleep_ms (unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep (&ts, &ts) != 0 && errno == EINTR && !s_stop)
        ;
}

/*  Sleeps ms in small steps; false when interrupted. */
static bool s_wait_ms (unsigned ms)
{
    for (unsigned t = 0; t < ms && !s_stop; t += LG_POLL_MS)
        s_sleep_ms (ms - t < LG_POLL_MS ? ms - t : LG_POLL_MS);
    return !s_stop;
}

typedef int (s_child_fn) (lg_run_t *run, unsigned arg);

static pid_t s_fork (lg_run_t *run, s_child_fn *fn, unsigned arg)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        _exit (fn (run, arg));
    }
    if (pid < 0)
        fprintf (stderr, LG_PROGRAM ": fork failed: %s\n", strerror (errno));
    return pid;
}

/*  Waits for pid (killing it after timeout_ms). Returns its exit code. */
static int s_reap (pid_t pid, unsigned timeout_ms)
{
    int status = 0;
    for (unsigned t = 0; t < timeout_ms; t += LG_POLL_MS) {
        pid_t r = waitpid (pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        if (r < 0)
            return PH_EXIT_API;
        s_sleep_ms (LG_POLL_MS);
    }
    fprintf (stderr, LG_PROGRAM ": a worker (pid %d) did not stop; killing it\n", (int)pid);
    kill (pid, SIGKILL);
    waitpid (pid, &status, 0);
    return PH_EXIT_API;
}

static bool s_alive (pid_t pid)
{
    return pid > 0 && waitpid (pid, NULL, WNOHANG) == 0;
}

static int s_enroll_child (lg_run_t *run, unsigned arg)
{
    (void)arg;
    return lg_enroll_run (&run->o);
}

static int s_agents_child (lg_run_t *run, unsigned w)
{
    size_t n = run->o.agents, lo = n * w / run->n_workers, hi = n * (w + 1) / run->n_workers;
    return lg_agents_run (&run->o, &run->st, lo, hi, &run->sh->workers[w]);
}

static int s_clients_child (lg_run_t *run, unsigned arg)
{
    (void)arg;
    return lg_clients_run (&run->o, &run->st, run->sh);
}

/*  Raises the soft open-files limit to the hard one. Returns the limit. */
static rlim_t s_raise_nofile (void)
{
    struct rlimit rl;
    if (getrlimit (RLIMIT_NOFILE, &rl) != 0)
        return 1024;
    rl.rlim_cur = rl.rlim_max;
    setrlimit (RLIMIT_NOFILE, &rl);
    getrlimit (RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

static int s_plan_workers (lg_run_t *run)
{
    rlim_t nofile = s_raise_nofile ();
    size_t per = nofile > LG_FDS_SPARE ? (nofile - LG_FDS_SPARE) / LG_FDS_PER_AGENT : 1;
    unsigned need = (unsigned)((run->o.agents + per - 1) / per);
    run->n_workers = run->o.workers ? run->o.workers : need;
    size_t clients = (size_t)(run->o.sessions + run->o.real_sessions) * LG_FDS_PER_SESSION;
    if (run->n_workers < need || need > LG_WORKERS_MAX || clients + LG_FDS_SPARE > nofile) {
        fprintf (stderr,
                 LG_PROGRAM ": %u agents and %u sessions need more open files than the limit "
                            "of %llu allows (%d per agent, %d per session); use more --workers "
                            "(at most %d) or raise ulimit -n\n",
                 run->o.agents, run->o.sessions + run->o.real_sessions, (unsigned long long)nofile,
                 LG_FDS_PER_AGENT, LG_FDS_PER_SESSION, LG_WORKERS_MAX);
        return PH_EXIT_CONFIG;
    }
    if (run->n_workers > run->o.agents)
        run->n_workers = run->o.agents;
    return 0;
}

/* ---- what the workers say ----------------------------------------------------- */

typedef struct {
    uint64_t registered, reregistered, connected, hb, not_registered;
    uint64_t first_start_us, all_registered_us, last_rereg_us, cpu_us;
    bool all_done; /* every worker's slice registered */
    bool failed;   /* a worker could not set up, or died */
} s_sum_t;

static void s_sum (lg_run_t *run, s_sum_t *s)
{
    memset (s, 0, sizeof *s);
    s->all_done = true;
    for (unsigned i = 0; i < run->n_workers; i++) {
        lg_worker_shm_t *w = &run->sh->workers[i];
        s->registered += atomic_load (&w->registered);
        s->reregistered += atomic_load (&w->reregistered);
        s->connected += atomic_load (&w->connected);
        s->hb += atomic_load (&w->hb_sent);
        s->not_registered += atomic_load (&w->not_registered);
        s->cpu_us += atomic_load (&w->cpu_us);
        uint64_t start = atomic_load (&w->start_us), all = atomic_load (&w->all_registered_us);
        if (start && (!s->first_start_us || start < s->first_start_us))
            s->first_start_us = start;
        s->all_done = s->all_done && all;
        s->all_registered_us = all > s->all_registered_us ? all : s->all_registered_us;
        uint64_t rr = atomic_load (&w->last_rereg_us);
        s->last_rereg_us = rr > s->last_rereg_us ? rr : s->last_rereg_us;
        s->failed = s->failed || atomic_load (&w->ready) < 0 || !s_alive (run->workers[i]);
    }
    s->cpu_us += atomic_load (&run->sh->client.cpu_us);
}

static pid_t s_controller_pid (const lg_opts_t *o)
{
    return o->controller_pid ? o->controller_pid : lg_pid_from_file (o->controller_pid_file);
}

static pid_t s_agent_pid (const lg_opts_t *o)
{
    return o->agent_pid ? o->agent_pid : lg_pid_from_file (o->agent_pid_file);
}

/* ---- phases -------------------------------------------------------------------- */

static int s_register (lg_run_t *run)
{
    for (unsigned w = 0; w < run->n_workers; w++)
        if ((run->workers[w] = s_fork (run, s_agents_child, w)) < 0)
            return PH_EXIT_CONFIG;
    uint64_t give_up = lg_now_us () + run->o.register_timeout_s * 1000000ull, next_log = 0;
    s_sum_t s;
    for (;;) {
        s_sum (run, &s);
        uint64_t now = lg_now_us ();
        if (s.all_done || s.failed || s_stop || now > give_up)
            break;
        if (now >= next_log) {
            fprintf (stderr, LG_PROGRAM ": %llu of %u agents registered (%llu connected)\n",
                     (unsigned long long)s.registered, run->o.agents,
                     (unsigned long long)s.connected);
            next_log = now + LG_PROGRESS_MS * 1000ull;
        }
        s_sleep_ms (LG_POLL_MS);
    }
    run->r.agents_registered = (unsigned long)s.registered;
    run->r.register_s = s.all_done ? (double)(s.all_registered_us - s.first_start_us) / 1e6 : -1;
    run->r.heartbeat_ms = atomic_load (&run->sh->workers[0].heartbeat_ms);
    if (s.failed) {
        fprintf (stderr, LG_PROGRAM ": an agent worker failed; see the messages above\n");
        return PH_EXIT_CONFIG;
    }
    if (!s.all_done) {
        fprintf (stderr,
                 LG_PROGRAM ": only %llu of %u agents registered within %u s; see the "
                            "controller's log\n",
                 (unsigned long long)s.registered, run->o.agents, run->o.register_timeout_s);
        return PH_EXIT_UNAVAIL;
    }
    fprintf (stderr, LG_PROGRAM ": all %u agents registered in %.2f s\n", run->o.agents,
             run->r.register_s);
    return 0;
}

typedef struct {
    uint64_t t_us, ctl_cpu_us, hb, lg_cpu_us, busy, total;
    long long redis;
} s_snap_t;

static void s_snap (lg_run_t *run, pid_t ctl, s_snap_t *p)
{
    s_sum_t s;
    s_sum (run, &s);
    p->t_us = lg_now_us ();
    p->ctl_cpu_us = lg_proc_cpu_us (ctl);
    p->hb = s.hb;
    p->lg_cpu_us = s.cpu_us;
    p->redis = *run->o.redis_url ? lg_redis_commands (run->o.redis_url) : -1;
    lg_machine_jiffies (&p->busy, &p->total);
}

static void s_window (lg_run_t *run, lg_window_t *w)
{
    pid_t ctl = s_controller_pid (&run->o);
    s_snap_t a, b;
    s_wait_ms (run->o.settle_s * 1000);
    s_snap (run, ctl, &a);
    s_wait_ms (run->o.measure_s * 1000);
    s_snap (run, ctl, &b);
    double sec = (double)(b.t_us - a.t_us) / 1e6;
    w->seconds = sec;
    w->ctl_cpu_pct = 100.0 * (double)(b.ctl_cpu_us - a.ctl_cpu_us) / 1e6 / sec;
    w->ctl_rss_kb = lg_proc_rss_kb (ctl);
    w->agent_rss_kb = lg_proc_rss_kb (s_agent_pid (&run->o));
    w->redis_ops_s = a.redis >= 0 && b.redis >= 0 ? (double)(b.redis - a.redis) / sec : -1;
    w->hb_s = (double)(b.hb - a.hb) / sec;
    w->loadgen_cpu_pct = 100.0 * (double)(b.lg_cpu_us - a.lg_cpu_us) / 1e6 / sec;
    w->machine_busy_pct =
        b.total > a.total ? 100.0 * (double)(b.busy - a.busy) / (double)(b.total - a.total) : 0;
    uint64_t hb = run->r.heartbeat_ms ? run->r.heartbeat_ms : LG_HEARTBEAT_DFLT_MS;
    w->fresh = *run->o.redis_url
                   ? lg_redis_fresh_instances (run->o.redis_url, 2 * hb + LG_FRESH_SLACK_MS)
                   : -1;
}

static int s_sessions (lg_run_t *run)
{
    unsigned total = run->o.sessions + run->o.real_sessions;
    run->client = s_fork (run, s_clients_child, 0);
    if (run->client < 0)
        return PH_EXIT_CONFIG;
    unsigned rate = run->o.session_rate ? run->o.session_rate : 1;
    uint64_t give_up = lg_now_us () + (total / rate + LG_OPEN_SLACK_S) * 1000000ull;
    lg_shared_t *sh = run->sh;
    while (!s_stop && lg_now_us () < give_up && s_alive (run->client) &&
           atomic_load (&sh->sess_opened) + atomic_load (&sh->real_opened) +
                   atomic_load (&sh->sess_failed) <
               total)
        s_sleep_ms (LG_POLL_MS);
    fprintf (stderr, LG_PROGRAM ": %llu sessions open, %llu failed; measuring\n",
             (unsigned long long)(atomic_load (&sh->sess_opened) + atomic_load (&sh->real_opened)),
             (unsigned long long)atomic_load (&sh->sess_failed));
    atomic_store (&sh->n_echo, 0);
    s_window (run, &run->r.sessions);
    run->r.echo_samples = atomic_load (&sh->n_echo);
    run->r.have_sessions = true;
    return 0;
}

/*  Runs CMD with sh -c; returns its exit status. */
static int s_system (const char *cmd)
{
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        execl ("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit (127);
    }
    int status = 0;
    if (pid < 0 || waitpid (pid, &status, 0) != pid)
        return -1;
    return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
}

static int s_restart (lg_run_t *run)
{
    uint64_t began = lg_now_us ();
    fprintf (stderr, LG_PROGRAM ": restarting the controller: %s\n", run->o.restart_cmd);
    int rc = s_system (run->o.restart_cmd);
    uint64_t up = lg_now_us ();
    for (unsigned i = 0; i < run->n_workers; i++)
        atomic_store (&run->sh->workers[i].mark_us, up);
    run->r.restarted = true;
    run->r.restart_cmd_s = (double)(up - began) / 1e6;
    if (rc != 0) {
        fprintf (stderr, LG_PROGRAM ": the restart command exited with %d\n", rc);
        return PH_EXIT_UNAVAIL;
    }
    uint64_t give_up = up + run->o.restart_timeout_s * 1000000ull;
    s_sum_t s;
    do {
        s_sleep_ms (LG_POLL_MS);
        s_sum (run, &s);
    } while (!s_stop && s.reregistered < s.registered && lg_now_us () < give_up);
    run->r.reregistered = (unsigned long)s.reregistered;
    bool all = s.reregistered >= s.registered;
    run->r.rereg_s = all ? (double)(s.last_rereg_us - up) / 1e6 : -1;
    run->r.rereg_total_s = all ? (double)(s.last_rereg_us - began) / 1e6 : -1;
    fprintf (stderr, LG_PROGRAM ": %llu of %llu agents registered again\n",
             (unsigned long long)s.reregistered, (unsigned long long)s.registered);
    uint64_t open = atomic_load (&run->sh->sess_opened) + atomic_load (&run->sh->real_opened);
    uint64_t resume_until = lg_now_us () + LG_RESUME_WAIT_S * 1000000ull;
    while (!s_stop && run->client > 0 && atomic_load (&run->sh->sess_resumed) < open &&
           lg_now_us () < resume_until)
        s_sleep_ms (LG_POLL_MS);
    run->r.resumed = (unsigned long)atomic_load (&run->sh->sess_resumed);
    return all ? 0 : PH_EXIT_UNAVAIL;
}

static void s_stop_all (lg_run_t *run)
{
    for (unsigned i = 0; i < run->n_workers; i++)
        atomic_store (&run->sh->workers[i].cmd, LG_CMD_STOP);
    for (unsigned i = 0; i < run->n_workers; i++)
        if (run->workers[i] > 0)
            s_reap (run->workers[i], LG_CHILD_EXIT_MS);
    atomic_store (&run->sh->client.cmd, LG_CMD_STOP);
    if (run->client > 0)
        s_reap (run->client, LG_CHILD_EXIT_MS);
    s_sum_t s;
    s_sum (run, &s);
    run->r.not_registered = (unsigned long)s.not_registered;
    for (int e = 0; e < LG_ERR_COUNT; e++) {
        run->r.err[e] = atomic_load (&run->sh->client.err[e]);
        for (unsigned i = 0; i < run->n_workers; i++)
            run->r.err[e] += atomic_load (&run->sh->workers[i].err[e]);
    }
}

/*  The exit code for a run that got through its phases. */
static int s_verdict (const lg_run_t *run)
{
    const uint64_t *e = run->r.err;
    if (atomic_load (&run->sh->sess_failed) || e[LG_ERR_RESUME])
        return PH_EXIT_API;
    if (e[LG_ERR_BAD_FRAME] || e[LG_ERR_REFUSED] || e[LG_ERR_ECHO])
        return PH_EXIT_API;
    return PH_EXIT_OK;
}

static int s_run (lg_run_t *run)
{
    pid_t enroll = s_fork (run, s_enroll_child, 0);
    int rc = enroll < 0 ? PH_EXIT_CONFIG : s_reap (enroll, UINT32_MAX);
    if (rc != 0 || run->o.enroll_only)
        return rc;
    char err[512];
    if (lg_state_load (&run->o, &run->st, err, sizeof err) != 0 || run->st.count < run->o.agents) {
        fprintf (stderr, LG_PROGRAM ": the state in %s holds too few agents\n", run->o.state_dir);
        return PH_EXIT_CONFIG;
    }
    run->r.agents_wanted = run->o.agents;
    run->r.workers = run->n_workers;
    run->r.ctl_rss_base_kb = lg_proc_rss_kb (s_controller_pid (&run->o));
    run->r.agent_rss_base_kb = lg_proc_rss_kb (s_agent_pid (&run->o));
    rc = s_register (run);
    /* a fleet that did not register completely is measured all the same:
     * what the controller does in that state is the finding */
    if ((rc == 0 || rc == PH_EXIT_UNAVAIL) && run->r.agents_registered && !s_stop) {
        s_window (run, &run->r.idle);
        int rc2 = 0;
        if (run->o.sessions + run->o.real_sessions && !s_stop)
            rc2 = s_sessions (run);
        if (rc2 == 0 && run->o.restart_cmd && !s_stop)
            rc2 = s_restart (run);
        rc = rc ? rc : rc2;
    }
    s_stop_all (run);
    return rc;
}

int main (int argc, char **argv)
{
    ph_log_init (LG_PROGRAM);
    lg_run_t run;
    memset (&run, 0, sizeof run);
    int rc = s_parse (argc, argv, &run.o);
    if (rc != 0)
        return rc;
    rc = s_plan_workers (&run);
    if (rc != 0)
        return rc;
    run.sh = mmap (NULL, sizeof *run.sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (run.sh == MAP_FAILED) {
        fprintf (stderr, LG_PROGRAM ": cannot map shared memory: %s\n", strerror (errno));
        return PH_EXIT_CONFIG;
    }
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGPIPE, SIG_IGN);
    rc = s_run (&run);
    if (run.o.enroll_only)
        return rc;
    if (run.r.agents_registered && lg_report (&run.o, &run.r, run.sh) != 0 && rc == 0)
        rc = PH_EXIT_CONFIG;
    if (rc == 0)
        rc = s_verdict (&run);
    lg_state_free (&run.st);
    munmap (run.sh, sizeof *run.sh);
    return rc;
}
