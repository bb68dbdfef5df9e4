/*  ls_prom: Prometheus' text exposition format at GET /metrics (issue 4),
 *  served by ph_httpd on a loopback port of the logshipper's reactor
 *  (--metrics-listen, default 127.0.0.1:9620; "off" disables it).
 *
 *  What this logshipper counted since it started: its own health (batches,
 *  events, bytes appended, duplicates, refused batches, Redis failures,
 *  the lag of the last batch, audit events copied) and, per metric that its
 *  filters fed, with the labels namespace and metric_name, the counter
 *  porthole_metric_samples_total and the summary porthole_metric_value
 *  (_sum and _count, no quantiles). The sum is a summary's and not a
 *  counter because a filter's value may be negative (metricValue=-1, or a
 *  $field): a counter that goes down would read as a reset to rate().
 *  Several logshippers each expose their own share; Prometheus sums them
 *  (sum by (namespace, metric_name)).
 *
 *  The format's rules that a real Prometheus (2.42, tests/e2e/
 *  test_prometheus.py) and `promtool check metrics` hold us to: all the
 *  lines of one family together, after its HELP and TYPE; counters end in
 *  _total, and nothing but a summary or histogram ends in _sum or _count;
 *  label values escape \, " and newline.
 */
#include "ls.h"
#include "ph_httpd.h"
#include "ph_version.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LS_PROM_BODY_MAX      (4 * 1024 * 1024) /* bytes of one page; a power of 2 */
#define LS_PROM_BODY_MAX_TEXT "4 MiB"
#define LS_PROM_BODY_START    4096

/*  The page being written. Once it would pass LS_PROM_BODY_MAX nothing
 *  more is added (full); s_finish then drops the partial line at its end,
 *  so that an oversized page is cut between lines and stays well formed. */
typedef struct {
    char *buf;
    size_t len, cap;
    bool full;
} s_text_t;

static void s_printf (s_text_t *t, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void s_printf (s_text_t *t, const char *fmt, ...)
{
    while (!t->full) {
        va_list ap;
        va_start (ap, fmt);
        int n = vsnprintf (t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end (ap);
        if (n >= 0 && (size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        if (n < 0 || t->cap >= LS_PROM_BODY_MAX) {
            t->full = true; /* n < 0, an encoding error, never with our formats */
            return;
        }
        t->cap *= 2;
        t->buf = realloc (t->buf, t->cap);
        assert (t->buf);
    }
}

/*  A cut page ends after its last whole line, then says so in a comment
 *  (Prometheus ignores "# " lines that are not HELP or TYPE). */
static void s_finish (s_text_t *t)
{
    static const char note[] = "# porthole: page cut at " LS_PROM_BODY_MAX_TEXT "\n";
    if (!t->full)
        return;
    while (t->len > 0 && t->buf[t->len - 1] != '\n')
        t->len--;
    t->buf = realloc (t->buf, t->len + sizeof note);
    assert (t->buf);
    memcpy (t->buf + t->len, note, sizeof note - 1);
    t->len += sizeof note - 1;
}

/*  A label value with \, " and newlines escaped (the format's rule);
 *  the runs between them are copied whole. */
static void s_label (s_text_t *t, const char *v)
{
    while (*v) {
        size_t run = strcspn (v, "\\\"\n");
        if (run > 0)
            s_printf (t, "%.*s", (int)run, v);
        v += run;
        if (*v) {
            s_printf (t, "\\%c", *v == '\n' ? 'n' : *v);
            v++;
        }
    }
}

static void s_counter (s_text_t *t, const char *name, const char *help, uint64_t v)
{
    s_printf (t, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
              (unsigned long long)v);
}

/*  One sample of a per-metric family: NAME{namespace="NS",metric_name="M"} */
static void s_metric_labels (s_text_t *t, const char *family, const char *ns, const char *name)
{
    s_printf (t, "%s{namespace=\"", family);
    s_label (t, ns);
    s_printf (t, "\",metric_name=\"");
    s_label (t, name);
    s_printf (t, "\"} ");
}

static void s_samples_line (const char *ns, const char *name, uint64_t samples, double sum,
                            void *arg)
{
    (void)sum;
    s_text_t *t = arg;
    s_metric_labels (t, "porthole_metric_samples_total", ns, name);
    s_printf (t, "%llu\n", (unsigned long long)samples);
}

/*  The summary's two lines of one metric. %.17g gives back the double to
 *  the bit; the sum is finite (values are bounded by PH_METRIC_VALUE_MAX). */
static void s_value_lines (const char *ns, const char *name, uint64_t samples, double sum,
                           void *arg)
{
    s_text_t *t = arg;
    s_metric_labels (t, "porthole_metric_value_sum", ns, name);
    s_printf (t, "%.17g\n", sum);
    s_metric_labels (t, "porthole_metric_value_count", ns, name);
    s_printf (t, "%llu\n", (unsigned long long)samples);
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
    /* one family after the other: the format wants each family's lines
     * together, so the metrics are walked once per family */
    s_printf (t, "# HELP porthole_metric_samples_total samples metric filters made here\n"
                 "# TYPE porthole_metric_samples_total counter\n");
    ls_metrics_each (ls->metrics, s_samples_line, t);
    s_printf (t, "# HELP porthole_metric_value values of those samples (sum may go down: "
                 "values may be negative)\n"
                 "# TYPE porthole_metric_value summary\n");
    ls_metrics_each (ls->metrics, s_value_lines, t);
}

static int s_on_request (const char *method, const char *path, char **body, size_t *len,
                         const char **content_type, void *arg)
{
    (void)method;
    if (strcmp (path, "/metrics") != 0)
        return 404;
    s_text_t t = {.cap = LS_PROM_BODY_START};
    t.buf = malloc (t.cap);
    assert (t.buf);
    s_render (arg, &t);
    s_finish (&t);
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
