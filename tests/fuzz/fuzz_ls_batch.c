/*  libFuzzer target: a PutLogEvents batch as the logshipper takes it in —
 *  ph_wire_decode, then ls_put_log_events (logshipper/ls_put.c) — with a
 *  Redis that never connects, so that a batch that passes every check is
 *  answered Unavailable where it would be appended, and one that fails a
 *  check InvalidRequest, at once and on the reply socket.
 *
 *  Besides crashes, leaks and undefined behaviour, the verdict must agree
 *  with the rules of docs/architecture.md "Session logs", computed here on
 *  their own: batch id 1..128 and names 1..512 of [A-Za-z0-9_.-/#], at
 *  most 10,000 events, at most 1 MiB of messages, timestamps
 *  non-decreasing. A batch let through against them, or refused although
 *  it keeps them, stops the fuzzer (__builtin_trap).
 *
 *  Input: first byte even, the rest is a raw frame (what a peer may send);
 *  odd, the rest drives a builder of well-formed batches (names and ids
 *  around their limits, event counts around 10,000, timestamps that may
 *  go back, messages that may not be UTF-8), so that the validator's own
 *  branches are reached without the fuzzer first learning protobuf. */
#include "ls.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define FUZZ_REDIS_URL   "unix:///nonexistent/ph-fuzz-ls/redis.sock" /* never connects */
#define FUZZ_LS_BIND     "inproc://fuzz-ls-unused"
#define FUZZ_REPLY_EP    "inproc://fuzz-ls-replies"
#define FUZZ_PEER_ID     "fuzz-peer"
#define FUZZ_REPLY_MS    1000
#define FUZZ_NAME_CHARS  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-/#"
#define FUZZ_EVENTS_MAX  (LS_BATCH_EVENTS_MAX + 16)
#define FUZZ_TEXT_MAX    64
#define FUZZ_NAME_BUF    (LS_NAME_MAX + 32)
#define FUZZ_INSTANCE_ID "mi-0123456789abcdef0"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static ls_t *s_ls;
static zsock_t *s_peer;

static void s_fini (void)
{
    zsock_destroy (&s_peer);
    ls_destroy (&s_ls);
}

/*  One logshipper for the whole run, its replies rerouted to an inproc
 *  DEALER this target reads. */
static void s_init (void)
{
    if (s_ls)
        return;
    setenv ("PORTHOLE_LOG", "error", 1);
    ph_log_init ("fuzz_ls_batch");
    zsys_init ();
    zsys_handler_set (NULL);
    ph_keypair_t keys;
    ph_keys_generate (&keys);
    ls_options_t opt;
    memset (&opt, 0, sizeof opt);
    opt.redis_url = FUZZ_REDIS_URL;
    opt.bind = FUZZ_LS_BIND;
    opt.auto_create = true;
    char err[PH_ERRTEXT_MAX];
    s_ls = ls_new (&opt, &keys, NULL, "l-00000fuzz", err, sizeof err);
    if (!s_ls || ph_redis_connected (s_ls->redis))
        __builtin_trap ();
    zloop_reader_end (s_ls->loop, s_ls->router);
    zsock_destroy (&s_ls->router);
    s_ls->router = zsock_new_router ("@" FUZZ_REPLY_EP);
    s_peer = zsock_new (ZMQ_DEALER);
    zsock_set_identity (s_peer, FUZZ_PEER_ID);
    zsock_connect (s_peer, FUZZ_REPLY_EP);
    /* the ROUTER knows the peer's routing id once it has heard from it */
    zstr_send (s_peer, "hello");
    zmsg_t *hello = zmsg_recv (s_ls->router);
    if (!hello)
        __builtin_trap ();
    zmsg_destroy (&hello);
    atexit (s_fini); /* before czmq's own exit check, which runs later */
}

/* ---- the rules, on their own ---------------------------------------------- */

static bool s_name_ok (const char *s, size_t max)
{
    size_t n = strlen (s);
    if (n < 1 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!memchr (FUZZ_NAME_CHARS, s[i], sizeof FUZZ_NAME_CHARS - 1))
            return false;
    return true;
}

static bool s_batch_ok (const Porthole__V1__PutLogEvents *p)
{
    if (!s_name_ok (p->batch_id, LS_BATCH_ID_MAX) || !s_name_ok (p->log_group, LS_NAME_MAX) ||
        !s_name_ok (p->log_stream, LS_NAME_MAX) || p->n_events > LS_BATCH_EVENTS_MAX)
        return false;
    size_t bytes = 0;
    for (size_t i = 0; i < p->n_events; i++) {
        bytes += strlen (p->events[i]->message);
        if (i && p->events[i]->timestamp_ms < p->events[i - 1]->timestamp_ms)
            return false;
    }
    return bytes <= LS_BATCH_BYTES_MAX;
}

/* ---- the builder ---------------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    size_t left;
} s_in_t;

static uint8_t s_byte (s_in_t *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/*  A name of about the length the input asks for: mostly valid
 *  characters, some that are not (space, colon, a control, non-ASCII).
 *  Lengths land near limit too. */
static void s_name (s_in_t *in, char *buf, size_t limit)
{
    static const char *bad[] = {" ", ":", "\x01", "\xC3\xA9", "{", "\\"};
    uint8_t l = s_byte (in);
    size_t len = l < 240 ? l % 40 : limit - 4 + (l % 8);
    size_t o = 0;
    for (size_t i = 0; i < len && o + 3 < FUZZ_NAME_BUF; i++) {
        uint8_t c = s_byte (in);
        const char *piece = NULL;
        if (c >= 0xFA)
            piece = bad[c % (sizeof bad / sizeof *bad)];
        if (piece) {
            memcpy (buf + o, piece, strlen (piece));
            o += strlen (piece);
        } else
            buf[o++] = FUZZ_NAME_CHARS[c % (sizeof FUZZ_NAME_CHARS - 1)];
    }
    buf[o] = 0;
}

typedef struct {
    char batch_id[FUZZ_NAME_BUF], group[FUZZ_NAME_BUF], stream[FUZZ_NAME_BUF];
    Porthole__V1__LogEvent ev[FUZZ_EVENTS_MAX];
    Porthole__V1__LogEvent *evp[FUZZ_EVENTS_MAX];
    char text[FUZZ_EVENTS_MAX][FUZZ_TEXT_MAX + 1];
} s_build_t;

/*  Encodes a batch made from the input; NULL when over the frame limit. */
static uint8_t *s_build (s_in_t *in, size_t *len)
{
    static s_build_t b; /* big: not on the stack */
    uint8_t flags = s_byte (in);
    s_name (in, b.batch_id, LS_BATCH_ID_MAX);
    s_name (in, b.group, LS_NAME_MAX);
    s_name (in, b.stream, LS_NAME_MAX);
    uint8_t nb = s_byte (in);
    size_t n = (flags & 0x31) == 0x31 ? LS_BATCH_EVENTS_MAX - 8 + nb % 16 : nb % 32;
    uint64_t ts = ((uint64_t)s_byte (in) << 16 | (uint64_t)s_byte (in) << 8) + 1700000000000ULL;
    for (size_t i = 0; i < n; i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        b.ev[i] = init;
        int8_t step = (int8_t)s_byte (in);
        ts += (uint64_t)(int64_t)(flags & 2 ? step : step < 0 ? -step : step);
        b.ev[i].timestamp_ms = ts;
        size_t tl = s_byte (in) % (FUZZ_TEXT_MAX + 1);
        for (size_t k = 0; k < tl; k++) {
            uint8_t c = s_byte (in);
            b.text[i][k] = (char)(flags & 4 ? c : 0x20 + c % 0x5F); /* raw, or ASCII */
        }
        b.text[i][tl] = 0;
        b.ev[i].message = b.text[i];
        b.evp[i] = &b.ev[i];
    }
    Porthole__V1__PutLogEvents put = PORTHOLE__V1__PUT_LOG_EVENTS__INIT;
    put.batch_id = b.batch_id;
    put.log_group = b.group;
    put.log_stream = b.stream;
    put.n_events = n;
    put.events = b.evp;
    put.encrypt = (flags & 8) != 0;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = 1 + s_byte (in);
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS;
    env.put_log_events = &put;
    return ph_wire_encode (&env, len);
}

/* ---- one batch through the logshipper ----------------------------------- */

/*  Every reply must decode: an Error whose text was cut in the middle of
 *  a UTF-8 character (found here once) would be dropped by the agent as a
 *  bad frame and the batch resent forever; ph_wire_send_error repairs such
 *  text now. */

/*  The code of the Error the peer got (heap; its message in text), or NULL
 *  when it got none. */
static char *s_reply_code (char *text, size_t len)
{
    zpoller_t *poller = zpoller_new (s_peer, NULL);
    void *ready = zpoller_wait (poller, FUZZ_REPLY_MS);
    zpoller_destroy (&poller);
    if (!ready)
        return NULL;
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX];
    char *code = NULL;
    int rc = ph_wire_recv (s_peer, false, &rx, &env, err, sizeof err);
    if (rc != 0) { /* what an agent would drop as a bad frame */
        fprintf (stderr, "the reply does not decode: %s\n", err);
        __builtin_trap ();
    }
    if (rc == 0 && env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        code = strdup (env->error->code);
        snprintf (text, len, "%s", env->error->message);
    }
    ph_wire_rx_close (&rx);
    ph_wire_free (&env);
    return code;
}

static void s_put (ph_env_t *env)
{
    bool ok = s_batch_ok (env->put_log_events);
    ls_req_t *req = calloc (1, sizeof *req);
    if (!req)
        __builtin_trap ();
    req->ls = s_ls;
    req->rid_len = strlen (FUZZ_PEER_ID);
    memcpy (req->rid, FUZZ_PEER_ID, req->rid_len);
    req->request_id = env->request_id;
    snprintf (req->instance, sizeof req->instance, "%s", FUZZ_INSTANCE_ID);
    req->env = env; /* the request owns it now */
    ls_put_log_events (req);
    char text[PH_ERRTEXT_MAX] = "";
    char *code = s_reply_code (text, sizeof text);
    if (!code)
        __builtin_trap (); /* every batch is answered at once without Redis */
    bool refused = strcmp (code, LS_E_INVALID_REQUEST) == 0;
    if (refused == ok) { /* the verdict departs from the rules */
        fprintf (stderr, "rules say %s, the logshipper answered %s: %s\n", ok ? "valid" : "invalid",
                 code, text);
        __builtin_trap ();
    }
    free (code);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    s_init ();
    if (size < 1)
        return 0;
    s_in_t in = {data + 1, size - 1};
    uint8_t *built = NULL;
    size_t len = size - 1;
    const uint8_t *frame = data + 1;
    if (data[0] & 1) {
        built = s_build (&in, &len);
        frame = built;
        if (!built)
            return 0;
    }
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX];
    if (ph_wire_decode (frame, len, &env, err, sizeof err) == 0) {
        if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS)
            s_put (env); /* takes env */
        else
            ph_wire_free (&env);
    }
    free (built);
    return 0;
}
