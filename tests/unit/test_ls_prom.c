/*  Unit tests of logshipper/ls_prom.c: the Prometheus page at GET /metrics
 *  of an in-process logshipper (ls_new, --metrics-listen 127.0.0.1:0) whose
 *  reactor the test runs, with a real redis-server on a free loopback port
 *  holding metric filters written as the controller writes them. Events go
 *  through the filters with ls_metrics_ingest; the page is read over a real
 *  socket.
 *
 *  Every page is checked line by line against the text format as a real
 *  Prometheus and promtool read it (tests/e2e/test_prometheus.py runs
 *  them): HELP then TYPE once per family, all the lines of a family
 *  together, names and label names well formed, label values escaped
 *  (\\, \", \n and nothing else), a number after one space; counters end
 *  in _total and only summaries have _sum/_count lines.
 *
 *  Covered: the health counters and gauges show ls->stats; per metric the
 *  counter and the summary, grouped by family with several metrics (they
 *  were interleaved); a negative value (a summary's sum may go down); a
 *  namespace with ", \ and a newline (only a filter written straight into
 *  Redis can have one) comes back intact; the content type; 404 elsewhere;
 *  a page that would pass 4 MiB is cut after a whole line with a note. */
#include "ls.h"
#include "ph_test.h"
#include "ph_test_loop.h"
#include "ph_test_redis.h"
#include "ph_version.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAIT_MS      10000 /* deadline of anything the test waits for */
#define GROUP        "test/prom"
#define PROBE_GROUP  "test/probe"
#define ODD_NS       "a\"b\\c\nd"
#define PAGE_MAX     (4 * 1024 * 1024) /* ls_prom.c's LS_PROM_BODY_MAX */
#define CUT_NOTE     "# porthole: page cut at 4 MiB\n"
#define BIG_FILTERS  3000 /* x ~1.7 KB of lines each: past PAGE_MAX */
#define BIG_NAME_LEN 250
#define NAME_MAX_LEN 512
#define LINE_MAX_LEN 2048
#define FAMILIES_MAX 64

static struct {
    pid_t redis_pid;
    char redis_dir[64];
    char redis_url[64];
    ph_redis_sync_t *sync;
    ls_t *ls;
} T;

/* ---- Redis and the logshipper -------------------------------------------- */

static bool s_redis_start (void)
{
    snprintf (T.redis_dir, sizeof T.redis_dir, "/tmp/ph-test-prom-XXXXXX");
    T.sync =
        ph_test_redis_start (T.redis_dir, T.redis_url, sizeof T.redis_url, &T.redis_pid, WAIT_MS);
    return T.sync != NULL;
}

static void s_run_ms (int ms)
{
    ph_test_loop_run_ms (T.ls->loop, (size_t)ms);
}

static bool s_ls_start (void)
{
    ph_keypair_t keys;
    ph_keys_generate (&keys);
    ls_options_t opt;
    memset (&opt, 0, sizeof opt);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", ph_test_free_port ());
    opt.redis_url = T.redis_url;
    opt.bind = endpoint;
    snprintf (opt.advertise, sizeof opt.advertise, "%s", endpoint);
    opt.metrics_listen = "127.0.0.1:0";
    char err[256];
    T.ls = ls_new (&opt, &keys, NULL, "l-0000prom", err, sizeof err);
    if (!T.ls) {
        fprintf (stderr, "ls_new: %s\n", err);
        return false;
    }
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    while (!ph_redis_connected (T.ls->redis) && ph_mono_ms () < deadline)
        s_run_ms (10);
    return ph_redis_connected (T.ls->redis) && T.ls->prom_port > 0;
}

/*  A filter as ctl_logs_filters.c stores it; the logshipper reloads all
 *  filters once the version moves. */
static void s_put_filter (const char *group, const char *name, const char *pattern, const char *ns,
                          const char *metric, const char *value)
{
    char key[NAME_MAX_LEN + 64], set[NAME_MAX_LEN + 64];
    snprintf (key, sizeof key, "ph:metricfilter:{%s}:%s", group, name);
    snprintf (set, sizeof set, "ph:metricfilters:{%s}", group);
    const char *argv[] = {"HSET",           key,    "filter_name",      name,
                          "log_group_name", group,  "filter_pattern",   pattern,
                          "metric_name",    metric, "metric_namespace", ns,
                          "metric_value",   value,  "default_value",    "",
                          "unit",           ""};
    ph_reply_t *r = ph_redis_sync_cmdargv (T.sync, 18, argv, NULL);
    CHECK (ph_reply_is_int (r));
    ph_reply_free (&r);
    r = ph_redis_sync_cmd (T.sync, "SADD %s %s", set, name);
    ph_reply_free (&r);
    r = ph_redis_sync_cmd (T.sync, "SADD ph:metricfilter:groups %s", group);
    ph_reply_free (&r);
}

static void s_bump_version (void)
{
    ph_reply_t *r = ph_redis_sync_cmd (T.sync, "INCR ph:metricfilters:version");
    CHECK (ph_reply_is_int (r));
    ph_reply_free (&r);
}

typedef struct {
    const char *ns, *name;
    uint64_t samples;
    double sum;
    bool found;
} total_t;

static void s_find_total (const char *ns, const char *name, uint64_t samples, double sum, void *arg)
{
    total_t *t = arg;
    if (strcmp (ns, t->ns) == 0 && strcmp (name, t->name) == 0) {
        t->samples = samples;
        t->sum = sum;
        t->found = true;
    }
}

/*  Adds a filter on PROBE_GROUP that feeds the metric Test/probe, makes
 *  the logshipper reload, and feeds "probe" events until that metric has
 *  a sample: the filters (all loaded by one script) are then in place. */
static bool s_reload_filters (const char *probe)
{
    s_put_filter (PROBE_GROUP, probe, "probe", "Test", probe, "1");
    s_bump_version ();
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    while (ph_mono_ms () < deadline) {
        ls_metrics_tick (T.ls->metrics);
        s_run_ms (20);
        ls_event_ref_t ev = {ph_now_ms (), "probe"};
        ls_metrics_ingest (T.ls->metrics, PROBE_GROUP, &ev, 1, NULL);
        total_t t = {.ns = "Test", .name = probe};
        ls_metrics_each (T.ls->metrics, s_find_total, &t);
        if (t.found)
            return true;
    }
    return false;
}

/* ---- HTTP ------------------------------------------------------------------ */

typedef struct {
    int status;
    char content_type[128];
    char *body; /* NUL-terminated, heap */
    size_t len;
} answer_t;

/*  GET path from the logshipper's /metrics port, the test running the
 *  reactor while it waits. Returns false when no whole answer came. */
static bool s_get (const char *path, answer_t *a)
{
    memset (a, 0, sizeof *a);
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons ((uint16_t)T.ls->prom_port),
                             .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    if (connect (fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close (fd);
        return false;
    }
    char req[256];
    int n = snprintf (req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    if (send (fd, req, (size_t)n, 0) != n) { /* small: fits the socket buffer */
        close (fd);
        return false;
    }
    fcntl (fd, F_SETFL, O_NONBLOCK);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc (cap);
    bool closed = false;
    uint64_t deadline = ph_mono_ms () + WAIT_MS;
    while (!closed && ph_mono_ms () < deadline) {
        s_run_ms (5);
        for (;;) {
            if (cap - len < 4096)
                buf = realloc (buf, cap *= 2);
            ssize_t got = recv (fd, buf + len, cap - len - 1, 0);
            if (got > 0)
                len += (size_t)got;
            else {
                closed = got == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
                break;
            }
        }
    }
    close (fd);
    buf[len] = 0;
    char *body = strstr (buf, "\r\n\r\n");
    if (!closed || !body || sscanf (buf, "HTTP/1.%*d %d", &a->status) != 1) {
        free (buf);
        return false;
    }
    *body = 0;
    body += 4;
    const char *ct = strcasestr (buf, "\r\nContent-Type: ");
    if (ct)
        sscanf (ct + 16, "%127[^\r]", a->content_type);
    a->len = len - (size_t)(body - buf);
    a->body = malloc (a->len + 1);
    memcpy (a->body, body, a->len + 1);
    free (buf);
    return true;
}

/* ---- the text format ------------------------------------------------------- */

typedef struct {
    char key[LINE_MAX_LEN]; /* name{k=v,...} with the values unescaped */
    double value;
} sample_t;

typedef struct {
    sample_t *samples;
    size_t n, cap;
    char families[FAMILIES_MAX][NAME_MAX_LEN];
    char types[FAMILIES_MAX][16];
    size_t n_families;
    size_t lines;
    bool cut;
} page_t;

static bool s_name_char (char c, bool first, bool colon)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':') ||
           (!first && c >= '0' && c <= '9');
}

/*  Length of the metric (colon) or label name at s; 0 when none. */
static size_t s_name_len (const char *s, bool colon)
{
    size_t i = 0;
    while (s[i] && s_name_char (s[i], i == 0, colon))
        i++;
    return i;
}

static bool s_ends_with (const char *s, const char *suffix)
{
    size_t a = strlen (s), b = strlen (suffix);
    return a >= b && strcmp (s + a - b, suffix) == 0;
}

static int s_family_of (const page_t *p, const char *name)
{
    for (size_t i = 0; i < p->n_families; i++)
        if (strcmp (p->families[i], name) == 0)
            return (int)i;
    return -1;
}

/*  "# HELP name text" or "# TYPE name type": families are declared once,
 *  HELP right before TYPE. Other "# " lines are comments. */
static bool s_parse_comment (page_t *p, const char *line, char *pending_help)
{
    char name[NAME_MAX_LEN];
    if (strncmp (line, "# HELP ", 7) == 0) {
        size_t n = s_name_len (line + 7, true);
        if (n == 0 || n >= sizeof name || line[7 + n] != ' ' || strchr (line, '\\'))
            return false;
        snprintf (pending_help, NAME_MAX_LEN, "%.*s", (int)n, line + 7);
        return true;
    }
    if (strncmp (line, "# TYPE ", 7) != 0)
        return strncmp (line, "# ", 2) == 0;
    size_t n = s_name_len (line + 7, true);
    const char *type = line + 7 + n + 1;
    if (n == 0 || n >= sizeof name || line[7 + n] != ' ')
        return false;
    snprintf (name, sizeof name, "%.*s", (int)n, line + 7);
    bool known = strcmp (type, "counter") == 0 || strcmp (type, "gauge") == 0 ||
                 strcmp (type, "summary") == 0;
    if (!known || s_family_of (p, name) >= 0 || strcmp (pending_help, name) != 0 ||
        p->n_families == FAMILIES_MAX)
        return false;
    if (strcmp (type, "counter") == 0 && !s_ends_with (name, "_total"))
        return false;
    snprintf (p->families[p->n_families], NAME_MAX_LEN, "%s", name);
    snprintf (p->types[p->n_families], sizeof p->types[0], "%s", type);
    p->n_families++;
    pending_help[0] = 0;
    return true;
}

/*  The family a sample name belongs to, given the current one: the same
 *  name, or for a summary its _sum and _count. */
static bool s_in_family (const page_t *p, const char *name)
{
    if (p->n_families == 0)
        return false;
    const char *fam = p->families[p->n_families - 1];
    const char *type = p->types[p->n_families - 1];
    if (strcmp (name, fam) == 0)
        return strcmp (type, "summary") != 0;
    if (strcmp (type, "summary") != 0)
        return false;
    size_t n = strlen (fam);
    return strncmp (name, fam, n) == 0 &&
           (strcmp (name + n, "_sum") == 0 || strcmp (name + n, "_count") == 0);
}

/*  Appends the label set at *s ("{...}") unescaped to key; moves *s past it. */
static bool s_parse_labels (const char **s, char *key, size_t keylen)
{
    const char *c = *s + 1;
    size_t k = strlen (key);
    key[k++] = '{';
    while (*c != '}') {
        size_t n = s_name_len (c, false);
        if (n == 0 || c[n] != '=' || c[n + 1] != '"' || k + n + 2 >= keylen)
            return false;
        memcpy (key + k, c, n + 1); /* name= */
        k += n + 1;
        for (c += n + 2; *c != '"'; c++) {
            char ch = *c;
            if (ch == 0 || ch == '\n')
                return false;
            if (ch == '\\') {
                c++;
                ch = *c == 'n' ? '\n' : *c;
                if (*c != 'n' && *c != '\\' && *c != '"')
                    return false;
            }
            if (k + 2 >= keylen)
                return false;
            key[k++] = ch;
        }
        c++;
        if (*c == ',' && c[1] != '}')
            c++;
        else if (*c != '}')
            return false;
        key[k++] = *c == '}' ? '}' : ',';
    }
    key[k] = 0;
    *s = c + 1;
    return true;
}

static bool s_parse_sample (page_t *p, const char *line)
{
    size_t n = s_name_len (line, true);
    char name[NAME_MAX_LEN];
    if (n == 0 || n >= sizeof name)
        return false;
    snprintf (name, sizeof name, "%.*s", (int)n, line);
    if (!s_in_family (p, name))
        return false; /* no TYPE before it, or a family split in two */
    if (p->n == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 64;
        p->samples = realloc (p->samples, p->cap * sizeof *p->samples);
    }
    sample_t *smp = &p->samples[p->n];
    snprintf (smp->key, sizeof smp->key, "%s", name);
    const char *c = line + n;
    if (*c == '{' && !s_parse_labels (&c, smp->key, sizeof smp->key))
        return false;
    if (*c != ' ' || c[1] == ' ' || c[1] == 0)
        return false;
    char *end;
    smp->value = strtod (c + 1, &end);
    if (*end != 0 || !isfinite (smp->value))
        return false;
    p->n++;
    return true;
}

/*  Parses a whole page; CHECKs each line; false at the first bad one. */
static bool s_parse_page (const char *body, size_t len, page_t *p)
{
    memset (p, 0, sizeof *p);
    char pending_help[NAME_MAX_LEN] = "";
    if (len == 0 || body[len - 1] != '\n' || strlen (body) != len)
        return false;
    for (const char *s = body; *s;) {
        const char *nl = strchr (s, '\n');
        char *line = strndup (s, (size_t)(nl - s));
        bool ok =
            line[0] == '#' ? s_parse_comment (p, line, pending_help) : s_parse_sample (p, line);
        if (strcmp (line, "# porthole: page cut at 4 MiB") == 0)
            p->cut = true;
        if (!ok)
            fprintf (stderr, "bad line %zu: %s\n", p->lines + 1, line);
        free (line);
        if (!ok)
            return false;
        p->lines++;
        s = nl + 1;
    }
    return true;
}

/*  The value of the sample whose unescaped key is key; NAN when absent. */
static double s_value (const page_t *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp (p->samples[i].key, key) == 0)
            return p->samples[i].value;
    fprintf (stderr, "no sample %s\n", key);
    return NAN;
}

static const char *s_type (const page_t *p, const char *family)
{
    int i = s_family_of (p, family);
    return i >= 0 ? p->types[i] : "";
}

static bool s_fetch_page (page_t *p)
{
    answer_t a;
    bool ok = s_get ("/metrics", &a) && a.status == 200 && s_parse_page (a.body, a.len, p);
    free (a.body);
    return ok;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_health (void)
{
    ls_stats_t *st = &T.ls->stats;
    *st = (ls_stats_t){.batches = 7,
                       .events = 11,
                       .bytes = 13,
                       .duplicates = 2,
                       .refused = 3,
                       .errors = 5,
                       .audit_events = 17,
                       .lag_ms = 1500};
    answer_t a;
    CHECK (s_get ("/metrics", &a));
    CHECK (a.status == 200);
    CHECK_STR (a.content_type, "text/plain; version=0.0.4; charset=utf-8");
    page_t p;
    CHECK (s_parse_page (a.body, a.len, &p));
    CHECK (s_value (&p, "porthole_logshipper_batches_total") == 7);
    CHECK (s_value (&p, "porthole_logshipper_events_total") == 11);
    CHECK (s_value (&p, "porthole_logshipper_bytes_total") == 13);
    CHECK (s_value (&p, "porthole_logshipper_duplicate_batches_total") == 2);
    CHECK (s_value (&p, "porthole_logshipper_refused_batches_total") == 3);
    CHECK (s_value (&p, "porthole_logshipper_errors_total") == 5);
    CHECK (s_value (&p, "porthole_logshipper_audit_events_total") == 17);
    CHECK (s_value (&p, "porthole_logshipper_lag_seconds") == 1.5);
    CHECK (s_value (&p, "porthole_logshipper_up_seconds") >= 0);
    CHECK (s_value (&p, "porthole_logshipper_info{version=" PH_VERSION "}") == 1);
    CHECK_STR (s_type (&p, "porthole_logshipper_batches_total"), "counter");
    CHECK_STR (s_type (&p, "porthole_logshipper_lag_seconds"), "gauge");
    CHECK_STR (s_type (&p, "porthole_metric_samples_total"), "counter");
    CHECK_STR (s_type (&p, "porthole_metric_value"), "summary");
    CHECK (s_family_of (&p, "porthole_metric_value_sum") < 0); /* was a "counter" */
    CHECK (!p.cut);
    free (p.samples);
    free (a.body);

    CHECK (s_get ("/nope", &a));
    CHECK (a.status == 404);
    free (a.body);
    memset (st, 0, sizeof *st);
}

static void test_filter_metrics (void)
{
    s_put_filter (GROUP, "errors", "ERROR", "Test", "Errors", "1");
    s_put_filter (GROUP, "neg", "ERROR", "Test", "Neg", "-2.5");
    s_put_filter (GROUP, "odd", "ERROR", ODD_NS, "Odd", "1");
    CHECK (s_reload_filters ("Probe"));

    uint64_t now = ph_now_ms ();
    ls_event_ref_t ev[] = {
        {now, "ERROR one"}, {now, "fine"}, {now, "ERROR two"}, {now, "ERROR three"}};
    ls_metrics_ingest (T.ls->metrics, GROUP, ev, sizeof ev / sizeof ev[0], NULL);

    page_t p;
    CHECK (s_fetch_page (&p));
    CHECK (s_value (&p, "porthole_metric_samples_total{namespace=Test,metric_name=Errors}") == 3);
    CHECK (s_value (&p, "porthole_metric_value_sum{namespace=Test,metric_name=Errors}") == 3);
    CHECK (s_value (&p, "porthole_metric_value_count{namespace=Test,metric_name=Errors}") == 3);
    CHECK (s_value (&p, "porthole_metric_samples_total{namespace=Test,metric_name=Neg}") == 3);
    CHECK (s_value (&p, "porthole_metric_value_sum{namespace=Test,metric_name=Neg}") == -7.5);
    CHECK (s_value (&p, "porthole_metric_value_count{namespace=Test,metric_name=Neg}") == 3);
    /* the escaped namespace reads back as it was */
    CHECK (s_value (&p, "porthole_metric_samples_total{namespace=" ODD_NS ",metric_name=Odd}") ==
           3);
    CHECK (s_value (&p, "porthole_metric_value_sum{namespace=" ODD_NS ",metric_name=Odd}") == 3);
    CHECK (s_value (&p, "porthole_metric_samples_total{namespace=Test,metric_name=Probe}") >= 1);
    /* 4 metrics: 4 counter lines, 8 summary lines, every family declared once
     * (s_parse_page refuses a family whose lines are split) */
    size_t counters = 0, summaries = 0;
    for (size_t i = 0; i < p.n; i++) {
        counters += strncmp (p.samples[i].key, "porthole_metric_samples_total{", 30) == 0;
        summaries += strncmp (p.samples[i].key, "porthole_metric_value_", 22) == 0;
    }
    CHECK (counters == 4);
    CHECK (summaries == 8);
    free (p.samples);
}

/*  Lua: n filters in one group, each with a BIG_NAME_LEN metric name and
 *  namespace, all matching "big"; s_reload_filters moves the version. */
static const char s_big_lua[] =
    "local g, n, pad = ARGV[1], tonumber(ARGV[2]), ARGV[3]\n"
    "for i = 1, n do\n"
    "  local name = 'f' .. i\n"
    "  redis.call('HSET', 'ph:metricfilter:{' .. g .. '}:' .. name, 'filter_name', name,\n"
    "             'log_group_name', g, 'filter_pattern', 'big', 'metric_name',\n"
    "             string.sub(pad .. i, -#pad), 'metric_namespace', pad, 'metric_value', '1',\n"
    "             'default_value', '', 'unit', '')\n"
    "  redis.call('SADD', 'ph:metricfilters:{' .. g .. '}', name)\n"
    "end\n"
    "redis.call('SADD', 'ph:metricfilter:groups', g)\n"
    "return n\n";

static void test_page_cut (void)
{
    char pad[BIG_NAME_LEN + 1];
    memset (pad, 'x', BIG_NAME_LEN);
    pad[BIG_NAME_LEN] = 0;
    char count[16];
    snprintf (count, sizeof count, "%d", BIG_FILTERS);
    const char *argv[] = {"EVAL", s_big_lua, "0", "test/big", count, pad};
    ph_reply_t *r = ph_redis_sync_cmdargv (T.sync, 6, argv, NULL);
    CHECK (ph_reply_is_int (r)); /* loaded by the next reload */
    ph_reply_free (&r);
    CHECK (s_reload_filters ("Probe2"));
    ls_event_ref_t ev = {ph_now_ms (), "big"};
    ls_metrics_ingest (T.ls->metrics, "test/big", &ev, 1, NULL);

    answer_t a;
    CHECK (s_get ("/metrics", &a));
    CHECK (a.status == 200);
    CHECK (a.len > PAGE_MAX - LINE_MAX_LEN && a.len <= PAGE_MAX + strlen (CUT_NOTE));
    CHECK (a.len >= strlen (CUT_NOTE) &&
           strcmp (a.body + a.len - strlen (CUT_NOTE), CUT_NOTE) == 0);
    page_t p;
    CHECK (s_parse_page (a.body, a.len, &p)); /* whole lines only */
    CHECK (p.cut);
    CHECK (p.n > BIG_FILTERS); /* the samples counter of all, some of the summary */
    free (p.samples);
    free (a.body);
}

int main (void)
{
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("test_ls_prom");
    zsys_init ();
    zsys_handler_set (NULL);
    signal (SIGPIPE, SIG_IGN);
    CHECK (s_redis_start ());
    CHECK (T.sync && s_ls_start ());
    if (T.ls && T.ls->prom_port > 0) {
        test_health ();
        test_filter_metrics ();
        test_page_cut ();
    }
    ls_destroy (&T.ls);
    ph_redis_sync_destroy (&T.sync);
    if (T.redis_pid > 0) {
        kill (T.redis_pid, SIGKILL);
        waitpid (T.redis_pid, NULL, 0);
    }
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", T.redis_dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", T.redis_dir);
    PH_TEST_END ();
}
