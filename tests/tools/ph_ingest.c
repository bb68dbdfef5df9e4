/*  ph-ingest: measures how fast one logshipper ingests log lines, with
 *  real CURVE batches sent as a registered instance, the way agents ship
 *  session transcripts (agent_ship.c). bench/ingest drives it.
 *
 *  ph-ingest --endpoint EP --server-key KEY --key-file F
 *            [--seconds S] [--line-bytes B] [--batch-events N]
 *            [--streams K] [--window W] [--group G]
 *            [--redis URL [--cleanup]] [--json FILE]
 *
 *  --key-file F       an enrolled instance's keypair (porthole-agent
 *                     register writes one: STATE_DIR/agent.key)
 *  --seconds S        how long to send (default 10); in-flight batches
 *                     are waited for, and counted, after that
 *  --line-bytes B     bytes of each log line (default 64)
 *  --batch-events N   lines per batch (default: as the agent cuts them,
 *                     10,000 or 512 KiB of lines, whichever comes first)
 *  --streams K        log streams written round robin (default 16: as many
 *                     sessions)
 *  --window W         batches in flight (default 4)
 *  --group G          log group (default bench/ingest-<random>)
 *  --redis URL        afterwards, check that Redis holds every line
 *                     acknowledged (XLEN of each stream)
 *  --cleanup          then delete the streams the run wrote (with --redis;
 *                     the batch ids' de-duplication keys expire in 24 h)
 *  --json FILE        write the figures as JSON too
 *
 *  Every line is distinct ("ingest <run> <line number> xxxx..."). The
 *  batches are encoded once per stream before the clock starts and only
 *  their batch id and line numbers are rewritten in place for each send,
 *  so that the client takes little of a CPU the logshipper and Redis share.
 *  Timestamps are the start time for every event (equal timestamps are in
 *  order for the logshipper).
 *
 *  Prints one line: lines/s, MB/s (of line bytes), batch latency p50/p99.
 *  Exit codes: 0 measured (and verified), 64 bad arguments, 65 bad key
 *  file, 69 no answer, 70 a batch refused or Redis missing lines.
 */
#include "ph_random.h"
#include "ph_errors.h"
#include "ph_keys.h"
#include "ph_redis.h"
#include "ph_util.h"
#include "ph_wire.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROG              "ph-ingest"
#define AGENT_BATCH_BYTES (512 * 1024) /* agent_log.h PH_SHIP_BATCH_BYTES */
#define BATCH_EVENTS_MAX  10000        /* the logshipper's limit */
#define LINE_PREFIX_MAX   40           /* "ingest " + run + " " + 12 digits + " " */
#define LINE_BYTES_MAX    4096
#define LINE_DIGITS       12
#define ID_DIGITS         10
#define STREAMS_MAX       1024
#define WINDOW_MAX        64
#define REPLY_WAIT_MS     30000 /* a batch unanswered this long: give up */
#define RUN_HEX           8

typedef struct {
    const char *endpoint, *server_key, *key_file, *redis, *json;
    char group[128];
    uint64_t seconds, line_bytes, batch_events, streams, window;
    bool cleanup;
} s_opts_t;

/*  One stream's batch, encoded once; sends rewrite it in place. */
typedef struct {
    uint8_t *frame;
    size_t len;
    size_t id_off;    /* the batch id's sequence digits */
    size_t *line_off; /* each line's number digits */
} s_template_t;

typedef struct {
    uint64_t seq;     /* batch number, in its id */
    uint64_t sent_us; /* monotonic */
} s_flight_t;

static char s_run[RUN_HEX + 1];

static void s_usage (void)
{
    fprintf (stderr, "usage: " PROG " --endpoint EP --server-key KEY --key-file F [--seconds S]\n"
                     "       [--line-bytes B] [--batch-events N] [--streams K] [--window W]\n"
                     "       [--group G] [--redis URL [--cleanup]] [--json FILE]\n");
}

static int s_parse (int argc, char **argv, s_opts_t *o)
{
    static const struct option opts[] = {{"endpoint", required_argument, 0, 'e'},
                                         {"server-key", required_argument, 0, 's'},
                                         {"key-file", required_argument, 0, 'k'},
                                         {"seconds", required_argument, 0, 't'},
                                         {"line-bytes", required_argument, 0, 'l'},
                                         {"batch-events", required_argument, 0, 'n'},
                                         {"streams", required_argument, 0, 'm'},
                                         {"window", required_argument, 0, 'w'},
                                         {"group", required_argument, 0, 'g'},
                                         {"redis", required_argument, 0, 'r'},
                                         {"cleanup", no_argument, 0, 'c'},
                                         {"json", required_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, bad = 0;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            o->endpoint = optarg;
            break;
        case 's':
            o->server_key = optarg;
            break;
        case 'k':
            o->key_file = optarg;
            break;
        case 't':
            bad |= ph_parse_uint (optarg, 1, 3600, &o->seconds);
            break;
        case 'l':
            bad |= ph_parse_uint (optarg, LINE_PREFIX_MAX, LINE_BYTES_MAX, &o->line_bytes);
            break;
        case 'n':
            bad |= ph_parse_uint (optarg, 1, BATCH_EVENTS_MAX, &o->batch_events);
            break;
        case 'm':
            bad |= ph_parse_uint (optarg, 1, STREAMS_MAX, &o->streams);
            break;
        case 'w':
            bad |= ph_parse_uint (optarg, 1, WINDOW_MAX, &o->window);
            break;
        case 'g':
            snprintf (o->group, sizeof o->group, "%s", optarg);
            break;
        case 'r':
            o->redis = optarg;
            break;
        case 'c':
            o->cleanup = true;
            break;
        case 'j':
            o->json = optarg;
            break;
        case 'h':
            s_usage ();
            return -1;
        default:
            bad = 1;
        }
    }
    if (bad || !o->endpoint || !o->server_key || !o->key_file) {
        s_usage ();
        return PH_EXIT_USAGE;
    }
    if (!o->batch_events) {
        o->batch_events = AGENT_BATCH_BYTES / o->line_bytes;
        if (o->batch_events > BATCH_EVENTS_MAX)
            o->batch_events = BATCH_EVENTS_MAX;
    }
    if (!*o->group)
        snprintf (o->group, sizeof o->group, "bench/ingest-%s", s_run);
    return 0;
}

/* ---- batches ---------------------------------------------------------------- */

static void s_stream_name (char *buf, size_t len, uint64_t k)
{
    snprintf (buf, len, "ingest-%s-%04llu", s_run, (unsigned long long)k);
}

/*  Writes n in decimal, zero padded to width, at p. */
static void s_put_digits (uint8_t *p, uint64_t n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        p[i] = (uint8_t)('0' + n % 10);
}

/*  Encodes stream k's batch with placeholder numbers, and finds where the
 *  batch id's and each line's digits are in the frame. */
static int s_template (const s_opts_t *o, uint64_t k, uint64_t ts, s_template_t *t)
{
    size_t n = o->batch_events;
    Porthole__V1__LogEvent *ev = calloc (n, sizeof *ev);
    Porthole__V1__LogEvent **evp = calloc (n, sizeof *evp);
    char *text = calloc (n, o->line_bytes + 1);
    t->line_off = calloc (n, sizeof *t->line_off);
    char stream[64], batch_id[64];
    s_stream_name (stream, sizeof stream, k);
    /* the digits to find again: unique within the frame */
    snprintf (batch_id, sizeof batch_id, "ingest-%s-%0*llu", s_run, ID_DIGITS, 0ULL);
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        char *line = text + i * (o->line_bytes + 1);
        int head = snprintf (line, o->line_bytes + 1, "ingest %s %0*zu ", s_run, LINE_DIGITS, i);
        memset (line + head, 'x', o->line_bytes - (size_t)head);
        line[o->line_bytes] = 0;
        ev[i] = init;
        ev[i].timestamp_ms = ts;
        ev[i].message = line;
        evp[i] = &ev[i];
    }
    Porthole__V1__PutLogEvents put = PORTHOLE__V1__PUT_LOG_EVENTS__INIT;
    put.batch_id = batch_id;
    put.log_group = (char *)o->group;
    put.log_stream = stream;
    put.n_events = n;
    put.events = evp;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = 1;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS;
    env.put_log_events = &put;
    t->frame = ph_wire_encode (&env, &t->len);
    int rc = t->frame ? 0 : PH_ETOOBIG;
    const uint8_t *at = t->frame, *end = t->frame + (t->frame ? t->len : 0);
    const uint8_t *id = rc ? NULL : memmem (at, t->len, batch_id, strlen (batch_id));
    if (id)
        t->id_off = (size_t)(id - t->frame) + strlen (batch_id) - ID_DIGITS;
    for (size_t i = 0; !rc && i < n; i++) {
        const char *line = text + i * (o->line_bytes + 1);
        size_t head = 8 + RUN_HEX; /* "ingest RUN " */
        const uint8_t *hit = memmem (at, (size_t)(end - at), line, head + LINE_DIGITS);
        if (!hit) {
            rc = PH_EINVAL;
            break;
        }
        t->line_off[i] = (size_t)(hit - t->frame) + head;
        at = hit + o->line_bytes;
    }
    if (!id)
        rc = PH_EINVAL;
    free (text);
    free (evp);
    free (ev);
    return rc;
}

/*  Batch seq of stream seq % streams, its lines numbered from line0. */
static void s_stamp (const s_opts_t *o, s_template_t *t, uint64_t seq, uint64_t line0)
{
    s_put_digits (t->frame + t->id_off, seq, ID_DIGITS);
    for (size_t i = 0; i < o->batch_events; i++)
        s_put_digits (t->frame + t->line_off[i], line0 + i, LINE_DIGITS);
}

/* ---- the run ------------------------------------------------------------------ */

typedef struct {
    uint64_t sent, acked, lines, refused;
    uint64_t *lat_us; /* latency of each acknowledged batch */
    size_t n_lat, cap_lat;
    uint64_t start_us, end_us;
} s_stats_t;

static uint64_t s_now_us (void)
{
    return zclock_usecs ();
}

/*  The batch number in a reply's batch id, or UINT64_MAX. */
static uint64_t s_reply_seq (const char *batch_id)
{
    size_t n = strlen (batch_id);
    return n > ID_DIGITS ? strtoull (batch_id + n - ID_DIGITS, NULL, 10) : UINT64_MAX;
}

/*  Receives one reply (waiting up to wait_ms). Returns 0, PH_EIO when
 *  nothing came, PH_EPROTO when a batch was refused (printed). */
static int s_receive (zsock_t *sock, s_flight_t *flight, size_t window, s_stats_t *st,
                      uint64_t batch_events, int wait_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    void *ready = zpoller_wait (poller, wait_ms);
    zpoller_destroy (&poller);
    if (!ready)
        return PH_EIO;
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX];
    int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
    ph_wire_rx_close (&rx);
    if (rc != 0) {
        fprintf (stderr, PROG ": a bad reply: %s\n", err);
        return PH_EPROTO;
    }
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        fprintf (stderr, PROG ": the logshipper refused a batch: %s %s\n", env->error->code,
                 env->error->message);
        st->refused++;
        ph_wire_free (&env);
        return PH_EPROTO;
    }
    uint64_t seq = env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY
                       ? s_reply_seq (env->put_log_events_reply->batch_id)
                       : UINT64_MAX;
    for (size_t i = 0; i < window; i++) {
        if (flight[i].sent_us && flight[i].seq == seq) {
            if (st->n_lat == st->cap_lat) {
                st->cap_lat = st->cap_lat ? st->cap_lat * 2 : 1024;
                st->lat_us = realloc (st->lat_us, st->cap_lat * sizeof *st->lat_us);
            }
            st->lat_us[st->n_lat++] = s_now_us () - flight[i].sent_us;
            flight[i].sent_us = 0;
            st->acked++;
            st->lines += env->put_log_events_reply->accepted;
            if (env->put_log_events_reply->accepted != batch_events)
                fprintf (stderr, PROG ": batch %llu: %u lines accepted of %llu\n",
                         (unsigned long long)seq, env->put_log_events_reply->accepted,
                         (unsigned long long)batch_events);
            break;
        }
    }
    ph_wire_free (&env);
    return 0;
}

/*  Sends batches for o->seconds with o->window in flight, then waits for
 *  the last ones. Batch 0 is a warm-up (handshake, ZAP, group creation)
 *  outside the clock. */
static int s_send_all (const s_opts_t *o, zsock_t *sock, s_template_t *tpl, s_stats_t *st)
{
    s_flight_t flight[WINDOW_MAX] = {{0, 0}};
    uint64_t seq = 0, in_flight = 0, deadline = 0;
    bool warm = false;
    for (;;) {
        uint64_t now = s_now_us ();
        bool sending = !warm ? seq == 0 : now < deadline;
        while (sending && in_flight < (warm ? o->window : 1)) {
            s_template_t *t = &tpl[seq % o->streams];
            s_stamp (o, t, seq, seq * o->batch_events);
            size_t slot = 0;
            while (flight[slot].sent_us)
                slot++;
            flight[slot] = (s_flight_t){seq, s_now_us ()};
            if (zmq_send (zsock_resolve (sock), t->frame, t->len, 0) < 0) {
                fprintf (stderr, PROG ": send failed: %s\n", zmq_strerror (zmq_errno ()));
                return PH_EXIT_UNAVAIL;
            }
            seq++;
            in_flight++;
            st->sent++;
            sending = warm && s_now_us () < deadline;
        }
        if (!in_flight)
            break;
        int rc = s_receive (sock, flight, o->window, st, o->batch_events, REPLY_WAIT_MS);
        if (rc == PH_EIO) {
            fprintf (stderr, PROG ": no answer from %s in %d s\n", o->endpoint,
                     REPLY_WAIT_MS / 1000);
            return PH_EXIT_UNAVAIL;
        }
        if (rc != 0)
            return PH_EXIT_API;
        in_flight = 0;
        for (size_t i = 0; i < o->window; i++)
            in_flight += flight[i].sent_us != 0;
        if (!warm && !in_flight) { /* the warm-up batch is back: start the clock */
            warm = true;
            *st = (s_stats_t){.lat_us = st->lat_us, .cap_lat = st->cap_lat};
            st->start_us = s_now_us ();
            deadline = st->start_us + o->seconds * 1000000;
        }
    }
    st->end_us = s_now_us ();
    return PH_EXIT_OK;
}

/* ---- results -------------------------------------------------------------- */

static int s_cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double s_pct_ms (s_stats_t *st, double p)
{
    if (!st->n_lat)
        return 0;
    size_t i = (size_t)(p * (double)(st->n_lat - 1));
    return (double)st->lat_us[i] / 1000.0;
}

static void s_report (const s_opts_t *o, s_stats_t *st, const char *verified)
{
    qsort (st->lat_us, st->n_lat, sizeof *st->lat_us, s_cmp_u64);
    double secs = (double)(st->end_us - st->start_us) / 1e6;
    double lps = secs > 0 ? (double)st->lines / secs : 0;
    double mbps = lps * (double)o->line_bytes / 1e6;
    printf ("ingest: %llu lines (%llu batches of %llu x %llu B, %llu streams, window %llu) in "
            "%.2f s: %.0f lines/s, %.1f MB/s; batch latency p50 %.1f ms, p99 %.1f ms; Redis "
            "check: %s\n",
            (unsigned long long)st->lines, (unsigned long long)st->acked,
            (unsigned long long)o->batch_events, (unsigned long long)o->line_bytes,
            (unsigned long long)o->streams, (unsigned long long)o->window, secs, lps, mbps,
            s_pct_ms (st, 0.5), s_pct_ms (st, 0.99), verified);
    if (!o->json)
        return;
    FILE *f = fopen (o->json, "w");
    if (!f) {
        fprintf (stderr, PROG ": cannot write %s\n", o->json);
        return;
    }
    fprintf (f,
             "{\"lines\": %llu, \"batches\": %llu, \"batch_events\": %llu, \"line_bytes\": %llu, "
             "\"streams\": %llu, \"window\": %llu, \"seconds\": %.3f, \"lines_per_s\": %.0f, "
             "\"mb_per_s\": %.2f, \"batch_p50_ms\": %.2f, \"batch_p99_ms\": %.2f, "
             "\"verified\": \"%s\"}\n",
             (unsigned long long)st->lines, (unsigned long long)st->acked,
             (unsigned long long)o->batch_events, (unsigned long long)o->line_bytes,
             (unsigned long long)o->streams, (unsigned long long)o->window, secs, lps, mbps,
             s_pct_ms (st, 0.5), s_pct_ms (st, 0.99), verified);
    fclose (f);
}

/*  Sums XLEN over the run's streams (and deletes them with --cleanup).
 *  Returns the sum, or -1 when Redis cannot be asked. */
static long long s_verify (const s_opts_t *o)
{
    char err[PH_ERRTEXT_MAX], key[256], name[64];
    ph_redis_sync_t *r = ph_redis_sync_new (o->redis, err, sizeof err);
    if (!r) {
        fprintf (stderr, PROG ": %s\n", err);
        return -1;
    }
    long long total = 0;
    for (uint64_t k = 0; k < o->streams; k++) {
        s_stream_name (name, sizeof name, k);
        snprintf (key, sizeof key, "ph:logs:{%s}:%s", o->group, name);
        ph_reply_t *x = ph_redis_sync_cmd (r, "XLEN %s", key);
        total += ph_reply_int (x);
        ph_reply_free (&x);
        if (o->cleanup) {
            x = ph_redis_sync_cmd (r, "DEL %s ph:logstream:{%s}:%s", key, o->group, name);
            ph_reply_free (&x);
        }
    }
    if (o->cleanup) {
        ph_reply_t *x =
            ph_redis_sync_cmd (r, "DEL ph:logstreams:{%s} ph:loggroup:{%s}", o->group, o->group);
        ph_reply_free (&x);
        x = ph_redis_sync_cmd (r, "SREM ph:loggroups %s", o->group);
        ph_reply_free (&x);
    }
    ph_redis_sync_destroy (&r);
    return total;
}

int main (int argc, char **argv)
{
    uint8_t raw[RUN_HEX / 2];
    ph_random_bytes (raw, sizeof raw);
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf (s_run + 2 * i, 3, "%02x", raw[i]);
    s_opts_t o = {.seconds = 10, .line_bytes = 64, .streams = 16, .window = 4};
    int rc = s_parse (argc, argv, &o);
    if (rc)
        return rc < 0 ? PH_EXIT_OK : rc;
    ph_keypair_t kp;
    if (ph_keys_load (o.key_file, &kp) != 0) {
        fprintf (stderr, PROG ": cannot read the key file %s\n", o.key_file);
        return PH_EXIT_CONFIG;
    }
    zsys_init ();
    zsys_handler_set (NULL);
    uint64_t ts = ph_now_ms ();
    s_template_t *tpl = calloc (o.streams, sizeof *tpl);
    for (uint64_t k = 0; k < o.streams && rc == 0; k++)
        if ((rc = s_template (&o, k, ts, &tpl[k])) != 0)
            fprintf (stderr,
                     PROG ": a batch of %llu lines of %llu bytes is over the %d-byte "
                          "frame limit; use a smaller --batch-events\n",
                     (unsigned long long)o.batch_events, (unsigned long long)o.line_bytes,
                     PH_MSG_MAX);
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    s_stats_t st = {0};
    if (rc == 0) {
        zsock_set_sndhwm (sock, WINDOW_MAX * 2);
        if (ph_keys_setup_client (sock, &kp, o.server_key) != 0 ||
            zsock_connect (sock, "%s", o.endpoint) != 0) {
            fprintf (stderr, PROG ": cannot connect to %s\n", o.endpoint);
            rc = PH_EXIT_UNAVAIL;
        } else
            rc = s_send_all (&o, sock, tpl, &st);
    } else
        rc = PH_EXIT_USAGE;
    if (rc == PH_EXIT_OK) {
        char verified[64] = "not asked (no --redis)";
        if (o.redis) {
            long long stored = s_verify (&o);
            long long want = (long long)(st.lines + o.batch_events); /* + the warm-up */
            snprintf (verified, sizeof verified, "%s (%lld stored)",
                      stored == want ? "every line stored" : "LINES MISSING", stored);
            if (stored != want)
                rc = PH_EXIT_API;
        }
        s_report (&o, &st, verified);
    }
    zsock_destroy (&sock);
    for (uint64_t k = 0; k < o.streams; k++) {
        free (tpl[k].frame);
        free (tpl[k].line_off);
    }
    free (tpl);
    free (st.lat_us);
    return rc;
}
