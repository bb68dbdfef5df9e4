/*  ph_redis: see ph_redis.h.
 *
 *  The adapter between hiredis' event hooks and zloop keeps the wanted
 *  events (read, write) in a mask and re-registers one fd poller whenever
 *  the mask changes, because zloop_poller_end removes every poller of an
 *  fd at once.
 */
#include "ph_redis.h"
#include "ph_errors.h"
#include "ph_log.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <string.h>

#define PH_REDIS_RETRY_MS 500 /* reconnect attempts while Redis is away */

struct _ph_redis_t {
    zloop_t *loop;
    char host[256];
    int port;
    int db;
    redisAsyncContext *ac;
    bool connected;
    short events; /* what hiredis wants now */
    short polled; /* what the zloop poller is registered for */
    int polled_fd;
    int retry_timer;
    unsigned failures; /* connect attempts failed in a row, to log few */
    bool destroying;
    ph_redis_state_fn *on_state;
    void *arg;
};

int ph_redis_parse_url (const char *url, char *host, int *port, int *db)
{
    *db = 0;
    *port = 0;
    if (strncmp (url, "unix://", 7) == 0) {
        if (strlen (url + 7) == 0 || strlen (url + 7) >= 256)
            return PH_EINVAL;
        strcpy (host, url + 7);
        return 0;
    }
    if (strncmp (url, "redis://", 8) != 0)
        return PH_EINVAL;
    const char *p = url + 8;
    const char *colon = strrchr (p, ':');
    if (!colon || colon == p || (size_t)(colon - p) >= 256)
        return PH_EINVAL;
    memcpy (host, p, (size_t)(colon - p));
    host[colon - p] = 0;
    char *end;
    long v = strtol (colon + 1, &end, 10);
    if (v <= 0 || v > 65535 || (*end && *end != '/'))
        return PH_EINVAL;
    *port = (int)v;
    if (*end == '/' && end[1]) {
        long d = strtol (end + 1, &end, 10);
        if (*end || d < 0 || d > 15)
            return PH_EINVAL;
        *db = (int)d;
    }
    return 0;
}

static int s_on_io (zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void)loop;
    ph_redis_t *self = arg;
    if (self->ac && (item->revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        redisAsyncHandleRead (self->ac);
    if (self->ac && (item->revents & ZMQ_POLLOUT))
        redisAsyncHandleWrite (self->ac);
    return 0;
}

static void s_update_poller (ph_redis_t *self)
{
    int fd = self->ac ? self->ac->c.fd : -1;
    if (self->polled == self->events && self->polled_fd == fd)
        return;
    if (self->polled) {
        zmq_pollitem_t old = {NULL, self->polled_fd, 0, 0};
        zloop_poller_end (self->loop, &old);
    }
    self->polled = 0;
    if (self->events && fd >= 0) {
        zmq_pollitem_t item = {NULL, fd, self->events, 0};
        if (zloop_poller (self->loop, &item, s_on_io, self) == 0) {
            self->polled = self->events;
            self->polled_fd = fd;
        }
    }
}

static void s_add_read (void *data)
{
    ph_redis_t *self = data;
    self->events |= ZMQ_POLLIN;
    s_update_poller (self);
}
static void s_del_read (void *data)
{
    ph_redis_t *self = data;
    self->events &= (short)~ZMQ_POLLIN;
    s_update_poller (self);
}
static void s_add_write (void *data)
{
    ph_redis_t *self = data;
    self->events |= ZMQ_POLLOUT;
    s_update_poller (self);
}
static void s_del_write (void *data)
{
    ph_redis_t *self = data;
    self->events &= (short)~ZMQ_POLLOUT;
    s_update_poller (self);
}
static void s_cleanup (void *data)
{
    ph_redis_t *self = data;
    self->events = 0;
    s_update_poller (self);
}

static void s_schedule_retry (ph_redis_t *self);

static void s_on_connect (const redisAsyncContext *ac, int status)
{
    ph_redis_t *self = ac->data;
    if (status != REDIS_OK) {
        if (self->failures++ % 60 == 0)
            ph_warn ("redis %s:%d: %s; retrying every %d ms", self->host, self->port, ac->errstr,
                     PH_REDIS_RETRY_MS);
        self->ac = NULL; /* hiredis frees the context after this callback */
        s_schedule_retry (self);
        return;
    }
    self->connected = true;
    self->failures = 0;
    if (self->db)
        redisAsyncCommand (self->ac, NULL, NULL, "SELECT %d", self->db);
    ph_info ("redis %s:%d connected", self->host, self->port);
    if (self->on_state)
        self->on_state (self, true, self->arg);
}

static void s_on_disconnect (const redisAsyncContext *ac, int status)
{
    ph_redis_t *self = ac->data;
    (void)status;
    bool was = self->connected;
    self->connected = false;
    self->ac = NULL;
    if (self->destroying)
        return;
    ph_warn ("redis %s:%d connection lost; reconnecting", self->host, self->port);
    s_schedule_retry (self);
    if (was && self->on_state)
        self->on_state (self, false, self->arg);
}

static int s_connect (ph_redis_t *self)
{
    redisAsyncContext *ac = self->port ? redisAsyncConnect (self->host, self->port)
                                       : redisAsyncConnectUnix (self->host);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree (ac);
        return PH_EREDIS;
    }
    ac->data = self;
    ac->ev.data = self;
    ac->ev.addRead = s_add_read;
    ac->ev.delRead = s_del_read;
    ac->ev.addWrite = s_add_write;
    ac->ev.delWrite = s_del_write;
    ac->ev.cleanup = s_cleanup;
    self->ac = ac;
    redisAsyncSetConnectCallback (ac, s_on_connect);
    redisAsyncSetDisconnectCallback (ac, s_on_disconnect);
    /* hiredis wants to know when the non-blocking connect completes */
    s_add_write (self);
    return 0;
}

static int s_on_retry (zloop_t *loop, int timer_id, void *arg)
{
    (void)loop;
    (void)timer_id;
    ph_redis_t *self = arg;
    self->retry_timer = -1;
    if (!self->ac && s_connect (self) != 0)
        s_schedule_retry (self);
    return 0;
}

static void s_schedule_retry (ph_redis_t *self)
{
    if (self->retry_timer < 0 && self->loop)
        self->retry_timer = zloop_timer (self->loop, PH_REDIS_RETRY_MS, 1, s_on_retry, self);
}

ph_redis_t *ph_redis_new (zloop_t *loop, const char *url, ph_redis_state_fn *on_state, void *arg)
{
    ph_redis_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (ph_redis_parse_url (url, self->host, &self->port, &self->db) != 0) {
        free (self);
        return NULL;
    }
    self->loop = loop;
    self->retry_timer = -1;
    self->polled_fd = -1;
    self->on_state = on_state;
    self->arg = arg;
    if (s_connect (self) != 0)
        s_schedule_retry (self);
    return self;
}

void ph_redis_destroy (ph_redis_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ph_redis_t *self = *self_p;
    if (self->retry_timer >= 0)
        zloop_timer_end (self->loop, self->retry_timer);
    self->on_state = NULL;
    self->destroying = true;
    if (self->ac)
        redisAsyncFree (self->ac);
    free (self);
    *self_p = NULL;
}

bool ph_redis_connected (ph_redis_t *self)
{
    return self && self->connected;
}

typedef struct {
    ph_redis_t *redis;
    ph_redis_fn *fn;
    void *arg;
} s_pending_t;

static void s_on_reply (redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    s_pending_t *p = privdata;
    if (p->fn)
        p->fn (p->redis, reply, p->arg);
    free (p);
}

int ph_redis_cmdargv (ph_redis_t *self, ph_redis_fn *fn, void *arg, int argc, const char **argv,
                      const size_t *argvlen)
{
    if (!self->connected)
        return PH_EREDIS;
    s_pending_t *p = malloc (sizeof *p);
    *p = (s_pending_t){self, fn, arg};
    if (redisAsyncCommandArgv (self->ac, s_on_reply, p, argc, argv, argvlen) != REDIS_OK) {
        free (p);
        return PH_EREDIS;
    }
    return 0;
}

/*  A subscription's callback runs for every message; its context lives
 *  until hiredis calls it with NULL (disconnect or free). */
static void s_on_message (redisAsyncContext *ac, void *reply, void *privdata)
{
    (void)ac;
    s_pending_t *p = privdata;
    if (p->fn)
        p->fn (p->redis, reply, p->arg);
    if (!reply)
        free (p);
}

int ph_redis_subscribe (ph_redis_t *self, const char *channel, ph_redis_fn *fn, void *arg)
{
    if (!self->connected)
        return PH_EREDIS;
    s_pending_t *p = malloc (sizeof *p);
    *p = (s_pending_t){self, fn, arg};
    if (redisAsyncCommand (self->ac, s_on_message, p, "SUBSCRIBE %s", channel) != REDIS_OK) {
        free (p);
        return PH_EREDIS;
    }
    return 0;
}

int ph_redis_cmd (ph_redis_t *self, ph_redis_fn *fn, void *arg, const char *fmt, ...)
{
    if (!self->connected)
        return PH_EREDIS;
    s_pending_t *p = malloc (sizeof *p);
    *p = (s_pending_t){self, fn, arg};
    va_list ap;
    va_start (ap, fmt);
    int rc = redisvAsyncCommand (self->ac, s_on_reply, p, fmt, ap);
    va_end (ap);
    if (rc != REDIS_OK) {
        free (p);
        return PH_EREDIS;
    }
    return 0;
}

bool ph_reply_ok (const ph_reply_t *r)
{
    return r && r->type != REDIS_REPLY_ERROR;
}
bool ph_reply_is_error (const ph_reply_t *r)
{
    return !r || r->type == REDIS_REPLY_ERROR;
}
bool ph_reply_is_nil (const ph_reply_t *r)
{
    return r && r->type == REDIS_REPLY_NIL;
}
bool ph_reply_is_array (const ph_reply_t *r)
{
    return r && r->type == REDIS_REPLY_ARRAY;
}
bool ph_reply_is_int (const ph_reply_t *r)
{
    return r && r->type == REDIS_REPLY_INTEGER;
}

const char *ph_reply_str (const ph_reply_t *r)
{
    if (r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
              r->type == REDIS_REPLY_ERROR))
        return r->str;
    return NULL;
}

size_t ph_reply_len (const ph_reply_t *r)
{
    return ph_reply_str (r) ? r->len : 0;
}

long long ph_reply_int (const ph_reply_t *r)
{
    if (r && r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r && r->type == REDIS_REPLY_STRING)
        return strtoll (r->str, NULL, 10);
    return 0;
}

size_t ph_reply_count (const ph_reply_t *r)
{
    return ph_reply_is_array (r) ? r->elements : 0;
}

ph_reply_t *ph_reply_at (const ph_reply_t *r, size_t i)
{
    return i < ph_reply_count (r) ? r->element[i] : NULL;
}

const char *ph_reply_field (const ph_reply_t *r, const char *field)
{
    for (size_t i = 0; i + 1 < ph_reply_count (r); i += 2) {
        const char *k = ph_reply_str (r->element[i]);
        if (k && strcmp (k, field) == 0)
            return ph_reply_str (r->element[i + 1]);
    }
    return NULL;
}

struct _ph_redis_sync_t {
    redisContext *c;
};

ph_redis_sync_t *ph_redis_sync_new (const char *url, char *err, size_t errlen)
{
    char host[256];
    int port, db;
    if (ph_redis_parse_url (url, host, &port, &db) != 0) {
        snprintf (err, errlen, "bad Redis URL '%s': use redis://HOST:PORT or unix:///PATH", url);
        return NULL;
    }
    struct timeval tv = {5, 0};
    redisContext *c = port ? redisConnectWithTimeout (host, port, tv) : redisConnectUnix (host);
    if (!c || c->err) {
        snprintf (err, errlen, "cannot reach Redis at %s: %s", url, c ? c->errstr : "no memory");
        if (c)
            redisFree (c);
        return NULL;
    }
    redisSetTimeout (c, tv);
    ph_redis_sync_t *self = calloc (1, sizeof *self);
    self->c = c;
    if (db) {
        redisReply *r = redisCommand (c, "SELECT %d", db);
        freeReplyObject (r);
    }
    return self;
}

void ph_redis_sync_destroy (ph_redis_sync_t **self_p)
{
    if (self_p && *self_p) {
        redisFree ((*self_p)->c);
        free (*self_p);
        *self_p = NULL;
    }
}

ph_reply_t *ph_redis_sync_cmd (ph_redis_sync_t *self, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    void *r = redisvCommand (self->c, fmt, ap);
    va_end (ap);
    return r;
}

ph_reply_t *ph_redis_sync_cmdargv (ph_redis_sync_t *self, int argc, const char **argv,
                                   const size_t *argvlen)
{
    return redisCommandArgv (self->c, argc, argv, argvlen);
}

void ph_reply_free (ph_reply_t **r)
{
    if (r && *r) {
        freeReplyObject (*r);
        *r = NULL;
    }
}
