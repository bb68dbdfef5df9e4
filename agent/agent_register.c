/*  agent_register: `porthole-agent register` (DESIGN.md §2, hybrid
 *  activation). Generates the agent's CURVE keypair, sends Enroll to the
 *  controller over a CURVE DEALER and, only when the controller answers
 *  EnrollReply, writes agent.key and agent.conf into the state directory.
 *  A refused or unanswered enrollment leaves nothing behind.
 *
 *  This is a one-shot command, not a daemon: it blocks (on the disk and on
 *  the controller's answer, at most PH_AGENT_ENROLL_WAIT_S).
 */
#include "agent.h"
#include "ph_config.h"
#include "ph_errors.h"
#include "ph_keys.h"
#include "ph_util.h"
#include "ph_version.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PH_REGISTER_REQUEST_ID 1

typedef struct {
    const ph_agent_register_opts_t *opts;
    char conf_path[4096];
    char key_path[4096];
    bool created_dir;
} s_register_t;

static int s_fail (int code, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static int s_fail (int code, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fprintf (stderr, "%s: ", PH_AGENT_PROGRAM);
    vfprintf (stderr, fmt, ap);
    fprintf (stderr, "\n");
    va_end (ap);
    return code;
}

static int s_check_opts (const ph_agent_register_opts_t *o)
{
    if (!o->controller || !o->server_key || !o->activation_id || !o->activation_code)
        return s_fail (PH_EXIT_USAGE,
                       "register needs --controller, --server-key, --activation-id and "
                       "--activation-code; see porthole-agent register --help");
    if (ph_agent_endpoints_parse (o->controller, NULL, PH_AGENT_ENDPOINTS_MAX) < 0)
        return s_fail (PH_EXIT_USAGE,
                       "--controller %s is not an endpoint like tcp://HOST:7610 (the "
                       "controller's agents port), or up to %d of them separated by commas",
                       o->controller, PH_AGENT_ENDPOINTS_MAX);
    if (!ph_keys_z85_valid (o->server_key))
        return s_fail (PH_EXIT_USAGE,
                       "--server-key must be the controller's public key: 40 Z85 characters, "
                       "as printed by porthole-controller keygen");
    if (!*o->activation_id || !*o->activation_code || strlen (o->activation_id) > 256 ||
        strlen (o->activation_code) > 256)
        return s_fail (PH_EXIT_USAGE, "--activation-id and --activation-code must be the "
                                      "values printed by porthole create-activation");
    return 0;
}

/*  Refuses a state directory that holds a registration already (unless
 *  --force) and creates the directory when missing. */
static int s_prepare_dir (s_register_t *r)
{
    const char *dir = r->opts->state_dir;
    snprintf (r->conf_path, sizeof r->conf_path, "%s/%s", dir, PH_AGENT_CONF_NAME);
    snprintf (r->key_path, sizeof r->key_path, "%s/%s", dir, PH_AGENT_KEY_NAME);
    if (!r->opts->force && (access (r->conf_path, F_OK) == 0 || access (r->key_path, F_OK) == 0))
        return s_fail (PH_EXIT_USAGE,
                       "%s holds a registration already (%s); to register this machine again "
                       "as a new instance, add --force",
                       dir, access (r->conf_path, F_OK) == 0 ? r->conf_path : r->key_path);
    struct stat st;
    if (stat (dir, &st) == 0) {
        if (!S_ISDIR (st.st_mode))
            return s_fail (PH_EXIT_CONFIG, "%s is not a directory; choose another --state-dir",
                           dir);
    } else if (ph_mkdir_p (dir, 0700) != 0) {
        return s_fail (PH_EXIT_CONFIG,
                       "cannot create the state directory %s: %s; run as root "
                       "or choose another --state-dir",
                       dir, strerror (errno));
    } else
        r->created_dir = true;
    if (access (dir, W_OK) != 0)
        return s_fail (PH_EXIT_CONFIG,
                       "cannot write to %s: %s; run as root or choose another "
                       "--state-dir",
                       dir, strerror (errno));
    return 0;
}

static int s_send_enroll (zsock_t *dealer, const ph_agent_register_opts_t *o)
{
    ph_agent_facts_t facts;
    ph_agent_facts_collect (&facts);
    Porthole__V1__Enroll enroll = PORTHOLE__V1__ENROLL__INIT;
    enroll.activation_id = (char *)o->activation_id;
    enroll.activation_code = (char *)o->activation_code;
    enroll.hostname = facts.hostname;
    enroll.platform = facts.platform;
    enroll.agent_version = PH_VERSION;
    enroll.ip = facts.ip;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = PH_REGISTER_REQUEST_ID;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ENROLL;
    env.enroll = &enroll;
    return ph_wire_send (dealer, NULL, 0, &env);
}

/*  Waits for the answer to Enroll. Returns 0 with *env set (EnrollReply or
 *  Error), or PH_ETIMEOUT. */
static int s_wait_reply (zsock_t *dealer, ph_env_t **env)
{
    int64_t deadline = zclock_mono () + PH_AGENT_ENROLL_WAIT_S * 1000;
    while (zclock_mono () < deadline) {
        zmq_pollitem_t item = {zsock_resolve (dealer), 0, ZMQ_POLLIN, 0};
        long left = (long)(deadline - zclock_mono ());
        if (left <= 0 || zmq_poll (&item, 1, left) <= 0)
            continue;
        ph_wire_rx_t rx;
        char err[PH_ERRTEXT_MAX];
        int rc = ph_wire_recv (dealer, false, &rx, env, err, sizeof err);
        ph_wire_rx_close (&rx);
        if (rc != 0) {
            if (rc != PH_EIO)
                fprintf (stderr, "%s: ignoring a bad frame from the controller: %s\n",
                         PH_AGENT_PROGRAM, err);
            continue;
        }
        if ((*env)->request_id == PH_REGISTER_REQUEST_ID &&
            ((*env)->body_case == PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY ||
             (*env)->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR))
            return 0;
        ph_wire_free (env);
    }
    return PH_ETIMEOUT;
}

/*  Maps the controller's Error to an exit code, after saying what it is. */
static int s_on_error (const Porthole__V1__Error *e)
{
    int code = PH_EXIT_API;
    if (strcmp (e->code, "InvalidActivation") == 0 || strcmp (e->code, "AccessDenied") == 0)
        code = PH_EXIT_DENIED;
    else if (strcmp (e->code, "Throttled") == 0 || strcmp (e->code, "Unavailable") == 0)
        code = PH_EXIT_UNAVAIL;
    if (e->message && *e->message)
        return s_fail (code, "%s", e->message);
    return s_fail (code, "the controller refused the enrollment (%s)", e->code);
}

static int s_save (s_register_t *r, const ph_keypair_t *kp, const char *instance_id)
{
    const ph_agent_register_opts_t *o = r->opts;
    ph_config_t *conf = ph_config_new ();
    if (!conf)
        return s_fail (PH_EXIT_CONFIG, "out of memory");
    ph_config_set (conf, "", "controller", o->controller);
    ph_config_set (conf, "", "server_key", o->server_key);
    ph_config_set (conf, "", "instance_id", instance_id);
    int rc = 0;
    if (ph_keys_save (kp, r->key_path) != 0) {
        rc = s_fail (PH_EXIT_CONFIG,
                     "registered as %s but cannot write %s: %s; fix the "
                     "directory and register again with --force",
                     instance_id, r->key_path, strerror (errno));
    } else if (ph_config_save (conf, r->conf_path, 0600) != 0) {
        rc = s_fail (PH_EXIT_CONFIG,
                     "registered as %s but cannot write %s: %s; fix the "
                     "directory and register again with --force",
                     instance_id, r->conf_path, strerror (errno));
        unlink (r->key_path);
    }
    ph_config_destroy (&conf);
    return rc;
}

static int s_enroll (s_register_t *r, const ph_keypair_t *kp)
{
    const ph_agent_register_opts_t *o = r->opts;
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return s_fail (PH_EXIT_UNAVAIL, "cannot create a ZeroMQ socket: %s",
                       zmq_strerror (zmq_errno ()));
    int rc = PH_EXIT_OK;
    ph_env_t *env = NULL;
    char eps[PH_AGENT_ENDPOINTS_MAX][PH_AGENT_ENDPOINT_LEN], *first = eps[0];
    ph_agent_endpoints_parse (o->controller, eps, PH_AGENT_ENDPOINTS_MAX); /* checked before */
    if (ph_keys_setup_client (dealer, kp, o->server_key) != 0 ||
        zsock_connect (dealer, "%s", first) != 0) {
        rc = s_fail (PH_EXIT_USAGE, "cannot connect to %s: %s; use --controller tcp://HOST:7610",
                     first, zmq_strerror (zmq_errno ()));
        goto out_close;
    }
    if (s_send_enroll (dealer, o) != 0 || s_wait_reply (dealer, &env) != 0) {
        rc = s_fail (PH_EXIT_UNAVAIL,
                     "no answer from the controller at %s within %d s; check --controller and "
                     "--server-key (the controller's public key)",
                     first, PH_AGENT_ENROLL_WAIT_S);
        goto out_close;
    }
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        rc = s_on_error (env->error);
        goto out_close;
    }
    const char *id = env->enroll_reply->instance_id;
    if (!ph_instance_id_valid (id)) {
        rc = s_fail (PH_EXIT_API,
                     "the controller answered with an invalid instance id; is %s a "
                     "porthole controller of the same version (%s)?",
                     first, PH_VERSION);
        goto out_close;
    }
    rc = s_save (r, kp, id);
    if (rc == 0) {
        fprintf (stderr,
                 "%s: registered with %s; state in %s; start the daemon with: "
                 "porthole-agent run --state-dir %s\n",
                 PH_AGENT_PROGRAM, o->controller, o->state_dir, o->state_dir);
        printf ("%s\n", id);
        fflush (stdout);
    }
out_close:
    ph_wire_free (&env);
    zsock_destroy (&dealer);
    return rc;
}

int ph_agent_register (const ph_agent_register_opts_t *opts)
{
    s_register_t r = {.opts = opts};
    int rc = s_check_opts (opts);
    if (rc != 0)
        return rc;
    rc = s_prepare_dir (&r);
    if (rc != 0)
        return rc;
    ph_keypair_t kp;
    if (ph_keys_generate (&kp) != 0) {
        rc = s_fail (PH_EXIT_CONFIG, "cannot generate a CURVE keypair: is libzmq built with "
                                     "libsodium (CURVE)?");
    } else
        rc = s_enroll (&r, &kp);
    if (rc != 0 && r.created_dir)
        rmdir (opts->state_dir);
    memset (&kp, 0, sizeof kp);
    return rc;
}
