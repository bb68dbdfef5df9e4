/*  lg_report: ph-loadgen's results, as text on stdout (for people) and as
 *  JSON (for bench/scale and RESULTS.md). Memory figures are derived here:
 *  controller KiB per connected agent = (RSS with N agents - RSS before
 *  them) / N; per open session = (RSS with the sessions - RSS without) /
 *  sessions; the real agent's per session likewise.
 */
#include "lg.h"
#include "ph_errors.h"
#include "ph_version.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lg_err_names[LG_ERR_COUNT] = {
    "handshake_failed", "send_dropped",          "bad_frame",     "refused",
    "session_start",    "session_start_timeout", "echo_mismatch", "resume_failed",
};

static int s_cmp_u32 (const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

double lg_percentile_ms (uint32_t *us, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort (us, n, sizeof *us, s_cmp_u32);
    size_t i = (size_t)((double)n * p / 100.0);
    return us[i < n ? i : n - 1] / 1000.0;
}

typedef struct {
    size_t n_start, n_real, n_echo;
    double start_p50, start_p99, start_max;
    double real_p50, real_p99;
    double echo_p50, echo_p99, echo_max;
} s_lat_t;

static size_t s_count (_Atomic uint32_t *n, size_t cap)
{
    size_t v = atomic_load (n);
    return v < cap ? v : cap;
}

static void s_latencies (const lg_result_t *r, lg_shared_t *sh, s_lat_t *l)
{
    l->n_start = s_count (&sh->n_start, LG_SESSIONS_MAX);
    l->n_real = s_count (&sh->n_real_start, LG_SESSIONS_MAX);
    l->n_echo = r->echo_samples < LG_ECHO_SAMPLES_MAX ? r->echo_samples : LG_ECHO_SAMPLES_MAX;
    l->start_p50 = lg_percentile_ms (sh->start_us, l->n_start, 50);
    l->start_p99 = lg_percentile_ms (sh->start_us, l->n_start, 99);
    l->start_max = lg_percentile_ms (sh->start_us, l->n_start, 100);
    l->real_p50 = lg_percentile_ms (sh->real_start_us, l->n_real, 50);
    l->real_p99 = lg_percentile_ms (sh->real_start_us, l->n_real, 99);
    l->echo_p50 = lg_percentile_ms (sh->echo_us, l->n_echo, 50);
    l->echo_p99 = lg_percentile_ms (sh->echo_us, l->n_echo, 99);
    l->echo_max = lg_percentile_ms (sh->echo_us, l->n_echo, 100);
}

typedef struct {
    double kb_per_agent, kb_per_session, agent_kb_per_session;
    unsigned long sessions_open, real_open;
} s_mem_t;

static void s_memory (const lg_result_t *r, lg_shared_t *sh, s_mem_t *m)
{
    memset (m, 0, sizeof *m);
    m->real_open = (unsigned long)atomic_load (&sh->real_opened);
    m->sessions_open = (unsigned long)atomic_load (&sh->sess_opened) + m->real_open;
    if (r->agents_registered && r->ctl_rss_base_kb > 0 && r->idle.ctl_rss_kb > 0)
        m->kb_per_agent =
            (double)(r->idle.ctl_rss_kb - r->ctl_rss_base_kb) / (double)r->agents_registered;
    if (r->have_sessions && m->sessions_open && r->sessions.ctl_rss_kb > 0)
        m->kb_per_session =
            (double)(r->sessions.ctl_rss_kb - r->idle.ctl_rss_kb) / (double)m->sessions_open;
    if (r->have_sessions && m->real_open && r->agent_rss_base_kb > 0 &&
        r->sessions.agent_rss_kb > 0)
        m->agent_kb_per_session =
            (double)(r->sessions.agent_rss_kb - r->agent_rss_base_kb) / (double)m->real_open;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *s_window_json (const lg_window_t *w)
{
    return json_pack ("{s:f, s:f, s:I, s:f, s:f, s:f, s:f, s:I, s:I}", "seconds", w->seconds,
                      "controller_cpu_pct", w->ctl_cpu_pct, "controller_rss_kb",
                      (json_int_t)w->ctl_rss_kb, "redis_ops_s", w->redis_ops_s, "heartbeats_s",
                      w->hb_s, "machine_busy_pct", w->machine_busy_pct, "loadgen_cpu_pct",
                      w->loadgen_cpu_pct, "instances_fresh_in_redis", (json_int_t)w->fresh,
                      "agent_rss_kb", (json_int_t)w->agent_rss_kb);
}

static json_t *s_errors_json (const lg_result_t *r)
{
    json_t *e = json_object ();
    json_int_t total = 0;
    for (int i = 0; i < LG_ERR_COUNT; i++) {
        json_object_set_new (e, lg_err_names[i], json_integer ((json_int_t)r->err[i]));
        total += (json_int_t)r->err[i];
    }
    json_object_set_new (e, "total", json_integer (total));
    json_object_set_new (e, "not_registered_answers", json_integer ((json_int_t)r->not_registered));
    return e;
}

/*  A latency, or null when there was no sample. */
static json_t *s_ms (size_t samples, double ms)
{
    return samples ? json_real (ms) : json_null ();
}

static json_t *s_sessions_json (const lg_result_t *r, lg_shared_t *sh, const s_lat_t *l)
{
    json_t *s = s_window_json (&r->sessions);
    json_object_update_new (
        s, json_pack ("{s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:I, s:o, s:o, s:I, s:o, s:o, s:o}",
                      "started", (json_int_t)atomic_load (&sh->sess_started), "opened",
                      (json_int_t)atomic_load (&sh->sess_opened), "failed",
                      (json_int_t)atomic_load (&sh->sess_failed), "start_samples",
                      (json_int_t)l->n_start, "start_p50_ms", s_ms (l->n_start, l->start_p50),
                      "start_p99_ms", s_ms (l->n_start, l->start_p99), "start_max_ms",
                      s_ms (l->n_start, l->start_max), "real_opened",
                      (json_int_t)atomic_load (&sh->real_opened), "real_start_p50_ms",
                      s_ms (l->n_real, l->real_p50), "real_start_p99_ms",
                      s_ms (l->n_real, l->real_p99), "echo_samples", (json_int_t)l->n_echo,
                      "echo_p50_ms", s_ms (l->n_echo, l->echo_p50), "echo_p99_ms",
                      s_ms (l->n_echo, l->echo_p99), "echo_max_ms", s_ms (l->n_echo, l->echo_max)));
    return s;
}

static json_t *s_report_json (const lg_opts_t *o, const lg_result_t *r, lg_shared_t *sh,
                              const s_lat_t *l, const s_mem_t *m)
{
    json_t *root = json_pack (
        "{s:s, s:s, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I}}", "tool", LG_PROGRAM, "version",
        PH_VERSION, "config", "agents", (json_int_t)o->agents, "sessions", (json_int_t)o->sessions,
        "real_sessions", (json_int_t)o->real_sessions, "workers", (json_int_t)r->workers,
        "session_rate", (json_int_t)o->session_rate, "keystroke_ms", (json_int_t)o->keystroke_ms,
        "heartbeat_ms", (json_int_t)r->heartbeat_ms);
    json_object_set_new (root, "registration",
                         json_pack ("{s:I, s:o}", "agents_registered",
                                    (json_int_t)r->agents_registered, "all_registered_s",
                                    s_ms (r->register_s >= 0, r->register_s)));
    json_object_set_new (root, "idle", s_window_json (&r->idle));
    if (r->have_sessions)
        json_object_set_new (root, "sessions", s_sessions_json (r, sh, l));
    if (r->restarted)
        json_object_set_new (
            root, "restart",
            json_pack ("{s:f, s:o, s:o, s:I, s:I}", "restart_command_s", r->restart_cmd_s,
                       "all_reregistered_after_start_s", s_ms (r->rereg_s >= 0, r->rereg_s),
                       "all_reregistered_after_stop_began_s",
                       s_ms (r->rereg_s >= 0, r->rereg_total_s), "reregistered",
                       (json_int_t)r->reregistered, "sessions_resumed", (json_int_t)r->resumed));
    json_object_set_new (root, "memory",
                         json_pack ("{s:I, s:I, s:f, s:f, s:I, s:f}", "controller_rss_base_kb",
                                    (json_int_t)r->ctl_rss_base_kb, "controller_rss_with_agents_kb",
                                    (json_int_t)r->idle.ctl_rss_kb, "controller_kb_per_agent",
                                    m->kb_per_agent, "controller_kb_per_session", m->kb_per_session,
                                    "agent_rss_idle_kb", (json_int_t)r->agent_rss_base_kb,
                                    "agent_kb_per_session", m->agent_kb_per_session));
    json_object_set_new (root, "errors", s_errors_json (r));
    return root;
}

/* ---- text ----------------------------------------------------------------- */

static void s_window_text (const char *title, const lg_window_t *w)
{
    printf ("%s (%.1f s):\n", title, w->seconds);
    printf ("  controller CPU            %8.1f %% of one core\n", w->ctl_cpu_pct);
    printf ("  controller RSS            %8ld KiB\n", w->ctl_rss_kb);
    printf ("  heartbeats                %8.0f /s (instances fresh in Redis: %lld)\n", w->hb_s,
            w->fresh);
    printf ("  Redis commands            %8.0f /s\n", w->redis_ops_s);
    printf ("  machine busy              %8.1f %% of all cores (load generator %.1f %% of one)\n",
            w->machine_busy_pct, w->loadgen_cpu_pct);
}

static void s_text (const lg_opts_t *o, const lg_result_t *r, lg_shared_t *sh, const s_lat_t *l,
                    const s_mem_t *m)
{
    printf ("ph-loadgen: %u agents in %u workers, %u echo sessions, %u on the real agent\n",
            o->agents, r->workers, o->sessions, o->real_sessions);
    printf ("registration: %lu of %u registered", r->agents_registered, r->agents_wanted);
    if (r->register_s >= 0)
        printf (" in %.2f s", r->register_s);
    printf (" (heartbeat every %u ms)\n", r->heartbeat_ms);
    s_window_text ("agents connected, no sessions", &r->idle);
    if (r->have_sessions) {
        s_window_text ("with sessions open", &r->sessions);
        printf ("  sessions opened           %8lu of %u (failed %lu)\n",
                (unsigned long)atomic_load (&sh->sess_opened), o->sessions,
                (unsigned long)atomic_load (&sh->sess_failed));
        if (l->n_start)
            printf ("  session start             p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
                    l->start_p50, l->start_p99, l->start_max);
        if (l->n_real)
            printf ("  real-agent session start  p50 %.2f ms, p99 %.2f ms (%lu opened)\n",
                    l->real_p50, l->real_p99, m->real_open);
        if (l->n_echo)
            printf ("  keystroke echo            p50 %.3f ms, p99 %.3f ms, max %.2f ms (%zu "
                    "samples)\n",
                    l->echo_p50, l->echo_p99, l->echo_max, l->n_echo);
    }
    if (r->restarted && r->rereg_s >= 0)
        printf ("restart: command %.2f s; all %lu re-registered %.2f s after the controller "
                "started (%.2f s after the stop began); %lu sessions resumed\n",
                r->restart_cmd_s, r->reregistered, r->rereg_s, r->rereg_total_s, r->resumed);
    else if (r->restarted)
        printf ("restart: command %.2f s; only %lu of %lu re-registered within %u s; %lu "
                "sessions resumed\n",
                r->restart_cmd_s, r->reregistered, r->agents_registered, o->restart_timeout_s,
                r->resumed);
    printf ("memory: controller %ld KiB before the agents, %.2f KiB per agent", r->ctl_rss_base_kb,
            m->kb_per_agent);
    if (r->have_sessions)
        printf (", %.2f KiB per session", m->kb_per_session);
    if (r->agent_rss_base_kb > 0)
        printf ("; real agent %ld KiB idle", r->agent_rss_base_kb);
    if (m->real_open)
        printf (", %.2f KiB per session", m->agent_kb_per_session);
    printf ("\nerrors:");
    for (int i = 0; i < LG_ERR_COUNT; i++)
        printf (" %s=%llu", lg_err_names[i], (unsigned long long)r->err[i]);
    printf (" (NotRegistered answers: %lu)\n", r->not_registered);
}

int lg_report (const lg_opts_t *o, const lg_result_t *r, lg_shared_t *shared)
{
    s_lat_t l;
    s_mem_t m;
    s_latencies (r, shared, &l);
    s_memory (r, shared, &m);
    s_text (o, r, shared, &l, &m);
    fflush (stdout);
    if (!o->json_path)
        return 0;
    json_t *root = s_report_json (o, r, shared, &l, &m);
    int rc = root && json_dump_file (root, o->json_path, JSON_INDENT (2) | JSON_SORT_KEYS) == 0
                 ? 0
                 : PH_EIO;
    if (rc != 0)
        fprintf (stderr, LG_PROGRAM ": cannot write %s; check the directory\n", o->json_path);
    json_decref (root);
    return rc;
}
