/*  ph_keycache: the ZAP lookup that daemons share. It answers each CURVE
 *  handshake with the identity of the client key, read from ph:key:{Z85}
 *  in Redis (async GET) and remembered for a while, so that reconnecting
 *  peers cost no Redis round trip (STYLE.md habit 9).
 *
 *  Each daemon decides how a stored value becomes an identity (its map
 *  function), e.g. "instance:mi-..." as is, "key:Z85" for a key nobody
 *  registered. Runs on the daemon's reactor; nothing here blocks.
 *
 *  A handshake is never refused because of Redis: libzmq 4.3.4 does not
 *  reconnect a client whose handshake was refused, so a refusal in the
 *  first milliseconds after a restart (Redis not connected yet) used to
 *  lock agents out for good. Such handshakes wait instead (ph_zap_hold).
 */
#ifndef PH_KEYCACHE_H
#define PH_KEYCACHE_H

#include "ph_redis.h"
#include "ph_zap.h"

#include <stddef.h>
#include <stdint.h>

typedef struct _ph_keycache_t ph_keycache_t;

/*  Turns value (the text stored at ph:key:{key_z85}, NULL when there is
 *  none) into the identity handed to ZAP, written to identity (len bytes). */
typedef void (ph_keycache_map_fn) (const char *value, const char *key_z85, char *identity,
                                   size_t len);

/*  An empty cache that keeps each identity for ttl_ms and is emptied when
 *  it would hold more than max_entries. Never NULL. */
ph_keycache_t *ph_keycache_new (size_t max_entries, uint64_t ttl_ms, ph_keycache_map_fn *map);

/*  Destroys the cache. Destroy the Redis connection first: lookups still
 *  in flight refer to the cache. Accepts NULL; sets *self_p to NULL. */
void ph_keycache_destroy (ph_keycache_t **self_p);

/*  Remembers (for ttl_ms) that key_z85 maps to identity, e.g. right after
 *  an enrollment wrote it. Copies both. */
void ph_keycache_put (ph_keycache_t *self, const char *key_z85, const char *identity);

/*  Forgets what was cached for key_z85 (a key added or removed). */
void ph_keycache_forget (ph_keycache_t *self, const char *key_z85);

/*  Drops every expired entry (from a housekeeping timer). */
void ph_keycache_purge_expired (ph_keycache_t *self);

/*  Answers req on zap with the identity of key_z85: at once from the
 *  cache, else after an async GET on redis (the answer is cached). While
 *  the answer cannot be had (Redis not connected yet, the connection lost
 *  during the GET, an error reply such as LOADING) the request is held
 *  (ph_zap_hold), never refused: ph_zap asks again, and the daemon's
 *  lookup calls this once more. Exactly one ph_zap_reply or ph_zap_hold
 *  per call, now or later. */
void ph_keycache_resolve (ph_keycache_t *self, ph_redis_t *redis, ph_zap_t *zap,
                          ph_zap_request_t *req, const char *key_z85);

#endif
