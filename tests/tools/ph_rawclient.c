/*  ph-rawclient: a test tool that sends one hand-made frame to a porthole
 *  ROUTER over real CURVE and prints what comes back, so that the e2e tests
 *  can feed daemons malformed, oversized and unauthorised messages.
 *
 *  ph-rawclient --endpoint EP --server-key KEY [--key-file F]
 *               (--hex HEX | --random N | --size N | --body NAME)
 *               [--wait-ms MS]
 *
 *  --key-file F  use this keypair (default: a fresh, unknown one)
 *  --hex HEX     send these bytes as the frame
 *  --random N    send N random bytes
 *  --size N      send a valid heartbeat envelope padded to about N bytes
 *  --body NAME   send a valid envelope: heartbeat, hello, describe-instances,
 *                enroll-bad (wrong activation), stream-data (unattached),
 *                start-session (with --target T), attach (with --session-id S
 *                and --token T)
 *  Prints "error CODE MESSAGE", "reply BODY" (start_session_reply: then the
 *  session id and the token) or "no reply"; exits 0.
 */
#include "ph_random.h"
#include "ph_keys.h"
#include "ph_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t s_from_hex (const char *hex, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (hex[0] && hex[1] && n < max) {
        unsigned v;
        if (sscanf (hex, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        hex += 2;
    }
    return n;
}

static const char *s_target = "", *s_session_id = "", *s_token = "";

static uint8_t *s_body (const char *name, size_t pad, size_t *len)
{
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = 7;
    Porthole__V1__Heartbeat hb = PORTHOLE__V1__HEARTBEAT__INIT;
    Porthole__V1__Hello hello = PORTHOLE__V1__HELLO__INIT;
    Porthole__V1__DescribeInstancesRequest di = PORTHOLE__V1__DESCRIBE_INSTANCES_REQUEST__INIT;
    Porthole__V1__Enroll en = PORTHOLE__V1__ENROLL__INIT;
    Porthole__V1__StreamData sd = PORTHOLE__V1__STREAM_DATA__INIT;
    Porthole__V1__StartSessionRequest ss = PORTHOLE__V1__START_SESSION_REQUEST__INIT;
    Porthole__V1__Attach at = PORTHOLE__V1__ATTACH__INIT;
    char *padding = NULL;
    if (strcmp (name, "hello") == 0 || pad) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HELLO;
        env.hello = &hello;
        hello.hostname = "rawclient";
        if (pad) {
            /* many strings of 16 KiB make a frame of about pad bytes */
            size_t n = pad / PH_STR_MAX + 1;
            padding = malloc (PH_STR_MAX + 1);
            memset (padding, 'x', PH_STR_MAX);
            padding[PH_STR_MAX] = 0;
            hello.n_session_ids = n;
            hello.session_ids = calloc (n, sizeof (char *));
            for (size_t i = 0; i < n; i++)
                hello.session_ids[i] = padding;
        }
    } else if (strcmp (name, "heartbeat") == 0) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_HEARTBEAT;
        env.heartbeat = &hb;
    } else if (strcmp (name, "describe-instances") == 0) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_DESCRIBE_INSTANCES;
        env.describe_instances = &di;
    } else if (strcmp (name, "enroll-bad") == 0) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ENROLL;
        env.enroll = &en;
        en.activation_id = "00000000-0000-0000-0000-000000000000";
        en.activation_code = "wrong";
    } else if (strcmp (name, "stream-data") == 0) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA;
        env.stream_data = &sd;
        sd.session_id = "nobody-00000000000000000";
        sd.seq = 1;
        sd.kind = PORTHOLE__V1__STREAM_KIND__STDIN;
    } else if (strcmp (name, "start-session") == 0) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_START_SESSION;
        env.start_session = &ss;
        ss.target = (char *)s_target;
        ss.command = "true";
    } else if (strcmp (name, "attach") == 0) {
        env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ATTACH;
        env.attach = &at;
        at.session_id = (char *)s_session_id;
        at.token = (char *)s_token;
    } else
        return NULL;
    /* packed without the size limit of ph_wire_encode on purpose */
    size_t n = porthole__v1__envelope__get_packed_size (&env);
    uint8_t *buf = malloc (n);
    *len = porthole__v1__envelope__pack (&env, buf);
    free (hello.session_ids);
    free (padding);
    return buf;
}

int main (int argc, char **argv)
{
    const char *endpoint = NULL, *server_key = NULL, *key_file = NULL, *hex = NULL, *body = NULL;
    long random_n = -1, size_n = -1, wait_ms = 3000;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp (argv[i], "--endpoint"))
            endpoint = argv[i + 1];
        else if (!strcmp (argv[i], "--server-key"))
            server_key = argv[i + 1];
        else if (!strcmp (argv[i], "--key-file"))
            key_file = argv[i + 1];
        else if (!strcmp (argv[i], "--hex"))
            hex = argv[i + 1];
        else if (!strcmp (argv[i], "--random"))
            random_n = atol (argv[i + 1]);
        else if (!strcmp (argv[i], "--size"))
            size_n = atol (argv[i + 1]);
        else if (!strcmp (argv[i], "--body"))
            body = argv[i + 1];
        else if (!strcmp (argv[i], "--target"))
            s_target = argv[i + 1];
        else if (!strcmp (argv[i], "--session-id"))
            s_session_id = argv[i + 1];
        else if (!strcmp (argv[i], "--token"))
            s_token = argv[i + 1];
        else if (!strcmp (argv[i], "--wait-ms"))
            wait_ms = atol (argv[i + 1]);
    }
    if (!endpoint || !server_key) {
        fprintf (stderr, "usage: ph-rawclient --endpoint EP --server-key KEY ...\n");
        return 64;
    }
    zsys_handler_set (NULL);
    ph_keypair_t kp;
    if (key_file ? ph_keys_load (key_file, &kp) : ph_keys_generate (&kp)) {
        fprintf (stderr, "ph-rawclient: cannot load %s\n", key_file);
        return 65;
    }
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    ph_keys_setup_client (dealer, &kp, server_key);
    zsock_set_maxmsgsize (dealer, -1);
    zsock_connect (dealer, "%s", endpoint);
    uint8_t *frame = NULL;
    size_t len = 0;
    if (hex) {
        frame = malloc (strlen (hex) / 2 + 1);
        len = s_from_hex (hex, frame, strlen (hex) / 2);
    } else if (random_n >= 0) {
        len = (size_t)random_n;
        frame = malloc (len + 1);
        ph_random_bytes (frame, len);
    } else if (size_n >= 0)
        frame = s_body ("hello", (size_t)size_n, &len);
    else if (body)
        frame = s_body (body, 0, &len);
    if (!frame) {
        fprintf (stderr, "ph-rawclient: say what to send (--hex, --random, --size, --body)\n");
        return 64;
    }
    zmq_send (zsock_resolve (dealer), frame, len, 0);
    free (frame);
    zpoller_t *poller = zpoller_new (dealer, NULL);
    if (!zpoller_wait (poller, (int)wait_ms)) {
        printf ("no reply\n");
    } else {
        ph_wire_rx_t rx;
        ph_env_t *env;
        char err[256];
        if (ph_wire_recv (dealer, false, &rx, &env, err, sizeof err) == 0) {
            if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR)
                printf ("error %s %s\n", env->error->code, env->error->message);
            else if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY)
                printf ("reply start_session_reply %s %s\n", env->start_session_reply->session_id,
                        env->start_session_reply->token);
            else
                printf ("reply %s\n", ph_wire_body_name (env->body_case));
            ph_wire_free (&env);
        } else
            printf ("bad reply %s\n", err);
        ph_wire_rx_close (&rx);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&dealer);
    return 0;
}
