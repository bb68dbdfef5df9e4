/*  ctl_req: the context that a request carries through its Redis
 *  callbacks, and the few helpers that every handler uses to answer.
 *
 *  A handler that needs Redis makes a ctl_req_t (a copy of the peer's
 *  routing id, the request id, the identity and the decoded request),
 *  passes it as the callback argument, and ends every path with exactly
 *  one ctl_req_reply or ctl_req_fail, which also free it. Redis trouble is
 *  answered too (Unavailable / InternalError): a client never waits for a
 *  reply that will not come. A request marked for the audit (req->audit)
 *  appends its event there, with the result it was answered.
 */
#include "ctl.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ctl_req_t *ctl_req_new (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_req_t *req = calloc (1, sizeof *req);
    assert (req);
    req->ctl = ctl;
    req->port = msg->port;
    req->rid_len = msg->rx->routing_id_len;
    memcpy (req->rid, msg->rx->routing_id, req->rid_len);
    req->env = msg->env;
    msg->env = NULL;
    req->request_id = req->env ? req->env->request_id : 0;
    req->peer = msg->peer;
    snprintf (req->name, sizeof req->name, "%s", msg->name);
    snprintf (req->key, sizeof req->key, "%s", msg->key);
    const char *addr = msg->rx->has_frame ? zmq_msg_gets (&msg->rx->frame, "Peer-Address") : NULL;
    snprintf (req->addr, sizeof req->addr, "%s", addr ? addr : "?");
    return req;
}

void ctl_req_destroy (ctl_req_t **req_p)
{
    if (!req_p || !*req_p)
        return;
    ctl_req_t *req = *req_p;
    ph_wire_free (&req->env);
    ctl_principal_destroy (&req->principal);
    if (req->data && req->data_free)
        req->data_free (req->data);
    free (req);
    *req_p = NULL;
}

void ctl_req_reply (ctl_req_t **req_p, ph_env_t *env)
{
    ctl_req_t *req = *req_p;
    zsock_t *sock = ctl_sock (req->ctl, req->port);
    env->version = PH_WIRE_VERSION;
    env->request_id = req->request_id;
    int rc = ph_wire_send (sock, req->rid, req->rid_len, env);
    if (rc == PH_ETOOBIG)
        ph_wire_send_error (sock, req->rid, req->rid_len, req->request_id, CTL_E_INVALID_REQUEST,
                            "porthole: the answer is over the %d-byte message limit; narrow the "
                            "request with filters or max results",
                            PH_MSG_MAX);
    else if (rc)
        ph_debug ("reply to %s dropped (peer gone or queue full)", req->name);
    if (req->audit)
        ctl_audit_req (req, rc == PH_ETOOBIG ? CTL_E_INVALID_REQUEST : "Success");
    ctl_req_destroy (req_p);
}

void ctl_req_fail (ctl_req_t **req_p, const char *code, const char *fmt, ...)
{
    ctl_req_t *req = *req_p;
    char text[PH_ERRTEXT_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    ph_debug ("%s %s: %s", code, req->name, text);
    ph_wire_send_error (ctl_sock (req->ctl, req->port), req->rid, req->rid_len, req->request_id,
                        code, "%s", text);
    if (req->audit)
        ctl_audit_req (req, code);
    ctl_req_destroy (req_p);
}

bool ctl_req_queued (ctl_req_t **req_p, int rc)
{
    if (rc == 0)
        return true;
    ctl_req_fail (req_p, CTL_E_UNAVAILABLE,
                  "porthole: the controller cannot reach Redis right now; try again in a few "
                  "seconds (operators: check redis-server)");
    return false;
}

bool ctl_req_reply_ok (ctl_req_t **req_p, const ph_reply_t *reply)
{
    if (!reply) {
        ctl_req_fail (req_p, CTL_E_UNAVAILABLE,
                      "porthole: the controller lost its Redis connection during the request; "
                      "try again in a few seconds");
        return false;
    }
    if (ph_reply_is_error (reply)) {
        ph_error ("redis: %s", ph_reply_str (reply));
        ctl_req_fail (req_p, CTL_E_INTERNAL,
                      "porthole: the controller's store failed the request; operators: see the "
                      "controller log");
        return false;
    }
    return true;
}

void ctl_argv_init (ctl_argv_t *a)
{
    memset (a, 0, sizeof *a);
}

static void s_argv_push (ctl_argv_t *a, char *s, size_t len)
{
    if (a->argc == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 16;
        a->argv = realloc (a->argv, (size_t)a->cap * sizeof *a->argv);
        a->len = realloc (a->len, (size_t)a->cap * sizeof *a->len);
        assert (a->argv && a->len);
    }
    a->argv[a->argc] = s;
    a->len[a->argc] = len;
    a->argc++;
}

void ctl_argv_add (ctl_argv_t *a, const char *s)
{
    char *copy = strdup (s ? s : "");
    assert (copy);
    s_argv_push (a, copy, strlen (copy));
}

void ctl_argv_addf (ctl_argv_t *a, const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start (ap, fmt);
    int n = vasprintf (&s, fmt, ap);
    va_end (ap);
    assert (n >= 0);
    s_argv_push (a, s, (size_t)n);
}

int ctl_argv_send (ctl_argv_t *a, ph_redis_t *redis, ph_redis_fn *fn, void *arg)
{
    int rc = ph_redis_cmdargv (redis, fn, arg, a->argc, (const char **)a->argv, a->len);
    ctl_argv_free (a);
    return rc;
}

void ctl_argv_free (ctl_argv_t *a)
{
    for (int i = 0; i < a->argc; i++)
        free (a->argv[i]);
    free (a->argv);
    free (a->len);
    memset (a, 0, sizeof *a);
}

void ctl_format_ago (uint64_t ms, char *buf, size_t len)
{
    uint64_t s = ms / 1000;
    if (s < 120)
        snprintf (buf, len, "%llus", (unsigned long long)s);
    else if (s < 2 * 3600)
        snprintf (buf, len, "%llum", (unsigned long long)(s / 60));
    else if (s < 2 * 86400)
        snprintf (buf, len, "%lluh", (unsigned long long)(s / 3600));
    else
        snprintf (buf, len, "%llud", (unsigned long long)(s / 86400));
}

void ctl_log_reply (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    const char *what = arg;
    if (!reply)
        ph_warn ("redis: %s: connection lost before the reply", what ? what : "write");
    else if (ph_reply_is_error (reply))
        ph_error ("redis: %s: %s", what ? what : "write", ph_reply_str (reply));
}

const ctl_op_t *ctl_op_find (const ctl_op_t *ops, size_t n, const char *op)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp (ops[i].op, op) == 0)
            return &ops[i];
    return NULL;
}
