/*  ctl_relay: the data path. StreamData frames are forwarded unchanged
 *  (ph_wire_forward) between the client attached to a session and the
 *  agent that runs it, using only the in-memory tables: no Redis round
 *  trip per frame (DESIGN.md §5). The streams themselves (ph_stream) make
 *  delivery reliable, so anything that cannot be forwarded now is dropped
 *  and resent by its sender later.
 *
 *  Routes are created by Attach and ended by SessionEnded; an ended route
 *  lingers CTL_ROUTE_LINGER_MS so the EXIT message and its acks still flow.
 */
#include "ctl.h"

#include <stdio.h>
#include <string.h>

ctl_route_t *ctl_route_find (ctl_t *ctl, const char *sid)
{
    return zhashx_lookup (ctl->routes, sid);
}

ctl_route_t *ctl_route_ensure (ctl_t *ctl, const char *sid, const char *instance_id)
{
    ctl_route_t *route = ctl_route_find (ctl, sid);
    if (route)
        return route;
    route = calloc (1, sizeof *route);
    assert (route);
    snprintf (route->sid, sizeof route->sid, "%s", sid);
    snprintf (route->instance_id, sizeof route->instance_id, "%s", instance_id);
    route->last_client_mono = ph_mono_ms ();
    zhashx_insert (ctl->routes, sid, route);
    return route;
}

void ctl_route_attach_client (ctl_route_t *route, const ctl_req_t *req)
{
    memcpy (route->client_rid, req->rid, req->rid_len);
    route->client_rid_len = req->rid_len;
    snprintf (route->client_user, sizeof route->client_user, "%.64s", req->name);
    snprintf (route->client_key, sizeof route->client_key, "%s", req->key);
    route->has_client = true;
    route->last_client_mono = ph_mono_ms ();
}

void ctl_route_fail_pending (ctl_route_t *route, const char *code, const char *text)
{
    if (!route->pending_attach)
        return;
    ctl_req_fail (&route->pending_attach, code, "porthole: session %s: %s", route->sid, text);
}

void ctl_route_end (ctl_t *ctl, const char *sid, const char *reason)
{
    ctl_route_t *route = ctl_route_find (ctl, sid);
    if (!route || route->ended_mono)
        return;
    char text[PH_ERRTEXT_MAX];
    snprintf (text, sizeof text, "the session ended before it opened (%s)", reason);
    ctl_route_fail_pending (route, CTL_E_SESSION_FAILED, text);
    route->ended_mono = ph_mono_ms ();
}

int ctl_send_to_agent (ctl_t *ctl, const char *instance_id, ph_env_t *env)
{
    ctl_instance_t *inst = ctl_registry_instance (ctl, instance_id);
    if (!inst)
        return PH_ENOENT;
    return ph_wire_send (ctl->agents, inst->rid, inst->rid_len, env);
}

/*  The attached client went away (detached, silent or unreachable). */
static void s_client_gone (ctl_t *ctl, ctl_route_t *route, const char *why)
{
    route->has_client = false;
    if (route->ended_mono)
        return;
    ph_info ("session %s: Disconnected (%s %s)", route->sid, route->client_user, why);
    ctl_store_set_state (ctl, route->sid, route->instance_id, "Disconnected", "Connected", NULL,
                         NULL);
}

static bool s_is_attached_client (const ctl_route_t *route, const ctl_msg_t *msg)
{
    const ph_wire_rx_t *rx = msg->rx;
    return route && route->has_client && route->client_rid_len == rx->routing_id_len &&
           memcmp (route->client_rid, rx->routing_id, rx->routing_id_len) == 0 &&
           strcmp (route->client_user, msg->name) == 0;
}

void ctl_relay_from_client (ctl_t *ctl, ctl_msg_t *msg)
{
    const char *sid = msg->env->stream_data->session_id;
    ctl_route_t *route = ctl_route_find (ctl, sid);
    if (!s_is_attached_client (route, msg)) {
        ph_wire_send_error (ctl->clients, msg->rx->routing_id, msg->rx->routing_id_len, 0,
                            CTL_E_NOT_ATTACHED, "porthole: session %.96s is not attached here",
                            sid);
        return;
    }
    route->last_client_mono = ph_mono_ms ();
    ctl_instance_t *inst = ctl_registry_instance (ctl, route->instance_id);
    if (inst)
        ph_wire_forward (ctl->agents, inst->rid, inst->rid_len, msg->rx);
}

void ctl_relay_from_agent (ctl_t *ctl, ctl_msg_t *msg)
{
    const char *sid = msg->env->stream_data->session_id;
    ctl_route_t *route = ctl_route_find (ctl, sid);
    if (!route || !route->has_client || strcmp (route->instance_id, msg->name))
        return;
    if (ph_wire_forward (ctl->clients, route->client_rid, route->client_rid_len, msg->rx) != 0 &&
        zmq_errno () == EHOSTUNREACH)
        s_client_gone (ctl, route, "is unreachable");
}

void ctl_relay_drop_clients (ctl_t *ctl, const char *name, const char *key)
{
    for (ctl_route_t *route = zhashx_first (ctl->routes); route; route = zhashx_next (ctl->routes))
        if (route->has_client && strcmp (route->client_user, name) == 0 &&
            (!key || strcmp (route->client_key, key) == 0))
            s_client_gone (ctl, route, key ? "lost its key" : "was deleted");
}

void ctl_relay_on_detach (ctl_t *ctl, ctl_msg_t *msg)
{
    ctl_route_t *route = ctl_route_find (ctl, msg->env->detach->session_id);
    if (s_is_attached_client (route, msg))
        s_client_gone (ctl, route, "detached");
}

void ctl_relay_instance_lost (ctl_t *ctl, const char *instance_id)
{
    for (ctl_route_t *route = zhashx_first (ctl->routes); route; route = zhashx_next (ctl->routes))
        if (!route->ended_mono && route->has_client &&
            strcmp (route->instance_id, instance_id) == 0) {
            ph_info ("session %s: Disconnected (agent lost)", route->sid);
            ctl_store_set_state (ctl, route->sid, instance_id, "Disconnected", "Connected", NULL,
                                 NULL);
        }
}

/*  An Attach that waited too long for SessionOpened: the session fails. */
static void s_attach_timed_out (ctl_t *ctl, ctl_route_t *route)
{
    ph_warn ("session %s: %s did not open it within %d s; Failed", route->sid, route->instance_id,
             CTL_ATTACH_TIMEOUT_MS / 1000);
    char text[PH_ERRTEXT_MAX];
    snprintf (text, sizeof text,
              "the agent on %s did not open it within %d s; is porthole-agent healthy there?",
              route->instance_id, CTL_ATTACH_TIMEOUT_MS / 1000);
    ctl_route_fail_pending (route, CTL_E_SESSION_FAILED, text);
    Porthole__V1__CloseSession body = PORTHOLE__V1__CLOSE_SESSION__INIT;
    body.session_id = route->sid;
    body.reason = "not opened in time";
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION;
    env.close_session = &body;
    ctl_send_to_agent (ctl, route->instance_id, &env);
    ctl_store_end_session (ctl, route->sid, route->instance_id, "Failed", false, 0,
                           "agent did not open the session in time", NULL, NULL);
    route->ended_mono = ph_mono_ms ();
}

/*  Housekeeping of one route. Returns false when it should go. */
static bool s_route_tick (ctl_t *ctl, ctl_route_t *route, uint64_t now)
{
    if (route->pending_attach && now >= route->attach_deadline_mono)
        s_attach_timed_out (ctl, route);
    if (route->ended_mono)
        return now - route->ended_mono < CTL_ROUTE_LINGER_MS;
    if (route->pending_attach)
        return true;
    bool silent = now - route->last_client_mono > CTL_CLIENT_SILENCE_MS;
    if (route->has_client && silent)
        s_client_gone (ctl, route, "fell silent");
    return !silent || route->has_client;
}

void ctl_relay_tick (ctl_t *ctl)
{
    uint64_t now = ph_mono_ms ();
    zlistx_t *sids = zhashx_keys (ctl->routes);
    for (const char *sid = zlistx_first (sids); sid; sid = zlistx_next (sids)) {
        ctl_route_t *route = zhashx_lookup (ctl->routes, sid);
        if (!s_route_tick (ctl, route, now))
            zhashx_delete (ctl->routes, sid);
    }
    zlistx_destroy (&sids);
}
