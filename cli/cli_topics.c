/*  cli_topics: the `porthole topics` group, where alarm actions "topic:NAME"
 *  publish (modelled on aws sns):
 *    create-topic, delete-topic, list-topics, subscribe, unsubscribe,
 *    list-subscriptions, publish, watch.
 *  Each sends TopicsRequest (op = the API name). `watch` prints every
 *  notification of a topic as it arrives: it asks Watch for the newest id
 *  first (so it starts "from now"), then polls every 500 ms for what came
 *  after the last id it saw, and stops on Ctrl-C (exit 0) or after
 *  --max-notifications. Options are checked before any network traffic;
 *  the controller checks again. Help texts: cli_help_alarms.c. */
#include "cli_group.h"
#include "cli_verbs.h"
#include "ph_util.h"

#include <ctype.h>
#include <czmq.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define CLI_TOPIC_NAME_MAX     256
#define CLI_TOPIC_ENDPOINT_MAX 2048
#define CLI_TOPIC_SUBJECT_MAX  100
#define CLI_TOPIC_MESSAGE_MAX  (16 * 1024 - 1) /* the wire's string limit */
#define CLI_TOPIC_SUB_ID_HEX   16
#define CLI_WATCH_POLL_MS      500
#define CLI_WATCH_STEP_MS      50 /* how often the sleep checks for Ctrl-C */
#define CLI_WATCH_BATCH        100
#define CLI_WATCH_MAX          1000000 /* --max-notifications */
#define CLI_WATCH_ID_MAX       64

/*  Ctrl-C / SIGTERM during watch (the one static state STYLE.md allows). */
static volatile sig_atomic_t s_stop_watch;

/* ---- checks and requests -------------------------------------------------- */

static bool s_topic_valid (const char *name)
{
    size_t len = strlen (name);
    for (const char *p = name; *p; p++)
        if (!isalnum ((unsigned char)*p) && *p != '_' && *p != '-')
            return false;
    return len >= 1 && len <= CLI_TOPIC_NAME_MAX;
}

/*  Reads the topic option name (required) into *value. */
static int s_topic_option (const cli_ctx_t *ctx, const cli_args_t *args, const char *name,
                           const char **value)
{
    *value = cli_args_get (args, name);
    if (!*value)
        return cli_usage_error (ctx->verb, "%s needs a topic (--%s NAME)", ctx->verb, name);
    if (!s_topic_valid (*value))
        return cli_usage_error (ctx->verb,
                                "--%s '%s' is not a topic name: 1..%d letters, digits, _ and -",
                                name, *value, CLI_TOPIC_NAME_MAX);
    return PH_EXIT_OK;
}

static bool s_endpoint_valid (const char *url)
{
    const char *host = strncmp (url, "http://", 7) == 0    ? url + 7
                       : strncmp (url, "https://", 8) == 0 ? url + 8
                                                           : NULL;
    if (!host || !*host || strchr ("/:?#", *host) || strlen (url) > CLI_TOPIC_ENDPOINT_MAX)
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

static int s_call (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__TopicsRequest *req,
                   ph_env_t **reply)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TOPICS;
    env.topics = req;
    return cli_conn_call (ctx, conn, &env, PORTHOLE__V1__ENVELOPE__BODY_TOPICS_REPLY, reply);
}

/*  Connects, sends req and prints to_json's document through view (NULL
 *  to_json: prints nothing). */
static int s_run (cli_ctx_t *ctx, Porthole__V1__TopicsRequest *req,
                  json_t *(*to_json) (const ph_env_t *reply), const cli_view_t *view)
{
    ph_env_t env = PH_ENV_INIT;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_TOPICS;
    env.topics = req;
    return cli_run_request (ctx, &env, PORTHOLE__V1__ENVELOPE__BODY_TOPICS_REPLY, to_json, view);
}

/* ---- topics ---------------------------------------------------------------- */

static json_t *s_created_json (const ph_env_t *reply)
{
    const Porthole__V1__TopicsReply *r = reply->topics_reply;
    return json_pack ("{s:o}", "TopicName", cli_json_str (r->n_topics ? r->topics[0] : ""));
}

static const cli_col_t s_topic_cols[] = {{"TopicName", "TopicName"}, {NULL, NULL}};
static const cli_view_t s_created_view = {NULL, s_topic_cols, NULL, NULL};

static int s_create_topic (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *name;
    int rc = s_topic_option (ctx, args, "name", &name);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "CreateTopic";
    req.topic = (char *)name;
    return s_run (ctx, &req, s_created_json, &s_created_view);
}

static int s_delete_topic (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *name;
    int rc = s_topic_option (ctx, args, "topic", &name);
    if (rc != PH_EXIT_OK)
        return rc;
    req.op = "DeleteTopic";
    req.topic = (char *)name;
    return s_run (ctx, &req, NULL, NULL);
}

static json_t *s_topics_json (const ph_env_t *reply)
{
    const Porthole__V1__TopicsReply *r = reply->topics_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_topics; i++)
        json_array_append_new (list, json_pack ("{s:o}", "TopicName", cli_json_str (r->topics[i])));
    return json_pack ("{s:o}", "Topics", list);
}

static const cli_view_t s_topics_view = {"Topics", s_topic_cols, NULL, NULL};

static int s_list_topics (cli_ctx_t *ctx, const cli_args_t *args)
{
    (void)args;
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    req.op = "ListTopics";
    return s_run (ctx, &req, s_topics_json, &s_topics_view);
}

/* ---- subscriptions ---------------------------------------------------------------- */

static json_t *s_subscribed_json (const ph_env_t *reply)
{
    return json_pack ("{s:o}", "SubscriptionId",
                      cli_json_str (reply->topics_reply->subscription_id));
}

static const cli_col_t s_subscribed_cols[] = {{"SubscriptionId", "SubscriptionId"}, {NULL, NULL}};
static const cli_view_t s_subscribed_view = {NULL, s_subscribed_cols, NULL, NULL};

static int s_subscribe (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *topic, *protocol = cli_args_get (args, "protocol");
    const char *endpoint = cli_args_get (args, "endpoint"), *format = cli_args_get (args, "format");
    int rc = s_topic_option (ctx, args, "topic", &topic);
    if (rc != PH_EXIT_OK)
        return rc;
    if (!protocol || strcmp (protocol, "webhook") != 0)
        return cli_usage_error (ctx->verb, "subscribe needs --protocol webhook (the one protocol)");
    if (!endpoint || !s_endpoint_valid (endpoint))
        return cli_usage_error (ctx->verb,
                                "subscribe needs --endpoint URL: http://HOST[:PORT]/PATH or "
                                "https://..., at most %d characters, no spaces",
                                CLI_TOPIC_ENDPOINT_MAX);
    if (format && strcmp (format, "json") != 0 && strcmp (format, "alertmanager") != 0)
        return cli_usage_error (ctx->verb, "--format '%s' is not json or alertmanager", format);
    req.op = "Subscribe";
    req.topic = (char *)topic;
    req.protocol = (char *)protocol;
    req.endpoint = (char *)endpoint;
    req.format = (char *)(format ? format : "json");
    return s_run (ctx, &req, s_subscribed_json, &s_subscribed_view);
}

static int s_unsubscribe (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *id = cli_args_get (args, "subscription-id");
    if (!id || strncmp (id, "sub-", 4) != 0 || strlen (id) != 4 + CLI_TOPIC_SUB_ID_HEX ||
        strspn (id + 4, "0123456789abcdef") != CLI_TOPIC_SUB_ID_HEX)
        return cli_usage_error (ctx->verb,
                                "unsubscribe needs --subscription-id ID as subscribe printed it "
                                "(sub- and 16 hex digits)");
    req.op = "Unsubscribe";
    req.subscription_id = (char *)id;
    return s_run (ctx, &req, NULL, NULL);
}

static json_t *s_subscriptions_json (const ph_env_t *reply)
{
    const Porthole__V1__TopicsReply *r = reply->topics_reply;
    json_t *list = json_array ();
    for (size_t i = 0; i < r->n_subscriptions; i++) {
        const Porthole__V1__Subscription *s = r->subscriptions[i];
        json_t *doc = json_object ();
        json_object_set_new (doc, "SubscriptionId", cli_json_str (s->subscription_id));
        json_object_set_new (doc, "TopicName", cli_json_str (s->topic));
        json_object_set_new (doc, "Protocol", cli_json_str (s->protocol));
        json_object_set_new (doc, "Endpoint", cli_json_str (s->endpoint));
        json_object_set_new (doc, "Format", cli_json_str (s->format));
        json_object_set_new (doc, "Delivered", json_integer ((json_int_t)s->delivered));
        json_object_set_new (doc, "Failed", json_integer ((json_int_t)s->failed));
        json_object_set_new (doc, "LastError", cli_json_str (s->last_error));
        json_object_set_new (doc, "LastAttempt", cli_json_time (s->last_attempt));
        json_array_append_new (list, doc);
    }
    return json_pack ("{s:o}", "Subscriptions", list);
}

static const cli_col_t s_subscription_cols[] = {{"SubscriptionId", "SubscriptionId"},
                                                {"TopicName", "TopicName"},
                                                {"Endpoint", "Endpoint"},
                                                {"Format", "Format"},
                                                {"Delivered", "Delivered"},
                                                {"Failed", "Failed"},
                                                {"LastError", "LastError"},
                                                {NULL, NULL}};
static const cli_view_t s_subscriptions_view = {"Subscriptions", s_subscription_cols, NULL, NULL};

static int s_list_subscriptions (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *topic = NULL;
    if (cli_args_has (args, "topic")) {
        int rc = s_topic_option (ctx, args, "topic", &topic);
        if (rc != PH_EXIT_OK)
            return rc;
    }
    req.op = "ListSubscriptions";
    req.topic = (char *)(topic ? topic : "");
    return s_run (ctx, &req, s_subscriptions_json, &s_subscriptions_view);
}

/* ---- publish, watch ------------------------------------------------------------------ */

static json_t *s_published_json (const ph_env_t *reply)
{
    return json_pack ("{s:o}", "MessageId", cli_json_str (reply->topics_reply->last_id));
}

static const cli_col_t s_published_cols[] = {{"MessageId", "MessageId"}, {NULL, NULL}};
static const cli_view_t s_published_view = {NULL, s_published_cols, NULL, NULL};

static int s_publish (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *topic, *subject = cli_args_get (args, "subject");
    const char *message = cli_args_get (args, "message");
    int rc = s_topic_option (ctx, args, "topic", &topic);
    if (rc != PH_EXIT_OK)
        return rc;
    bool subject_ok = !subject || strlen (subject) <= CLI_TOPIC_SUBJECT_MAX;
    for (const char *p = subject ? subject : ""; subject_ok && *p; p++)
        subject_ok = (unsigned char)*p >= ' ' && *p != 0x7f;
    if (!subject_ok)
        return cli_usage_error (ctx->verb, "--subject takes one line of at most %d characters",
                                CLI_TOPIC_SUBJECT_MAX);
    if (!message || !*message || strlen (message) > CLI_TOPIC_MESSAGE_MAX)
        return cli_usage_error (ctx->verb,
                                "publish needs --message TEXT (JSON or plain text, 1..%d bytes)",
                                CLI_TOPIC_MESSAGE_MAX);
    req.op = "Publish";
    req.topic = (char *)topic;
    req.subject = (char *)(subject ? subject : "");
    req.message = (char *)message;
    return s_run (ctx, &req, s_published_json, &s_published_view);
}

static void s_on_stop_signal (int sig)
{
    (void)sig;
    s_stop_watch = 1;
}

/*  Prints one notification: a JSON object on one line, or a readable line
 *  "TIME TOPIC SUBJECT: MESSAGE" for text and table output. The stored
 *  message is JSON text; it is shown as the value it holds. */
static void s_print_notification (const cli_ctx_t *ctx, const Porthole__V1__Notification *n)
{
    json_t *message = json_loads (n->message, JSON_DECODE_ANY, NULL);
    if (!message)
        message = cli_json_str (n->message);
    if (ctx->output == CLI_OUT_JSON) {
        json_t *doc =
            json_pack ("{s:o, s:o, s:o, s:o, s:O}", "MessageId", cli_json_str (n->id), "TopicName",
                       cli_json_str (n->topic), "Timestamp", cli_json_time (n->timestamp),
                       "Subject", cli_json_str (n->subject), "Message", message);
        char *text = json_dumps (doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        printf ("%s\n", text ? text : "{}");
        free (text);
        json_decref (doc);
    } else {
        char when[40];
        ph_format_time (n->timestamp, when, sizeof when);
        char *text = json_is_string (message) ? strdup (json_string_value (message))
                                              : json_dumps (message, JSON_COMPACT);
        for (char *p = text; p && *p; p++)
            if ((unsigned char)*p < ' ')
                *p = ' ';
        printf ("%s %s %s%s%s\n", when, n->topic, n->subject, *n->subject ? ": " : "",
                text ? text : "");
        free (text);
    }
    json_decref (message);
    fflush (stdout);
}

/*  Sleeps ms, in steps, unless Ctrl-C came. */
static void s_watch_sleep (int ms)
{
    for (int slept = 0; slept < ms && !s_stop_watch; slept += CLI_WATCH_STEP_MS)
        zclock_sleep (CLI_WATCH_STEP_MS);
}

/*  Polls Watch from req->after_id until Ctrl-C or max printed. */
static int s_watch_loop (const cli_ctx_t *ctx, cli_conn_t *conn, Porthole__V1__TopicsRequest *req,
                         uint64_t max)
{
    char last[CLI_WATCH_ID_MAX + 1];
    uint64_t printed = 0;
    int rc = PH_EXIT_OK;
    snprintf (last, sizeof last, "%s", req->after_id);
    while (rc == PH_EXIT_OK && !s_stop_watch && (max == 0 || printed < max)) {
        s_watch_sleep (CLI_WATCH_POLL_MS);
        if (s_stop_watch)
            break;
        ph_env_t *reply = NULL;
        req->after_id = last;
        rc = s_call (ctx, conn, req, &reply);
        if (rc != PH_EXIT_OK)
            break;
        const Porthole__V1__TopicsReply *r = reply->topics_reply;
        for (size_t i = 0; i < r->n_notifications && (max == 0 || printed < max); i++, printed++)
            s_print_notification (ctx, r->notifications[i]);
        if (r->last_id && *r->last_id)
            snprintf (last, sizeof last, "%s", r->last_id);
        ph_wire_free (&reply);
    }
    return rc;
}

static int s_watch (cli_ctx_t *ctx, const cli_args_t *args)
{
    Porthole__V1__TopicsRequest req = PORTHOLE__V1__TOPICS_REQUEST__INIT;
    const char *topic, *max_text = cli_args_get (args, "max-notifications");
    uint64_t max = 0;
    int rc = s_topic_option (ctx, args, "topic", &topic);
    if (rc != PH_EXIT_OK)
        return rc;
    if (max_text && ph_parse_uint (max_text, 1, CLI_WATCH_MAX, &max) != 0)
        return cli_usage_error (ctx->verb, "--max-notifications '%s' is not a number in 1..%d",
                                max_text, CLI_WATCH_MAX);
    req.op = "Watch";
    req.topic = (char *)topic;
    req.after_id = "";
    req.max_results = CLI_WATCH_BATCH;
    cli_conn_t *conn = NULL;
    ph_env_t *reply = NULL;
    rc = cli_connect (ctx, &conn, NULL);
    if (rc == PH_EXIT_OK)
        rc = s_call (ctx, conn, &req, &reply); /* the newest id: watch from now on */
    if (rc != PH_EXIT_OK)
        goto out_close;
    char start[CLI_WATCH_ID_MAX + 1];
    snprintf (start, sizeof start, "%s", reply->topics_reply->last_id);
    req.after_id = start;
    fprintf (stderr, "porthole: watching topic %s; Ctrl-C stops\n", topic);
    struct sigaction sa, old_int, old_term;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_stop_signal;
    sigemptyset (&sa.sa_mask);
    s_stop_watch = 0;
    sigaction (SIGINT, &sa, &old_int);
    sigaction (SIGTERM, &sa, &old_term);
    rc = s_watch_loop (ctx, conn, &req, max);
    sigaction (SIGINT, &old_int, NULL);
    sigaction (SIGTERM, &old_term, NULL);
out_close:
    ph_wire_free (&reply);
    if (conn)
        cli_conn_destroy (&conn, 0);
    return rc;
}

/* ---- the group ------------------------------------------------------------------------- */

static const cli_opt_t s_create_opts[] = {{"name", 0}, {NULL, 0}};
static const cli_opt_t s_topic_opts[] = {{"topic", 0}, {NULL, 0}};
static const cli_opt_t s_no_opts[] = {{NULL, 0}};
static const cli_opt_t s_subscribe_opts[] = {
    {"topic", 0}, {"protocol", 0}, {"endpoint", 0}, {"format", 0}, {NULL, 0}};
static const cli_opt_t s_unsubscribe_opts[] = {{"subscription-id", 0}, {NULL, 0}};
static const cli_opt_t s_publish_opts[] = {{"topic", 0}, {"subject", 0}, {"message", 0}, {NULL, 0}};
static const cli_opt_t s_watch_opts[] = {{"topic", 0}, {"max-notifications", 0}, {NULL, 0}};

static const cli_verb_t s_topics_verbs[] = {
    {"topics create-topic", s_create_topic, s_create_opts, "create a topic (kept if it exists)",
     "--name"},
    {"topics delete-topic", s_delete_topic, s_topic_opts,
     "delete a topic, its subscriptions and its notifications", "--topic"},
    {"topics list-topics", s_list_topics, s_no_opts, "list the topics", NULL},
    {"topics subscribe", s_subscribe, s_subscribe_opts,
     "have a topic's notifications POSTed to a webhook", NULL},
    {"topics unsubscribe", s_unsubscribe, s_unsubscribe_opts, "remove a subscription",
     "--subscription-id"},
    {"topics list-subscriptions", s_list_subscriptions, s_topic_opts,
     "list subscriptions with their delivery counters", NULL},
    {"topics publish", s_publish, s_publish_opts, "send a notification to a topic", NULL},
    {"topics watch", s_watch, s_watch_opts, "print a topic's notifications as they arrive",
     "--topic"},
    {NULL, NULL, NULL, NULL, NULL},
};

const cli_group_t cli_topics_group = {
    "topics", "notification topics that alarms publish to; webhooks, watch",
    "Topics carry notifications: alarm actions topic:NAME publish there on a state\n"
    "change, and each subscription gets them POSTed to its webhook (JSON, or the\n"
    "Alertmanager format). porthole topics watch prints them as they arrive. The\n"
    "commands follow aws sns.\n",
    s_topics_verbs};
