/*  Unit tests of agent/agent_register.c (`porthole-agent register`) against
 *  a fake controller in a zactor thread that answers Enroll according to
 *  the activation id. Checks the option checks, what Enroll carries, the
 *  files written on success (state dir 0700, agent.key 0600, agent.conf
 *  with controller, server_key, instance_id; the id on stdout), refusal of
 *  a registered dir without --force, and that a refused enrollment leaves
 *  nothing behind (and removes a state dir it created), with the exit code
 *  for each kind of answer. */
#include "agent.h"
#include "ph_config.h"
#include "ph_errors.h"
#include "ph_test.h"
#include "ph_util.h"
#include "ph_version.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define IID "mi-0123456789abcdef0"

static char s_dir[] = "/tmp/ph-test-agent-register-XXXXXX";
static ph_keypair_t s_server_kp;

/* ---- the fake controller --------------------------------------------------- */

static void s_answer (zsock_t *router, ph_wire_rx_t *rx, const ph_env_t *req, char *last,
                      size_t len)
{
    const Porthole__V1__Enroll *e = req->enroll;
    snprintf (last, len, "id=%s code=%s host=%s version=%s user=%s rid=%llu", e->activation_id,
              e->activation_code, e->hostname, e->agent_version, rx->user_id,
              (unsigned long long)req->request_id);
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = req->request_id;
    const char *id = e->activation_id;
    if (strcmp (id, "ok") == 0 || strcmp (id, "badid") == 0) {
        Porthole__V1__EnrollReply body = PORTHOLE__V1__ENROLL_REPLY__INIT;
        body.instance_id = strcmp (id, "ok") == 0 ? IID : "i-123";
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY;
        env.enroll_reply = &body;
        /* a stray answer first: it must be ignored */
        env.request_id = req->request_id + 1;
        ph_wire_send (router, rx->routing_id, rx->routing_id_len, &env);
        env.request_id = req->request_id;
        ph_wire_send (router, rx->routing_id, rx->routing_id_len, &env);
        return;
    }
    const char *code = strcmp (id, "bad") == 0        ? "InvalidActivation"
                       : strcmp (id, "throttle") == 0 ? "Throttled"
                                                      : "InternalError";
    ph_wire_send_error (router, rx->routing_id, rx->routing_id_len, req->request_id, code,
                        "porthole: %s for activation %s", code, id);
}

static void s_fake_actor (zsock_t *pipe, void *arg)
{
    (void)arg;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_curve_server (router, 1);
    zsock_set_curve_secretkey (router, s_server_kp.secret_z85);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    zsock_signal (pipe, 0);
    zstr_sendf (pipe, "%d", port);
    char last[1024] = "";
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    for (;;) {
        zsock_t *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            char *cmd = zstr_recv (pipe);
            bool stop = !cmd || strcmp (cmd, "$TERM") == 0;
            if (cmd && strcmp (cmd, "LAST") == 0)
                zstr_send (pipe, last);
            zstr_free (&cmd);
            if (stop)
                break;
        } else if (which == router) {
            ph_wire_rx_t rx;
            ph_env_t *env = NULL;
            char err[PH_ERRTEXT_MAX];
            if (ph_wire_recv (router, true, &rx, &env, err, sizeof err) == 0 &&
                env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ENROLL)
                s_answer (router, &rx, env, last, sizeof last);
            ph_wire_free (&env);
            ph_wire_rx_close (&rx);
        } else
            break;
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

/* ---- running register ------------------------------------------------------- */

typedef struct {
    int rc;
    char out[256];
    char err[2048];
} run_t;

static int s_tmpfile (void)
{
    char path[] = "/tmp/ph-test-agent-register-out-XXXXXX";
    int fd = mkstemp (path);
    unlink (path);
    return fd;
}

static void s_register (const ph_agent_register_opts_t *o, run_t *r)
{
    int out = s_tmpfile (), err = s_tmpfile ();
    fflush (stdout);
    fflush (stderr);
    int so = dup (1), se = dup (2);
    dup2 (out, 1);
    dup2 (err, 2);
    r->rc = ph_agent_register (o);
    fflush (stdout);
    fflush (stderr);
    dup2 (so, 1);
    dup2 (se, 2);
    close (so);
    close (se);
    ssize_t n = pread (out, r->out, sizeof r->out - 1, 0);
    r->out[n > 0 ? n : 0] = 0;
    n = pread (err, r->err, sizeof r->err - 1, 0);
    r->err[n > 0 ? n : 0] = 0;
    close (out);
    close (err);
}

static void s_expect_in (const char *what, const char *text, const char *want)
{
    if (!strstr (text, want)) {
        fprintf (stderr, "%s: '%s' lacks '%s'\n", what, text, want);
        CHECK (false);
    } else
        CHECK (true);
}

static unsigned s_mode (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 ? st.st_mode & 0777 : 0xFFFF;
}

/* ---- tests --------------------------------------------------------------------- */

static void test_options (ph_agent_register_opts_t base)
{
    run_t r;
    ph_agent_register_opts_t o = base;
    o.activation_code = NULL;
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in ("missing", r.err, "register needs --controller, --server-key");
    o = base;
    o.controller = "udp://127.0.0.1:7610";
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in ("controller", r.err, "is not an endpoint like tcp://HOST:7610");
    o = base;
    o.server_key = "short";
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in ("key", r.err, "40 Z85 characters");
    o = base;
    o.activation_id = "";
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    char code[300];
    memset (code, 'c', 257);
    code[257] = 0;
    o = base;
    o.activation_code = code;
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    CHECK (access (base.state_dir, F_OK) != 0); /* nothing made */
}

static void test_success (ph_agent_register_opts_t o, zactor_t *fake)
{
    run_t r;
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK_STR (r.out, IID "\n");
    s_expect_in ("stderr", r.err, "porthole-agent run --state-dir");
    zstr_send (fake, "LAST");
    char *last = zstr_recv (fake);
    ph_agent_facts_t facts;
    ph_agent_facts_collect (&facts);
    char want[512];
    snprintf (want, sizeof want, "id=ok code=S3cret host=%s version=%s user= rid=", facts.hostname,
              PH_VERSION);
    s_expect_in ("enroll", last, want);
    zstr_free (&last);

    char conf[256], key[256];
    snprintf (conf, sizeof conf, "%s/agent.conf", o.state_dir);
    snprintf (key, sizeof key, "%s/agent.key", o.state_dir);
    CHECK (s_mode (o.state_dir) == 0700);
    CHECK (s_mode (key) == 0600);
    CHECK (s_mode (conf) == 0600);
    ph_keypair_t kp;
    CHECK (ph_keys_load (key, &kp) == 0);
    ph_config_t *c = ph_config_load (conf, NULL, 0);
    CHECK (c != NULL);
    CHECK_STR (ph_config_get (c, "", "controller"), o.controller);
    CHECK_STR (ph_config_get (c, "", "server_key"), o.server_key);
    CHECK_STR (ph_config_get (c, "", "instance_id"), IID);
    ph_config_destroy (&c);

    /* registered already: refused without --force, nothing changes */
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_USAGE);
    s_expect_in ("again", r.err, "holds a registration already");
    s_expect_in ("again", r.err, "--force");
    /* --force with a refused activation: the old registration stays */
    o.force = true;
    o.activation_id = "bad";
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_DENIED);
    s_expect_in ("bad", r.err, "porthole: InvalidActivation for activation bad");
    ph_keypair_t still;
    CHECK (ph_keys_load (key, &still) == 0 && strcmp (still.public_z85, kp.public_z85) == 0);
    /* --force with a good one: a new key and the same files */
    o.activation_id = "ok";
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_OK);
    CHECK (ph_keys_load (key, &still) == 0 && strcmp (still.public_z85, kp.public_z85) != 0);
}

/*  A refused enrollment into a new dir: exit code, and no dir left. */
static void s_expect_nothing_left (ph_agent_register_opts_t o, const char *activation, int code,
                                   const char *want)
{
    run_t r;
    o.activation_id = activation;
    s_register (&o, &r);
    CHECK (r.rc == code);
    s_expect_in (activation, r.err, want);
    CHECK_STR (r.out, "");
    CHECK (access (o.state_dir, F_OK) != 0);
}

int main (void)
{
    zsys_init ();
    zsys_handler_set (NULL);
    if (!mkdtemp (s_dir))
        return 1;
    ph_keys_generate (&s_server_kp);
    zactor_t *fake = zactor_new (s_fake_actor, NULL);
    char *port = zstr_recv (fake);
    char endpoint[64], state[128], fresh[128], file[128];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%s", port);
    zstr_free (&port);
    snprintf (state, sizeof state, "%s/a/state", s_dir);
    snprintf (fresh, sizeof fresh, "%s/fresh", s_dir);
    snprintf (file, sizeof file, "%s/plainfile", s_dir);

    ph_agent_register_opts_t o = {.controller = endpoint,
                                  .server_key = s_server_kp.public_z85,
                                  .activation_id = "ok",
                                  .activation_code = "S3cret",
                                  .state_dir = state};
    test_options (o);
    test_success (o, fake);

    o.state_dir = fresh;
    s_expect_nothing_left (o, "bad", PH_EXIT_DENIED, "InvalidActivation");
    s_expect_nothing_left (o, "throttle", PH_EXIT_UNAVAIL, "Throttled");
    s_expect_nothing_left (o, "other", PH_EXIT_API, "InternalError");
    s_expect_nothing_left (o, "badid", PH_EXIT_API, "answered with an invalid instance id");

    /* the state dir is a file */
    ph_file_write (file, "x", 1, 0600);
    o.state_dir = file;
    run_t r;
    s_register (&o, &r);
    CHECK (r.rc == PH_EXIT_CONFIG);
    s_expect_in ("file", r.err, "is not a directory");

    zactor_destroy (&fake);
    char cmd[128];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", s_dir);
    CHECK (system (cmd) == 0);
    PH_TEST_END ();
}
