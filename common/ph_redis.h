/*  ph_redis: the one module that includes hiredis (STYLE.md habit 12).
 *
 *  Async: a hiredis async context attached to a czmq zloop, so that daemons
 *  talk to Redis without a blocking round trip (DESIGN.md §5). Commands are
 *  pipelined in order; each callback gets the reply, or NULL when the
 *  connection failed before it came. The connection is re-established in
 *  the background; while it is down, ph_redis_cmd returns PH_EREDIS and
 *  calls nothing.
 *
 *  Sync: a blocking connection for command-line tools and tests only.
 *
 *  URLs: redis://HOST:PORT[/DB] or unix:///PATH.
 */
#ifndef PH_REDIS_H
#define PH_REDIS_H

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _ph_redis_t ph_redis_t;
typedef struct redisReply ph_reply_t;

/*  Called with the reply (owned by ph_redis, valid during the call) or NULL
 *  when the command could not complete. */
typedef void (ph_redis_fn) (ph_redis_t *redis, ph_reply_t *reply, void *arg);

/*  Called once each time the connection comes up (connected true) or goes
 *  down (false). May be NULL. */
typedef void (ph_redis_state_fn) (ph_redis_t *redis, bool connected, void *arg);

/*  Starts connecting to url on loop. Returns NULL only for a bad URL. */
ph_redis_t *ph_redis_new (zloop_t *loop, const char *url, ph_redis_state_fn *on_state, void *arg);
void ph_redis_destroy (ph_redis_t **self_p);
bool ph_redis_connected (ph_redis_t *self);

/*  Queues a command (printf-like, hiredis %s/%b/%d/%lld). Returns 0 or
 *  PH_EREDIS when not connected (fn is then not called). */
int ph_redis_cmd (ph_redis_t *self, ph_redis_fn *fn, void *arg, const char *fmt, ...);

/*  SUBSCRIBE channel: fn is called with each reply of the subscription
 *  (["subscribe", channel, n], then ["message", channel, payload] per
 *  message) and once with NULL when the connection goes (subscribe again
 *  when it is back). A connection that subscribed can send nothing else:
 *  give subscriptions their own ph_redis_t. Returns 0 or PH_EREDIS. */
int ph_redis_subscribe (ph_redis_t *self, const char *channel, ph_redis_fn *fn, void *arg);

/*  Queues a command given as argv (binary safe). */
int ph_redis_cmdargv (ph_redis_t *self, ph_redis_fn *fn, void *arg, int argc, const char **argv,
                      const size_t *argvlen);

/*  Reply accessors; all accept NULL. */
bool ph_reply_ok (const ph_reply_t *r); /* not NULL and not an error */
bool ph_reply_is_error (const ph_reply_t *r);
bool ph_reply_is_nil (const ph_reply_t *r);
bool ph_reply_is_array (const ph_reply_t *r);
bool ph_reply_is_int (const ph_reply_t *r);
/*  Text of a string, status or error reply; NULL for other types. */
const char *ph_reply_str (const ph_reply_t *r);
size_t ph_reply_len (const ph_reply_t *r);
long long ph_reply_int (const ph_reply_t *r);
size_t ph_reply_count (const ph_reply_t *r);
ph_reply_t *ph_reply_at (const ph_reply_t *r, size_t i);
/*  In a flat [field, value, ...] array (HGETALL), the value of field. */
const char *ph_reply_field (const ph_reply_t *r, const char *field);

/*  Blocking client for tools and tests. */
typedef struct _ph_redis_sync_t ph_redis_sync_t;
ph_redis_sync_t *ph_redis_sync_new (const char *url, char *err, size_t errlen);
void ph_redis_sync_destroy (ph_redis_sync_t **self_p);
/*  Runs one command; the caller frees the reply with ph_reply_free. NULL
 *  when the connection failed. */
ph_reply_t *ph_redis_sync_cmd (ph_redis_sync_t *self, const char *fmt, ...);
ph_reply_t *ph_redis_sync_cmdargv (ph_redis_sync_t *self, int argc, const char **argv,
                                   const size_t *argvlen);
void ph_reply_free (ph_reply_t **r);

/*  Parses a Redis URL. host must hold 256 bytes; for unix:// URLs, host
 *  receives the path and *port is 0. Returns 0 or PH_EINVAL. */
int ph_redis_parse_url (const char *url, char *host, int *port, int *db);

#endif
