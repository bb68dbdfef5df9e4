/*  ls_client: `porthole-logshipper put-log-events`, a small blocking client
 *  that ships one batch with an instance's key and prints the answer. It is
 *  what the e2e tests (and an operator checking a deployment) use to talk to
 *  a logshipper without an agent; the agent is the real client.
 */
#include "ls.h"
#include "ph_random.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define PROG           "porthole-logshipper"
#define CLIENT_WAIT_MS 5000
#define CLIENT_GEN_MAX 20000 /* --generate: over the limit on purpose in tests */

static const char s_usage_put[] =
    "Usage: " PROG " put-log-events --endpoint EP --server-key KEY --key-file F\n"
    "           --log-group G --log-stream S [--batch-id ID] [--event TS:MESSAGE ...]\n"
    "           [--generate N] [--wait-ms MS]\n"
    "\n"
    "Ships one PutLogEvents batch to a logshipper with the CURVE keypair of a\n"
    "registered instance (an agent's key file) and prints the answer:\n"
    "  reply BATCH_ID ACCEPTED DUPLICATE(0|1)   or   error CODE MESSAGE\n"
    "For checking a deployment and for tests; agents ship their own logs.\n"
    "\n"
    "Options:\n"
    "  --endpoint EP      the logshipper (e.g. tcp://127.0.0.1:7620)\n"
    "  --server-key KEY   its public key (Z85; printed by keygen)\n"
    "  --key-file F       an instance keypair (the agent's state dir: agent.key)\n"
    "  --log-group G      log group name\n"
    "  --log-stream S     log stream name\n"
    "  --batch-id ID      default: a random one\n"
    "  --event TS:MSG     one event, timestamp in ms since the epoch (repeatable)\n"
    "  --generate N       N more events 'event I', all with the current time\n"
    "  --wait-ms MS       how long to wait for the answer (default 5000)\n"
    "  -h, --help         this text\n"
    "\n"
    "Exit codes: 0 batch acknowledged, 64 bad arguments, 65 bad key file,\n"
    "69 no answer in time, 70 the logshipper answered with an error.\n";

typedef struct {
    const char *endpoint, *server_key, *key_file, *group, *stream, *batch_id;
    zlistx_t *events; /* "TS:MSG" strings, borrowed from argv */
    uint64_t generate;
    uint64_t wait_ms;
} s_args_t;

static int s_usage_error (const char *fmt, const char *arg)
{
    fprintf (stderr, PROG " put-log-events: ");
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "; see '" PROG " put-log-events --help'\n");
    return PH_EXIT_USAGE;
}

/*  Returns 0, PH_EXIT_USAGE, or -1 after --help. */
static int s_parse (int argc, char **argv, s_args_t *a)
{
    static const struct option opts[] = {{"endpoint", required_argument, 0, 'e'},
                                         {"server-key", required_argument, 0, 's'},
                                         {"key-file", required_argument, 0, 'k'},
                                         {"log-group", required_argument, 0, 'g'},
                                         {"log-stream", required_argument, 0, 'l'},
                                         {"batch-id", required_argument, 0, 'b'},
                                         {"event", required_argument, 0, 'v'},
                                         {"generate", required_argument, 0, 'n'},
                                         {"wait-ms", required_argument, 0, 'w'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs (s_usage_put, stdout);
            return -1;
        case 'e':
            a->endpoint = optarg;
            break;
        case 's':
            a->server_key = optarg;
            break;
        case 'k':
            a->key_file = optarg;
            break;
        case 'g':
            a->group = optarg;
            break;
        case 'l':
            a->stream = optarg;
            break;
        case 'b':
            a->batch_id = optarg;
            break;
        case 'v':
            if (!strchr (optarg, ':'))
                return s_usage_error ("--event '%s' is not TIMESTAMP_MS:MESSAGE", optarg);
            zlistx_add_end (a->events, optarg);
            break;
        case 'n':
            if (ph_parse_uint (optarg, 0, CLIENT_GEN_MAX, &a->generate))
                return s_usage_error ("--generate must be 0..20000 (got '%s')", optarg);
            break;
        case 'w':
            if (ph_parse_uint (optarg, 1, 600000, &a->wait_ms))
                return s_usage_error ("--wait-ms must be 1..600000 (got '%s')", optarg);
            break;
        default:
            return s_usage_error ("bad option '%s'", argv[optind - 1]);
        }
    }
    if (!a->endpoint || !a->server_key || !a->key_file || !a->group || !a->stream)
        return s_usage_error ("%s", "--endpoint, --server-key, --key-file, --log-group and "
                                    "--log-stream are required");
    if (!ph_keys_z85_valid (a->server_key))
        return s_usage_error ("--server-key '%s' is not a 40-character Z85 key", a->server_key);
    return 0;
}

/*  Builds the batch; event structs and strings live in the returned arrays. */
static void s_build (const s_args_t *a, Porthole__V1__PutLogEvents *p, Porthole__V1__LogEvent **evs,
                     Porthole__V1__LogEvent *store, char *gen)
{
    size_t i = 0;
    for (char *s = zlistx_first (a->events); s; s = zlistx_next (a->events), i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        store[i] = init;
        store[i].timestamp_ms = strtoull (s, NULL, 10);
        store[i].message = strchr (s, ':') + 1;
        evs[i] = &store[i];
    }
    uint64_t now = ph_now_ms ();
    for (uint64_t g = 0; g < a->generate; g++, i++) {
        Porthole__V1__LogEvent init = PORTHOLE__V1__LOG_EVENT__INIT;
        store[i] = init;
        store[i].timestamp_ms = now;
        snprintf (gen + 32 * g, 32, "event %llu", (unsigned long long)g);
        store[i].message = gen + 32 * g;
        evs[i] = &store[i];
    }
    p->events = evs;
    p->n_events = i;
}

static int s_print_answer (zsock_t *sock, uint64_t wait_ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    void *ready = zpoller_wait (poller, (int)wait_ms);
    zpoller_destroy (&poller);
    if (!ready) {
        printf ("no reply\n");
        return PH_EXIT_UNAVAIL;
    }
    ph_wire_rx_t rx;
    ph_env_t *env = NULL;
    char err[PH_ERRTEXT_MAX] = "";
    int rc = ph_wire_recv (sock, false, &rx, &env, err, sizeof err);
    ph_wire_rx_close (&rx);
    if (rc) {
        printf ("bad reply %s\n", err);
        ph_wire_free (&env);
        return PH_EXIT_API;
    }
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY) {
        Porthole__V1__PutLogEventsReply *r = env->put_log_events_reply;
        printf ("reply %s %u %d\n", r->batch_id, r->accepted, r->duplicate ? 1 : 0);
        rc = PH_EXIT_OK;
    } else if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_ERROR) {
        printf ("error %s %s\n", env->error->code, env->error->message);
        rc = !strcmp (env->error->code, LS_E_ACCESS_DENIED) ? PH_EXIT_DENIED : PH_EXIT_API;
    } else {
        printf ("reply %s\n", ph_wire_body_name (env->body_case));
        rc = PH_EXIT_API;
    }
    ph_wire_free (&env);
    return rc;
}

static int s_send (const s_args_t *a, const ph_keypair_t *kp)
{
    size_t n = zlistx_size (a->events) + a->generate;
    Porthole__V1__LogEvent **evs = calloc (n + 1, sizeof *evs);
    Porthole__V1__LogEvent *store = calloc (n + 1, sizeof *store);
    char *gen = calloc (a->generate + 1, 32);
    assert (evs && store && gen);
    char batch[40];
    uint8_t raw[8];
    ph_random_bytes (raw, sizeof raw);
    snprintf (batch, sizeof batch, "b-%016llx", *(unsigned long long *)raw);
    Porthole__V1__PutLogEvents p = PORTHOLE__V1__PUT_LOG_EVENTS__INIT;
    p.batch_id = (char *)(a->batch_id ? a->batch_id : batch);
    p.log_group = (char *)a->group;
    p.log_stream = (char *)a->stream;
    s_build (a, &p, evs, store, gen);
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = 1;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS;
    env.put_log_events = &p;
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    int rc = PH_EXIT_UNAVAIL;
    if (sock && ph_keys_setup_client (sock, kp, a->server_key) == 0 &&
        zsock_connect (sock, "%s", a->endpoint) == 0) {
        int src = ph_wire_send (sock, NULL, 0, &env);
        if (src == PH_ETOOBIG) {
            printf ("error TooBig the batch is over the %d-byte frame limit\n", PH_MSG_MAX);
            rc = PH_EXIT_USAGE;
        } else
            rc = s_print_answer (sock, a->wait_ms);
    } else
        fprintf (stderr, PROG ": cannot connect to %s; check --endpoint\n", a->endpoint);
    zsock_destroy (&sock);
    free (gen);
    free (store);
    free (evs);
    return rc;
}

int ls_client_main (int argc, char **argv)
{
    s_args_t a = {.wait_ms = CLIENT_WAIT_MS};
    a.events = zlistx_new ();
    int rc = s_parse (argc, argv, &a);
    if (rc) {
        zlistx_destroy (&a.events);
        return rc < 0 ? PH_EXIT_OK : rc;
    }
    ph_keypair_t kp;
    if (ph_keys_load (a.key_file, &kp) != 0) {
        fprintf (stderr, PROG ": cannot read key file %s (missing, malformed or not mode 0600)\n",
                 a.key_file);
        zlistx_destroy (&a.events);
        return PH_EXIT_CONFIG;
    }
    rc = s_send (&a, &kp);
    zlistx_destroy (&a.events);
    return rc;
}
