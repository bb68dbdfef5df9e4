/*  ls_prom: Prometheus' text exposition format at GET /metrics (issue 4),
 *  served by ph_httpd on a loopback port of the logshipper's reactor
 *  (--metrics-listen, default 127.0.0.1:9620; "off" disables it).
 *
 *  What this logshipper counted since it started: its own health (batches,
 *  events, bytes appended, duplicates, refused batches, Redis failures,
 *  the lag of the last batch, audit events copied) and, per metric that its
 *  filters fed, the samples and the sum of their values, as counters with
 *  the labels namespace and metric_name. Several logshippers each expose
 *  their own share; Prometheus sums them (sum by (namespace, metric_name)).
 */
#include "ls.h"
#include "ph_httpd.h"
#include "ph_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LS_PROM_BODY_MAX (4 * 1024 * 1024)

typedef struct {
    char *buf;
    size_t len, cap;
} s_text_t;

static void s_printf (s_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void s_printf (s_text_t *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end (ap);
        if (n < 0)
            return;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        if (t->cap >= LS_PROM_BODY_MAX)
            return; /* cut: an oversized page is still well formed up to here */
        t->cap = t->cap ? 2 * t->cap : 4096;
        t->buf = realloc (t->buf, t->cap);
        assert (t->buf);
    }
}

/*  A label value with \, " and newlines escaped (the format's rule). */
static void s_label (s_text_t *t, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            s_printf (t, "\\%c", *v);
        else if (*v == '\n')
            s_printf (t, "\\n");
        else
            s_printf (t, "%c", *v);
    }
}

static void s_counter (s_text_t *t, const char *name, const char *help, uint64_t v)
{
    s_printf (t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
              (unsigned long long)v);
}

static void s_metric_line (const char *ns, const char *name, uint64_t samples, double sum,
                           void *arg)
{
    s_text_t *t = arg;
    s_printf (t, "porthole_metric_samples_total{namespace=\"");
    s_label (t, ns);
    s_printf (t, "\",metric_name=\"");
    s_label (t, name);
    s_printf (t, "\"} %llu\n", (unsigned long long)samples);
    s_printf (t, "porthole_metric_value_sum{namespace=\"");
    s_label (t, ns);
    s_printf (t, "\",metric_name=\"");
    s_label (t, name);
    s_printf (t, "\"} %.17g\n", sum);
}

static void s_render (ls_t *ls, s_text_t *t)
{
    const ls_stats_t *st = &ls->stats;
    s_counter (t, "porthole_logshipper_batches_total", "batches appended", st->batches);
    s_counter (t, "porthole_logshipper_events_total", "log events appended", st->events);
    s_counter (t, "porthole_logshipper_bytes_total", "message bytes appended", st->bytes);
    s_counter (t, "porthole_logshipper_duplicate_batches_total",
               "batches acknowledged again without appending (re-sent)", st->duplicates);
    s_counter (t, "porthole_logshipper_refused_batches_total",
               "batches refused (invalid, unknown group, out of order)", st->refused);
    s_counter (t, "porthole_logshipper_errors_total", "appends that failed in Redis", st->errors);
    s_counter (t, "porthole_logshipper_audit_events_total",
               "audit events copied into porthole/audit", st->audit_events);
    s_printf (t,
              "# HELP porthole_logshipper_lag_seconds time from the newest event of the last "
              "batch to its append\n# TYPE porthole_logshipper_lag_seconds gauge\n"
              "porthole_logshipper_lag_seconds %.3f\n",
              st->lag_ms / 1000.0);
    s_printf (t,
              "# HELP porthole_logshipper_up_seconds since this logshipper started\n"
              "# TYPE porthole_logshipper_up_seconds gauge\nporthole_logshipper_up_seconds %llu\n",
              (unsigned long long)((ph_now_ms () - ls->started_ms) / 1000));
    s_printf (t, "# HELP porthole_logshipper_info version\n# TYPE porthole_logshipper_info gauge\n"
                 "porthole_logshipper_info{version=\"" PH_VERSION "\"} 1\n");
    s_printf (t, "# HELP porthole_metric_samples_total samples metric filters made here\n"
                 "# TYPE porthole_metric_samples_total counter\n");
    s_printf (t, "# HELP porthole_metric_value_sum sum of the values of those samples\n"
                 "# TYPE porthole_metric_value_sum counter\n");
    ls_metrics_each (ls->metrics, s_metric_line, t);
}

static int s_on_request (const char *method, const char *path, char **body, size_t *len,
                         const char **content_type, void *arg)
{
    (void)method;
    if (strcmp (path, "/metrics") != 0)
        return 404;
    s_text_t t = {0};
    s_render (arg, &t);
    *body = t.buf;
    *len = t.len;
    *content_type = "text/plain; version=0.0.4; charset=utf-8";
    return 200;
}

int ls_prom_start (ls_t *ls, char *err, size_t errlen)
{
    const char *listen = ls->opt.metrics_listen;
    if (!listen || strcmp (listen, "off") == 0)
        return 0;
    char host[64];
    const char *colon = strrchr (listen, ':');
    int port = colon ? atoi (colon + 1) : -1;
    if (!colon || port < 0 || port > 65535 || (size_t)(colon - listen) >= sizeof host) {
        snprintf (err, errlen, "--metrics-listen '%s' is not HOST:PORT (or off)", listen);
        return PH_EINVAL;
    }
    snprintf (host, sizeof host, "%.*s", (int)(colon - listen), listen);
    int bound = 0;
    ls->prom = ph_httpd_new (ls->loop, host, port, s_on_request, ls, &bound, err, errlen);
    if (!ls->prom)
        return PH_EIO;
    ls->prom_port = bound;
    ph_info ("Prometheus metrics at http://%s:%d/metrics", host, bound);
    return 0;
}

void ls_prom_stop (ls_t *ls)
{
    ph_httpd_destroy (&ls->prom);
}
