/*  ctl_logkeys: the data keys of encrypted log groups, for readers.
 *
 *  Only logshippers hold the log master key (ph_logcrypt.h), so the
 *  controller asks one of them to open a group's wrapped data key
 *  (OpenDataKey over CURVE, the controller's own keypair; its key is
 *  registered as "service:controller" in ph:key:{Z85} when Redis connects)
 *  and keeps the opened key in memory, by wrapped key, for
 *  CTL_LOGKEYS_TTL_MS. Readers (ctl_logs_read.c) wait for it through a
 *  callback; several readers of one group share one request.
 *
 *  One DEALER talks to one logshipper at a time, picked from the registry
 *  (ph:logshippers); a request without an answer within
 *  CTL_LOGKEYS_TIMEOUT_MS fails its readers and the next request picks a
 *  logshipper anew.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

#define CTL_LOGKEYS_TIMEOUT_MS 5000
#define CTL_LOGKEYS_TTL_MS     (10 * 60 * 1000)
#define CTL_LOGKEYS_MAX        1000 /* cached keys; the cache is emptied past it */
#define CTL_LOGKEYS_ENDPOINT   256
#define CTL_LOGKEYS_RECV_BATCH 16

/*  Returns {endpoint, server_key} of one live logshipper, at random, or
 *  nil. */
static const char s_pick_lua[] =
    "local ids = redis.call('SMEMBERS', 'ph:logshippers')\n"
    "local n = #ids\n"
    "if n == 0 then return nil end\n"
    "local start = tonumber(ARGV[1]) % n\n"
    "for i = 0, n - 1 do\n"
    "  local id = ids[(start + i) % n + 1]\n"
    "  local h = redis.call('HMGET', 'ph:logshipper:{' .. id .. '}', 'endpoint', 'server_key')\n"
    "  if h[1] and h[2] then return h end\n"
    "end\n"
    "return nil\n";

typedef struct {
    ctl_logkey_fn *fn;
    void *arg;
} s_waiter_t;

typedef struct {
    uint8_t key[PH_AEAD_KEY_LEN];
    uint64_t expires_mono;
} s_key_t;

/*  One wrapped key being opened, and who waits for it. */
typedef struct {
    char *group, *wrapped;
    uint64_t request_id; /* 0: not sent yet */
    uint64_t deadline_mono;
    s_waiter_t *waiters;
    size_t n_waiters;
} s_fetch_t;

struct _ctl_logkeys_t {
    ctl_t *ctl;
    zhashx_t *keys;    /* wrapped -> s_key_t */
    zhashx_t *fetches; /* wrapped -> s_fetch_t */
    zsock_t *dealer;
    char endpoint[CTL_LOGKEYS_ENDPOINT];
    bool picking; /* a logshipper is being looked up */
    uint64_t next_request_id;
    unsigned picks;
};

static void s_key_destroy (void **item)
{
    s_key_t *k = *item;
    if (k)
        explicit_bzero (k->key, sizeof k->key);
    free (k);
    *item = NULL;
}

/*  Calls every waiter of f (key NULL: with why) and frees f. */
static void s_fetch_finish (s_fetch_t **f_p, const uint8_t *key, const char *why)
{
    s_fetch_t *f = *f_p;
    for (size_t i = 0; i < f->n_waiters; i++)
        f->waiters[i].fn (f->waiters[i].arg, key, why);
    free (f->waiters);
    free (f->group);
    free (f->wrapped);
    free (f);
    *f_p = NULL;
}

ctl_logkeys_t *ctl_logkeys_new (ctl_t *ctl)
{
    ctl_logkeys_t *self = calloc (1, sizeof *self);
    assert (self);
    self->ctl = ctl;
    self->keys = zhashx_new ();
    self->fetches = zhashx_new ();
    assert (self->keys && self->fetches);
    zhashx_set_destructor (self->keys, s_key_destroy);
    self->next_request_id = 1;
    return self;
}

static void s_drop_dealer (ctl_logkeys_t *self)
{
    if (!self->dealer)
        return;
    zloop_reader_end (self->ctl->loop, self->dealer);
    zsock_destroy (&self->dealer);
    self->endpoint[0] = 0;
}

/*  Fails every fetch (why) whose deadline passed, or all of them. */
static void s_fail_fetches (ctl_logkeys_t *self, bool all, const char *why)
{
    uint64_t now = ph_mono_ms ();
    zlistx_t *done = zlistx_new ();
    assert (done);
    for (s_fetch_t *f = zhashx_first (self->fetches); f; f = zhashx_next (self->fetches))
        if (all || now >= f->deadline_mono)
            zlistx_add_end (done, f);
    for (s_fetch_t *f = zlistx_first (done); f; f = zlistx_next (done)) {
        zhashx_delete (self->fetches, f->wrapped);
        s_fetch_finish (&f, NULL, why);
    }
    zlistx_destroy (&done);
}

void ctl_logkeys_destroy (ctl_logkeys_t **self_p)
{
    ctl_logkeys_t *self = *self_p;
    if (!self)
        return;
    s_fail_fetches (self, true, "the controller is shutting down");
    s_drop_dealer (self);
    zhashx_destroy (&self->keys);
    zhashx_destroy (&self->fetches);
    free (self);
    *self_p = NULL;
}

static void s_send (ctl_logkeys_t *self, s_fetch_t *f)
{
    Porthole__V1__OpenDataKey body = PORTHOLE__V1__OPEN_DATA_KEY__INIT;
    body.log_group = f->group;
    body.wrapped_key = f->wrapped;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = f->request_id = self->next_request_id++;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_OPEN_DATA_KEY;
    env.open_data_key = &body;
    if (ph_wire_send (self->dealer, NULL, 0, &env) != 0)
        ph_debug ("OpenDataKey for %s not queued; it times out", f->group);
}

static void s_on_reply (ctl_logkeys_t *self, const ph_env_t *env)
{
    s_fetch_t *f = NULL;
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_OPEN_DATA_KEY_REPLY) {
        const Porthole__V1__OpenDataKeyReply *r = env->open_data_key_reply;
        f = zhashx_lookup (self->fetches, r->wrapped_key);
        if (!f || r->data_key.len != PH_AEAD_KEY_LEN)
            return;
        s_key_t *k = calloc (1, sizeof *k);
        assert (k);
        memcpy (k->key, r->data_key.data, PH_AEAD_KEY_LEN);
        k->expires_mono = ph_mono_ms () + CTL_LOGKEYS_TTL_MS;
        if (zhashx_size (self->keys) >= CTL_LOGKEYS_MAX)
            zhashx_purge (self->keys);
        zhashx_update (self->keys, f->wrapped, k);
        zhashx_delete (self->fetches, f->wrapped);
        s_fetch_finish (&f, k->key, NULL);
        return;
    }
    if (env->body_case != PORTHOLE__V1__ENVELOPE__BODY_ERROR)
        return;
    for (s_fetch_t *x = zhashx_first (self->fetches); x; x = zhashx_next (self->fetches))
        if (x->request_id == env->request_id)
            f = x;
    if (!f)
        return;
    ph_warn ("a logshipper refused to open the data key of %s: %s: %s", f->group, env->error->code,
             env->error->message);
    zhashx_delete (self->fetches, f->wrapped);
    s_fetch_finish (&f, NULL, env->error->message);
}

static int s_on_dealer (zloop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    for (int i = 0; i < CTL_LOGKEYS_RECV_BATCH; i++) {
        ph_wire_rx_t rx;
        ph_env_t *env = NULL;
        char err[PH_ERRTEXT_MAX] = "";
        int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
        if (rc == 0)
            s_on_reply (arg, env);
        else if (rc != PH_EIO)
            ph_warn ("bad frame from logshipper: %s", err);
        ph_wire_free (&env);
        ph_wire_rx_close (&rx);
        if (rc == PH_EIO)
            break;
    }
    return 0;
}

static void s_on_picked (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    ctl_logkeys_t *self = arg;
    self->picking = false;
    const char *endpoint = ph_reply_str (ph_reply_at (reply, 0));
    const char *server_key = ph_reply_str (ph_reply_at (reply, 1));
    if (!endpoint || !server_key) {
        s_fail_fetches (self, true,
                        "no logshipper is registered to open the data key (is "
                        "porthole-logshipper running?)");
        return;
    }
    self->dealer = zsock_new (ZMQ_DEALER);
    assert (self->dealer);
    if (ph_keys_setup_client (self->dealer, &self->ctl->keys, server_key) != 0 ||
        zsock_connect (self->dealer, "%s", endpoint) != 0) {
        ph_warn ("cannot connect to logshipper %s", endpoint);
        zsock_destroy (&self->dealer);
        s_fail_fetches (self, true, "the registered logshipper cannot be reached");
        return;
    }
    snprintf (self->endpoint, sizeof self->endpoint, "%s", endpoint);
    zloop_reader (self->ctl->loop, self->dealer, s_on_dealer, self);
    for (s_fetch_t *f = zhashx_first (self->fetches); f; f = zhashx_next (self->fetches))
        s_send (self, f);
}

static void s_pick (ctl_logkeys_t *self)
{
    if (self->picking)
        return;
    self->picking = true;
    if (ph_redis_cmd (self->ctl->redis, s_on_picked, self, "EVAL %s 0 %u", s_pick_lua,
                      self->picks++) != 0) {
        self->picking = false;
        s_fail_fetches (self, true, "Redis is unreachable");
    }
}

void ctl_logkeys_open (ctl_t *ctl, const char *group, const char *wrapped, ctl_logkey_fn *fn,
                       void *arg)
{
    ctl_logkeys_t *self = ctl->logkeys;
    s_key_t *k = zhashx_lookup (self->keys, wrapped);
    if (k && ph_mono_ms () < k->expires_mono) {
        fn (arg, k->key, NULL);
        return;
    }
    s_fetch_t *f = zhashx_lookup (self->fetches, wrapped);
    if (!f) {
        f = calloc (1, sizeof *f);
        assert (f);
        f->group = strdup (group);
        f->wrapped = strdup (wrapped);
        assert (f->group && f->wrapped);
        f->deadline_mono = ph_mono_ms () + CTL_LOGKEYS_TIMEOUT_MS;
        zhashx_insert (self->fetches, wrapped, f);
        if (self->dealer)
            s_send (self, f);
        else
            s_pick (self);
    }
    f->waiters = realloc (f->waiters, (f->n_waiters + 1) * sizeof *f->waiters);
    assert (f->waiters);
    f->waiters[f->n_waiters++] = (s_waiter_t){fn, arg};
}

void ctl_logkeys_tick (ctl_t *ctl)
{
    ctl_logkeys_t *self = ctl->logkeys;
    size_t before = zhashx_size (self->fetches);
    s_fail_fetches (self, false,
                    "no logshipper opened the data key in time; try again (operators: check "
                    "that every logshipper has the log master key)");
    if (zhashx_size (self->fetches) < before)
        s_drop_dealer (self); /* the next request picks a logshipper anew */
}

static void s_on_key_registered (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    (void)arg;
    if (!ph_reply_ok (reply))
        ph_warn ("cannot register this controller's key for the logshippers; encrypted log "
                 "groups cannot be read until it is");
}

void ctl_logkeys_on_connected (ctl_t *ctl)
{
    ph_redis_cmd (ctl->redis, s_on_key_registered, NULL, "SET ph:key:{%s} %s", ctl->keys.public_z85,
                  CTL_SERVICE_IDENTITY);
}
