/*  ph_keycache: CURVE key -> identity for ZAP, cached with an expiry (see
 *  ph_keycache.h). The cache is a zhashx of entries; when it would grow
 *  past its limit it is emptied rather than evicted entry by entry, which
 *  is cheap and only costs a few Redis reads afterwards.
 */
#include "ph_keycache.h"
#include "ph_keys.h"
#include "ph_log.h"
#include "ph_util.h"
#include "ph_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char identity[PH_USER_ID_MAX];
    uint64_t expires_mono;
} s_entry_t;

#define PH_KEYCACHE_WARN_MS 10000 /* at most one "handshakes wait" warning per this */

struct _ph_keycache_t {
    zhashx_t *entries; /* Z85 -> s_entry_t */
    size_t max_entries;
    uint64_t ttl_ms;
    ph_keycache_map_fn *map;
    uint64_t warned_mono; /* last "handshakes wait" warning */
};

/*  One GET in flight: who to answer and for which key. */
typedef struct {
    ph_keycache_t *cache;
    ph_zap_t *zap;
    ph_zap_request_t *req;
    char key[PH_Z85_KEY_LEN + 1];
} s_lookup_t;

static void s_free_entry (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

ph_keycache_t *ph_keycache_new (size_t max_entries, uint64_t ttl_ms, ph_keycache_map_fn *map)
{
    assert (map);
    ph_keycache_t *self = calloc (1, sizeof *self);
    assert (self);
    self->entries = zhashx_new ();
    assert (self->entries);
    zhashx_set_destructor (self->entries, s_free_entry);
    self->max_entries = max_entries;
    self->ttl_ms = ttl_ms;
    self->map = map;
    return self;
}

void ph_keycache_destroy (ph_keycache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->entries);
    free (*self_p);
    *self_p = NULL;
}

void ph_keycache_put (ph_keycache_t *self, const char *key_z85, const char *identity)
{
    s_entry_t *e = calloc (1, sizeof *e);
    assert (e);
    snprintf (e->identity, sizeof e->identity, "%s", identity);
    e->expires_mono = ph_mono_ms () + self->ttl_ms;
    if (zhashx_size (self->entries) >= self->max_entries)
        zhashx_purge (self->entries);
    zhashx_update (self->entries, key_z85, e);
}

void ph_keycache_forget (ph_keycache_t *self, const char *key_z85)
{
    zhashx_delete (self->entries, key_z85);
}

void ph_keycache_purge_expired (ph_keycache_t *self)
{
    uint64_t now = ph_mono_ms ();
    zlistx_t *keys = zhashx_keys (self->entries);
    for (const char *k = zlistx_first (keys); k; k = zlistx_next (keys)) {
        s_entry_t *e = zhashx_lookup (self->entries, k);
        if (e->expires_mono <= now)
            zhashx_delete (self->entries, k);
    }
    zlistx_destroy (&keys);
}

/*  The answer cannot be had now: hold the handshake (ph_zap asks again),
 *  with one warning per PH_KEYCACHE_WARN_MS however many wait. */
static void s_hold (ph_keycache_t *self, ph_zap_t *zap, ph_zap_request_t *req, const char *why)
{
    uint64_t now = ph_mono_ms ();
    ph_zap_hold (zap, req);
    if (now - self->warned_mono >= PH_KEYCACHE_WARN_MS) {
        ph_warn ("zap: cannot look up client keys (%s); %zu handshakes wait for Redis (none is "
                 "refused)",
                 why, ph_zap_held (zap));
        self->warned_mono = now;
    }
}

static void s_on_key_reply (ph_redis_t *redis, ph_reply_t *reply, void *arg)
{
    (void)redis;
    s_lookup_t *z = arg;
    if (!ph_reply_ok (reply)) {
        s_hold (z->cache, z->zap, z->req, reply ? ph_reply_str (reply) : "Redis connection lost");
        free (z);
        return;
    }
    char identity[PH_USER_ID_MAX];
    z->cache->map (ph_reply_str (reply), z->key, identity, sizeof identity);
    ph_keycache_put (z->cache, z->key, identity);
    ph_zap_reply (z->zap, z->req, identity);
    free (z);
}

void ph_keycache_resolve (ph_keycache_t *self, ph_redis_t *redis, ph_zap_t *zap,
                          ph_zap_request_t *req, const char *key_z85)
{
    s_entry_t *e = zhashx_lookup (self->entries, key_z85);
    if (e && e->expires_mono > ph_mono_ms ()) {
        ph_zap_reply (zap, req, e->identity);
        return;
    }
    s_lookup_t *z = calloc (1, sizeof *z);
    assert (z);
    z->cache = self;
    z->zap = zap;
    z->req = req;
    snprintf (z->key, sizeof z->key, "%s", key_z85);
    if (ph_redis_cmd (redis, s_on_key_reply, z, "GET ph:key:{%s}", key_z85) != 0) {
        s_hold (self, zap, req, "Redis is not connected");
        free (z);
    }
}
