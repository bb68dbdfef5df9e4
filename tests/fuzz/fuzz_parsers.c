/*  libFuzzer target: the text parsers of user input and peer input in
 *  common/: tags, durations, booleans, numbers, UTF-8, tokens, Redis URLs
 *  and config files, base64 and sealed log messages / wrapped keys. */
#include "ph_config.h"
#include "ph_crypto.h"
#include "ph_logcrypt.h"
#include "ph_redis.h"
#include "ph_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void s_config (const uint8_t *data, size_t size)
{
    char path[64], err[256];
    snprintf (path, sizeof path, "/tmp/ph-fuzz-config-%d", (int)getpid ());
    FILE *f = fopen (path, "wb");
    if (!f)
        return;
    fwrite (data, 1, size, f);
    fclose (f);
    ph_config_t *c = ph_config_load (path, err, sizeof err);
    if (c) {
        ph_config_get (c, "profile default", "endpoint");
        ph_config_set (c, "s", "k", "v");
        ph_config_destroy (&c);
    }
    unlink (path);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    memcpy (text, data, size);
    text[size] = 0;
    ph_tag_t tags[PH_TAGS_MAX];
    char err[256], host[256];
    uint64_t v;
    bool b;
    int port, db;
    ph_parse_tags (text, tags, PH_TAGS_MAX, err, sizeof err);
    ph_parse_duration (text, &v);
    ph_parse_bool (text, &b);
    ph_parse_uint (text, 1, 1000, &v);
    ph_utf8_valid ((const char *)data, size);
    ph_name_valid (text);
    ph_instance_id_valid (text);
    ph_token_verify ("k", 1, text, "s", "u", 1);
    ph_redis_parse_url (text, host, &port, &db);
    s_config (data, size);
    uint8_t *b64 = malloc (size / 4 * 3 + 1);
    ph_base64_decode (text, size, b64);
    free (b64);
    static const uint8_t key[PH_AEAD_KEY_LEN] = {1};
    uint8_t dk[PH_AEAD_KEY_LEN];
    size_t len;
    free (ph_logcrypt_open (key, "g", "s", text, &len));
    ph_logcrypt_unwrap (key, "g", text, dk);
    free (text);
    return 0;
}
