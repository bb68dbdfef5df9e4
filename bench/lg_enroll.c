/*  lg_enroll: the enrollment child of ph-loadgen.
 *
 *  The agents that the state directory lacks are enrolled the way
 *  `porthole-agent register` does it (agent/agent_register.c): a fresh
 *  CURVE keypair, a DEALER to the agents port, Enroll{activation id, code,
 *  host facts}, EnrollReply{instance id}. The activation comes from
 *  CreateActivation with the stack's admin key and a registration limit of
 *  exactly the number missing (in activations of at most 1,000, the
 *  controller's cap). Up to --enroll-parallel enrollments are in
 *  flight at once; the state file is saved as they complete, so an
 *  interrupted enrollment keeps what it got.
 *
 *  This is a one-shot child process: the CreateActivation round trip
 *  blocks; the enrollments run on an lg_loop.
 */
#include "lg.h"
#include "ph_random.h"
#include "ph_errors.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_version.h"

#include <stdio.h>
#include <string.h>

#define LG_ENROLL_SAVE_EVERY 500
#define LG_ENROLL_LOG_EVERY  1000
#define LG_ENROLL_TOTAL_MS   (30 * 60 * 1000)
#define LG_ACTIVATION_TTL_S  3600
#define LG_ACT_MAX           256
#define LG_ACT_LIMIT_MAX     1000 /* the controller's cap per activation */

zsock_t *lg_dealer_new (const ph_keypair_t *kp, const char *server_key, bool immediate)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    if (ph_keys_setup_client (sock, kp, server_key) != 0) {
        zsock_destroy (&sock);
        return NULL;
    }
    uint16_t r = 0;
    ph_random_bytes (&r, sizeof r);
    zsock_set_reconnect_ivl (sock, LG_RECONNECT_MIN + r % (LG_RECONNECT_SPAN + 1));
    zsock_set_reconnect_ivl_max (sock, LG_RECONNECT_MAX);
    zsock_set_immediate (sock, immediate ? 1 : 0);
    zsock_set_sndhwm (sock, LG_SNDHWM);
    zsock_set_linger (sock, 0);
    return sock;
}

int lg_admin_key (const lg_opts_t *o, ph_keypair_t *kp)
{
    int rc = ph_keys_load (o->admin_key_file, kp);
    if (rc != 0)
        fprintf (stderr,
                 LG_PROGRAM ": cannot read the admin key %s (%s); give --stack DIR of a "
                            "porthole-dev stack or --admin-key FILE (mode 0600)\n",
                 o->admin_key_file, rc == PH_ENOENT ? "missing" : "malformed or not 0600");
    return rc;
}

/* ---- CreateActivation (blocking) ----------------------------------------- */

/*  Sends req on sock and waits for the reply with its request id. */
static int s_call (zsock_t *sock, ph_env_t *req, ph_env_t **reply)
{
    req->version = PH_WIRE_VERSION;
    if (ph_wire_send (sock, NULL, 0, req) != 0)
        return PH_EIO;
    uint64_t deadline = ph_mono_ms () + LG_REQUEST_WAIT_MS;
    while (ph_mono_ms () < deadline) {
        zmq_pollitem_t item = {zsock_resolve (sock), 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, (long)(deadline - ph_mono_ms ())) <= 0)
            continue;
        ph_wire_rx_t rx;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (sock, false, &rx, reply, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc == 0 && (*reply)->request_id == req->request_id)
            return 0;
        ph_wire_free (reply);
    }
    return PH_ETIMEOUT;
}

static int s_create_activation (const lg_opts_t *o, unsigned limit, char *id, char *code)
{
    ph_keypair_t admin;
    if (lg_admin_key (o, &admin) != 0)
        return PH_EXIT_CONFIG;
    zsock_t *sock = lg_dealer_new (&admin, o->server_key, false);
    if (!sock || zsock_connect (sock, "%s", o->client_endpoint) != 0) {
        fprintf (stderr, LG_PROGRAM ": cannot connect to %s; check --client-endpoint\n",
                 o->client_endpoint);
        zsock_destroy (&sock);
        return PH_EXIT_USAGE;
    }
    Porthole__V1__Tag tag = PORTHOLE__V1__TAG__INIT, *tags[1] = {&tag};
    tag.key = "loadgen";
    tag.value = "true";
    Porthole__V1__CreateActivationRequest body = PORTHOLE__V1__CREATE_ACTIVATION_REQUEST__INIT;
    body.n_tags = 1;
    body.tags = tags;
    body.registration_limit = limit;
    body.expires_in_s = LG_ACTIVATION_TTL_S;
    body.description = "ph-loadgen";
    ph_env_t env = PH_ENV_INIT, *reply = NULL;
    env.request_id = 1;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION;
    env.create_activation = &body;
    int rc = PH_EXIT_OK;
    if (s_call (sock, &env, &reply) != 0) {
        fprintf (stderr,
                 LG_PROGRAM ": no answer to CreateActivation from %s within %d s; is the "
                            "controller running and --server-key its key?\n",
                 o->client_endpoint, LG_REQUEST_WAIT_MS / 1000);
        rc = PH_EXIT_UNAVAIL;
    } else if (reply->body_case != PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY) {
        fprintf (stderr, LG_PROGRAM ": CreateActivation refused: %s; is %s an admin key?\n",
                 reply->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR ? reply->error->message
                                                                        : "unexpected reply",
                 o->admin_key_file);
        rc = PH_EXIT_DENIED;
    } else {
        snprintf (id, LG_ACT_MAX, "%s", reply->create_activation_reply->activation_id);
        snprintf (code, LG_ACT_MAX, "%s", reply->create_activation_reply->activation_code);
    }
    ph_wire_free (&reply);
    zsock_destroy (&sock);
    return rc;
}

/* ---- Enroll (concurrent) -------------------------------------------------- */

typedef struct _s_enroll_t s_enroll_t;

typedef struct {
    s_enroll_t *e;
    zsock_t *sock;
    lg_watch_t *watch;
    ph_keypair_t kp;
    uint64_t deadline_us;
} s_slot_t;

struct _s_enroll_t {
    const lg_opts_t *o;
    lg_loop_t *loop;
    lg_state_t st;
    s_slot_t *slots;
    size_t n_slots;
    char (*act_id)[LG_ACT_MAX], (*act_code)[LG_ACT_MAX]; /* one per LG_ACT_LIMIT_MAX */
    size_t n_acts;
    size_t want, started, done, failed, saved;
    bool fatal;
};

static void s_slot_free (s_slot_t *slot)
{
    if (slot->watch)
        lg_loop_unwatch (slot->e->loop, &slot->watch);
    zsock_destroy (&slot->sock);
    memset (&slot->kp, 0, sizeof slot->kp);
}

static void s_on_enrolled (s_slot_t *slot, const ph_env_t *env)
{
    s_enroll_t *e = slot->e;
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY &&
        ph_instance_id_valid (env->enroll_reply->instance_id)) {
        lg_state_add (&e->st, env->enroll_reply->instance_id, &slot->kp);
        e->done++;
        if (e->done % LG_ENROLL_LOG_EVERY == 0)
            fprintf (stderr, LG_PROGRAM ": enrolled %zu of %zu agents\n", e->done, e->want);
        if (e->st.count - e->saved >= LG_ENROLL_SAVE_EVERY && lg_state_save (e->o, &e->st) == 0)
            e->saved = e->st.count;
    } else {
        const char *why = env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR
                              ? env->error->message
                              : ph_wire_body_name (env->body_case);
        if (e->failed++ < 5)
            fprintf (stderr, LG_PROGRAM ": an enrollment failed: %s\n", why);
        if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR &&
            (strcmp (env->error->code, "Throttled") == 0 ||
             strcmp (env->error->code, "InvalidActivation") == 0))
            e->fatal = true;
    }
    s_slot_free (slot);
}

static void s_on_reply (lg_loop_t *loop, zsock_t *sock, void *arg)
{
    (void)loop;
    s_slot_t *slot = arg;
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX];
    int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
    ph_wire_rx_close (&rx);
    if (rc == 0)
        s_on_enrolled (slot, env);
    ph_wire_free (&env);
}

static int s_slot_start (s_enroll_t *e, s_slot_t *slot)
{
    slot->e = e;
    if (ph_keys_generate (&slot->kp) != 0)
        return PH_EIO;
    slot->sock = lg_dealer_new (&slot->kp, e->o->server_key, false);
    if (!slot->sock || zsock_connect (slot->sock, "%s", e->o->agent_endpoint) != 0)
        return PH_EIO;
    char host[64];
    snprintf (host, sizeof host, "loadgen-%zu", e->started);
    Porthole__V1__Enroll body = PORTHOLE__V1__ENROLL__INIT;
    body.activation_id = e->act_id[e->started / LG_ACT_LIMIT_MAX];
    body.activation_code = e->act_code[e->started / LG_ACT_LIMIT_MAX];
    body.hostname = host;
    body.platform = "ph-loadgen";
    body.agent_version = PH_VERSION;
    body.ip = "127.0.0.1";
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = 1;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ENROLL;
    env.enroll = &body;
    if (ph_wire_send (slot->sock, NULL, 0, &env) != 0)
        return PH_EIO;
    slot->watch = lg_loop_watch (e->loop, slot->sock, s_on_reply, slot);
    slot->deadline_us = lg_now_us () + LG_ENROLL_WAIT_MS * 1000ull;
    e->started++;
    return slot->watch ? 0 : PH_EIO;
}

/*  Starts enrollments in idle slots, times out stuck ones. Returns the
 *  number in flight. */
static size_t s_fill_slots (s_enroll_t *e)
{
    size_t busy = 0;
    uint64_t now = lg_now_us ();
    for (size_t i = 0; i < e->n_slots; i++) {
        s_slot_t *slot = &e->slots[i];
        if (slot->sock && now > slot->deadline_us) {
            if (e->failed++ < 5)
                fprintf (stderr, LG_PROGRAM ": an enrollment got no answer within %d s\n",
                         LG_ENROLL_WAIT_MS / 1000);
            s_slot_free (slot);
        }
        if (!slot->sock && !e->fatal && e->started < e->want && s_slot_start (e, slot) != 0) {
            fprintf (stderr, LG_PROGRAM ": cannot open a socket to %s (out of file descriptors?)\n",
                     e->o->agent_endpoint);
            s_slot_free (slot);
            e->fatal = true;
        }
        busy += slot->sock != NULL;
    }
    return busy;
}

static int s_enroll_all (s_enroll_t *e)
{
    uint64_t give_up = lg_now_us () + LG_ENROLL_TOTAL_MS * 1000ull;
    while (!zsys_interrupted && lg_now_us () < give_up) {
        if (s_fill_slots (e) == 0)
            break;
        if (lg_loop_once (e->loop, LG_TICK_MS) != 0)
            break;
    }
    for (size_t i = 0; i < e->n_slots; i++)
        s_slot_free (&e->slots[i]);
    if (lg_state_save (e->o, &e->st) != 0) {
        fprintf (stderr, LG_PROGRAM ": cannot write the state to %s; check the directory\n",
                 e->o->state_dir);
        return PH_EXIT_CONFIG;
    }
    if (e->done < e->want) {
        fprintf (stderr,
                 LG_PROGRAM ": only %zu of %zu agents enrolled (%zu failed); see the "
                            "controller's log, then run again (enrolled agents are kept in %s)\n",
                 e->done, e->want, e->failed, e->o->state_dir);
        return PH_EXIT_API;
    }
    return PH_EXIT_OK;
}

int lg_enroll_run (const lg_opts_t *o)
{
    zsys_set_max_sockets (0);
    s_enroll_t e = {.o = o};
    char err[512];
    if (lg_state_load (o, &e.st, err, sizeof err) != 0) {
        fprintf (stderr, LG_PROGRAM ": %s\n", err);
        return PH_EXIT_CONFIG;
    }
    e.saved = e.st.count;
    if (e.st.count >= o->agents) {
        lg_state_free (&e.st);
        return PH_EXIT_OK;
    }
    e.want = o->agents - e.st.count;
    fprintf (stderr, LG_PROGRAM ": enrolling %zu agents (%zu kept in %s)\n", e.want, e.st.count,
             o->state_dir);
    e.n_acts = (e.want + LG_ACT_LIMIT_MAX - 1) / LG_ACT_LIMIT_MAX;
    e.act_id = calloc (e.n_acts, sizeof *e.act_id);
    e.act_code = calloc (e.n_acts, sizeof *e.act_code);
    int rc = e.act_id && e.act_code ? PH_EXIT_OK : PH_EXIT_CONFIG;
    for (size_t i = 0; i < e.n_acts && rc == PH_EXIT_OK; i++) {
        size_t left = e.want - i * LG_ACT_LIMIT_MAX;
        rc = s_create_activation (o, (unsigned)(left < LG_ACT_LIMIT_MAX ? left : LG_ACT_LIMIT_MAX),
                                  e.act_id[i], e.act_code[i]);
    }
    if (rc == PH_EXIT_OK) {
        e.loop = lg_loop_new ();
        e.n_slots = o->enroll_parallel;
        e.slots = calloc (e.n_slots, sizeof *e.slots);
        rc = e.loop && e.slots ? s_enroll_all (&e) : PH_EXIT_CONFIG;
        free (e.slots);
        lg_loop_destroy (&e.loop);
    }
    free (e.act_id);
    free (e.act_code);
    lg_state_free (&e.st);
    return rc;
}
