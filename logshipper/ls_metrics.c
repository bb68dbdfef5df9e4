/*  ls_metrics: metric filters evaluated on ingestion (issue 4).
 *
 *  The filters live in Redis (controller/ctl_logs_filters.c writes them);
 *  every housekeeping tick this logshipper reads ph:metricfilters:version
 *  and, when it moved, reloads them all in one script and compiles their
 *  patterns (ph_pattern). Each batch appended (ls_put.c, and the audit copy
 *  of ls_audit.c) is then run through its group's filters: the events are
 *  taken second by second (their own timestamps), every filter makes one
 *  bucket per second with CloudWatch's rule (ph_metric_filter_second: one
 *  sample per match with the extracted value; defaultValue once for a
 *  second with events but no match; nothing without events), and one
 *  script merges the buckets into Redis:
 *
 *    ph:metric:{NS|NAME}:s:<hour start s>  hash  second of the hour ->
 *        "COUNT:SUM:MIN:MAX" (ph_metric_bucket_format), expires 26 h after
 *        the hour (1-second data, for periods of 1, 5, 10 and 30 s);
 *    ph:metric:{NS|NAME}:m:<day start s>   hash  minute of the day -> the
 *        same, expires 15 days after the day (periods of n × 60 s);
 *    ph:metric:{NS|NAME}                   hash  namespace, metric_name,
 *        unit, last_s; ph:metrics set of "NS|NAME".
 *
 *  Merging adds counts and sums and keeps minimum and maximum, so that any
 *  number of logshippers may write the same second. Metrics are updated
 *  only after the append was acknowledged by Redis and not for a duplicate
 *  batch, so a re-sent batch is not counted twice; a logshipper that dies
 *  between the two loses that batch's samples (its events are stored).
 */
#include "ls.h"
#include "ph_metric.h"
#include "ph_pattern.h"

#include <stdio.h>
#include <string.h>

#define LS_METRIC_KEY_MAX 600 /* "NS|NAME" */
#define LS_FILTER_FIELDS  8
#define LS_MERGE_ARGS     6 /* per bucket: key, ns, name, unit, second, value */

/*  Returns {version, flat [group, name, pattern, metric name, namespace,
 *  value, default, unit, ...]}. */
static const char s_load_lua[] =
    "local out = {}\n"
    "local fields = {'log_group_name', 'filter_name', 'filter_pattern', 'metric_name',\n"
    "                'metric_namespace', 'metric_value', 'default_value', 'unit'}\n"
    "for _, g in ipairs(redis.call('SMEMBERS', 'ph:metricfilter:groups')) do\n"
    "  for _, f in ipairs(redis.call('SMEMBERS', 'ph:metricfilters:{' .. g .. '}')) do\n"
    "    local h = redis.call('HMGET', 'ph:metricfilter:{' .. g .. '}:' .. f, unpack(fields))\n"
    "    for i = 1, #fields do out[#out + 1] = h[i] or '' end\n"
    "  end\n"
    "end\n"
    "return {redis.call('GET', 'ph:metricfilters:version') or '0', out}\n";

/*  ARGV: n, instance ('' = none), then n × (metric key, namespace, name,
 *  unit, second, bucket). The instance is remembered as the metric's
 *  last_instance: alarm actions on "the instance the metric came from". */
static const char s_merge_lua[] =
    "local function parse(v)\n"
    "  local c, s, lo, hi = string.match(v, '^(%d+):([^:]+):([^:]+):([^:]+)$')\n"
    "  return tonumber(c), tonumber(s), tonumber(lo), tonumber(hi)\n"
    "end\n"
    "local function merge(key, field, v, expire_at)\n"
    "  local old = redis.call('HGET', key, field)\n"
    "  if old then\n"
    "    local c1, s1, lo1, hi1 = parse(old)\n"
    "    local c2, s2, lo2, hi2 = parse(v)\n"
    "    if c1 and c2 then\n"
    "      v = string.format('%d:%.17g:%.17g:%.17g', c1 + c2, s1 + s2, math.min(lo1, lo2),\n"
    "                        math.max(hi1, hi2))\n"
    "    end\n"
    "  end\n"
    "  redis.call('HSET', key, field, v)\n"
    "  redis.call('EXPIREAT', key, expire_at)\n"
    "end\n"
    "for i = 0, tonumber(ARGV[1]) - 1 do\n"
    "  local b = 3 + 6 * i\n"
    "  local m, t, v = ARGV[b], tonumber(ARGV[b + 4]), ARGV[b + 5]\n"
    "  local hour, day = t - t % 3600, t - t % 86400\n"
    "  merge('ph:metric:{' .. m .. '}:s:' .. hour, tostring(t - hour), v, hour + 26 * 3600)\n"
    "  merge('ph:metric:{' .. m .. '}:m:' .. day, tostring(math.floor((t - day) / 60)), v,\n"
    "        day + 15 * 86400)\n"
    "  redis.call('HSET', 'ph:metric:{' .. m .. '}', 'namespace', ARGV[b + 1],\n"
    "             'metric_name', ARGV[b + 2], 'unit', ARGV[b + 3], 'last_s', t)\n"
    "  redis.call('SADD', 'ph:metrics', m)\n"
    "  if ARGV[2] ~= '' then redis.call('HSET', 'ph:metric:{' .. m .. '}', 'last_instance', "
    "ARGV[2]) end\n"
    "end\n"
    "return 'ok'\n";

/*  One compiled filter. */
typedef struct {
    char *group, *name, *value_expr, *ns, *metric, *unit;
    char key[LS_METRIC_KEY_MAX];
    ph_pattern_t *pattern;
    bool has_default;
    double dflt;
} s_filter_t;

/*  What this logshipper's filters fed one metric (for /metrics). */
typedef struct {
    char *ns, *name;
    uint64_t samples;
    double sum;
} s_total_t;

struct _ls_metrics_t {
    ls_t *ls;
    zhashx_t *totals; /* metric key -> s_total_t */
    zhashx_t *groups; /* group -> zlistx_t of s_filter_t */
    char version[32];
    bool loading;
    ph_pattern_event_t *ev;
    uint64_t samples, buckets, failures;
};

static void s_filter_destroy (void **item)
{
    s_filter_t *f = *item;
    if (!f)
        return;
    ph_pattern_destroy (&f->pattern);
    free (f->group);
    free (f->name);
    free (f->value_expr);
    free (f->ns);
    free (f->metric);
    free (f->unit);
    free (f);
    *item = NULL;
}

static void s_total_destroy (void **item)
{
    s_total_t *t = *item;
    if (t) {
        free (t->ns);
        free (t->name);
        free (t);
    }
    *item = NULL;
}

/*  Adds a bucket to the metric's running total. */
static void s_total_add (ls_metrics_t *self, const s_filter_t *f, const ph_metric_bucket_t *b)
{
    s_total_t *t = zhashx_lookup (self->totals, f->key);
    if (!t) {
        t = calloc (1, sizeof *t);
        assert (t);
        t->ns = strdup (f->ns);
        t->name = strdup (f->metric);
        assert (t->ns && t->name);
        zhashx_insert (self->totals, f->key, t);
    }
    t->samples += b->count;
    t->sum += b->sum;
}

void ls_metrics_each (ls_metrics_t *self,
                      void (*fn) (const char *ns, const char *name, uint64_t samples, double sum,
                                  void *arg),
                      void *arg)
{
    for (s_total_t *t = zhashx_first (self->totals); t; t = zhashx_next (self->totals))
        fn (t->ns, t->name, t->samples, t->sum, arg);
}

static void s_list_destroy (void **item)
{
    zlistx_destroy ((zlistx_t **)item);
}

ls_metrics_t *ls_metrics_new (ls_t *ls)
{
    ls_metrics_t *self = calloc (1, sizeof *self);
    assert (self);
    self->ls = ls;
    self->groups = zhashx_new ();
    self->ev = ph_pattern_event_new ();
    assert (self->groups && self->ev);
    zhashx_set_destructor (self->groups, s_list_destroy);
    self->totals = zhashx_new ();
    assert (self->totals);
    zhashx_set_destructor (self->totals, s_total_destroy);
    snprintf (self->version, sizeof self->version, "none");
    return self;
}

void ls_metrics_destroy (ls_metrics_t **self_p)
{
    ls_metrics_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->groups);
    zhashx_destroy (&self->totals);
    ph_pattern_event_destroy (&self->ev);
    free (self);
    *self_p = NULL;
}

/*  A filter from the 8 fields of the load script, or NULL (logged) when
 *  it does not compile (the controller checks them; this is a guard). */
static s_filter_t *s_filter_new (const char *const f[LS_FILTER_FIELDS])
{
    char err[PH_ERRTEXT_MAX];
    ph_pattern_t *pat = ph_pattern_new (f[2], err, sizeof err);
    if (!pat || ph_pattern_check_value (pat, f[5], err, sizeof err) != 0) {
        ph_warn ("metric filter %s of %s ignored: %s", f[1], f[0], err);
        ph_pattern_destroy (&pat);
        return NULL;
    }
    s_filter_t *flt = calloc (1, sizeof *flt);
    assert (flt);
    flt->pattern = pat;
    flt->group = strdup (f[0]);
    flt->name = strdup (f[1]);
    flt->metric = strdup (f[3]);
    flt->ns = strdup (f[4]);
    flt->value_expr = strdup (f[5]);
    flt->has_default = *f[6] != 0;
    flt->dflt = flt->has_default ? strtod (f[6], NULL) : 0;
    flt->unit = strdup (f[7]);
    snprintf (flt->key, sizeof flt->key, "%s|%s", f[4], f[3]);
    assert (flt->group && flt->name && flt->metric && flt->ns && flt->value_expr && flt->unit);
    return flt;
}

static void s_on_loaded (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ls_metrics_t *self = arg;
    self->loading = false;
    const char *version = ph_reply_str (ph_reply_at (reply, 0));
    const ph_reply_t *flat = ph_reply_at (reply, 1);
    if (!version || !ph_reply_is_array (flat))
        return; /* tried again next tick */
    zhashx_purge (self->groups);
    size_t n = ph_reply_count (flat) / LS_FILTER_FIELDS, loaded = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f[LS_FILTER_FIELDS];
        for (int k = 0; k < LS_FILTER_FIELDS; k++) {
            f[k] = ph_reply_str (ph_reply_at (flat, i * LS_FILTER_FIELDS + k));
            f[k] = f[k] ? f[k] : "";
        }
        s_filter_t *flt = s_filter_new (f);
        if (!flt)
            continue;
        zlistx_t *list = zhashx_lookup (self->groups, flt->group);
        if (!list) {
            list = zlistx_new ();
            assert (list);
            zlistx_set_destructor (list, s_filter_destroy);
            zhashx_insert (self->groups, flt->group, list);
        }
        zlistx_add_end (list, flt);
        loaded++;
    }
    snprintf (self->version, sizeof self->version, "%s", version);
    ph_info ("metric filters: %zu loaded (version %s)", loaded, version);
}

static void s_on_version (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    ls_metrics_t *self = arg;
    const char *v = ph_reply_is_nil (reply) ? "0" : ph_reply_str (reply);
    if (!v || strcmp (v, self->version) == 0) {
        self->loading = false;
        return;
    }
    if (ph_redis_cmd (redis, s_on_loaded, self, "EVAL %s 0", s_load_lua) != 0)
        self->loading = false;
}

void ls_metrics_tick (ls_metrics_t *self)
{
    if (self->loading || !ph_redis_connected (self->ls->redis))
        return;
    self->loading = true;
    if (ph_redis_cmd (self->ls->redis, s_on_version, self, "GET ph:metricfilters:version") != 0)
        self->loading = false;
}

/* ---- evaluation ------------------------------------------------------------- */

/*  The buckets of one batch, then the script's arguments. */
typedef struct {
    const s_filter_t *f;
    char sec[24];
    char val[PH_METRIC_BUCKET_TEXT_MAX];
} s_bucket_t;

typedef struct {
    s_bucket_t *b;
    size_t n, cap;
} s_merge_t;

static void s_merge_add (s_merge_t *m, const s_filter_t *f, const ph_metric_bucket_t *b)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? 2 * m->cap : 16;
        m->b = realloc (m->b, m->cap * sizeof *m->b);
        assert (m->b);
    }
    s_bucket_t *x = &m->b[m->n];
    x->f = f;
    snprintf (x->sec, sizeof x->sec, "%lld", (long long)b->t_s);
    if (ph_metric_bucket_format (b, x->val, sizeof x->val) >= 0)
        m->n++;
}

/*  Runs one filter over events (in timestamp order), second by second. */
static void s_evaluate (ls_metrics_t *self, const s_filter_t *f, const ls_event_ref_t *events,
                        size_t n, s_merge_t *m)
{
    double *values = malloc ((n + 1) * sizeof *values);
    assert (values);
    for (size_t i = 0; i < n;) {
        int64_t t_s = (int64_t)(events[i].ts_ms / 1000);
        size_t matched = 0, count = 0;
        for (; i < n && (int64_t)(events[i].ts_ms / 1000) == t_s; i++, count++) {
            ph_pattern_event_set (self->ev, events[i].msg, strlen (events[i].msg));
            double v;
            if (ph_pattern_match (f->pattern, self->ev) &&
                ph_pattern_value (f->pattern, self->ev, f->value_expr, &v) == 0)
                values[matched++] = v;
        }
        ph_metric_bucket_t b;
        if (ph_metric_filter_second (t_s, count, values, matched, f->has_default ? &f->dflt : NULL,
                                     &b) == 0 &&
            b.count > 0) {
            self->samples += b.count;
            s_total_add (self, f, &b);
            s_merge_add (m, f, &b);
        }
    }
    free (values);
}

static void s_on_merged (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ls_metrics_t *self = arg;
    if (!ph_reply_ok (reply)) {
        self->failures++;
        ph_warn ("metrics: merging samples failed (%s); those samples are lost",
                 reply ? ph_reply_str (reply) : "connection lost");
    }
}

void ls_metrics_ingest (ls_metrics_t *self, const char *group, const ls_event_ref_t *events,
                        size_t n, const char *instance)
{
    zlistx_t *filters = zhashx_lookup (self->groups, group);
    if (!filters || n == 0)
        return;
    s_merge_t m = {0};
    for (s_filter_t *f = zlistx_first (filters); f; f = zlistx_next (filters))
        s_evaluate (self, f, events, n, &m);
    if (m.n > 0) {
        char count[24];
        snprintf (count, sizeof count, "%zu", m.n);
        size_t argc = 5 + LS_MERGE_ARGS * m.n, a = 0;
        const char **argv = calloc (argc, sizeof *argv);
        size_t *len = calloc (argc, sizeof *len);
        assert (argv && len);
        argv[a++] = "EVAL";
        argv[a++] = s_merge_lua;
        argv[a++] = "0";
        argv[a++] = count;
        argv[a++] = instance ? instance : "";
        for (size_t i = 0; i < m.n; i++) {
            argv[a++] = m.b[i].f->key;
            argv[a++] = m.b[i].f->ns;
            argv[a++] = m.b[i].f->metric;
            argv[a++] = m.b[i].f->unit;
            argv[a++] = m.b[i].sec;
            argv[a++] = m.b[i].val;
        }
        for (size_t k = 0; k < argc; k++)
            len[k] = strlen (argv[k]);
        if (ph_redis_cmdargv (self->ls->redis, s_on_merged, self, (int)argc, argv, len) != 0)
            self->failures++;
        self->buckets += m.n;
        free (len);
        free (argv);
    }
    free (m.b);
}
