/*  ph_config: small "key = value" files with optional [section] headers,
 *  as used by the CLI (config, one [profile NAME] section per profile) and
 *  the agent (agent.conf). Lines starting with # or ; are comments.
 *  Files are read and written whole; callers do so outside any reactor.
 */
#ifndef PH_CONFIG_H
#define PH_CONFIG_H

#include <stddef.h>

typedef struct _ph_config_t ph_config_t;

/*  Loads path; a missing file gives an empty config. Returns NULL when the
 *  file exists but cannot be read or has a malformed line (err says which). */
ph_config_t *ph_config_load (const char *path, char *err, size_t errlen);
ph_config_t *ph_config_new (void);
void ph_config_destroy (ph_config_t **self_p);

/*  The value of key in section ("" for keys before any header), or NULL. */
const char *ph_config_get (const ph_config_t *self, const char *section, const char *key);

/*  Sets (or adds) key in section. Returns 0 or PH_EINVAL for values with a
 *  newline. */
int ph_config_set (ph_config_t *self, const char *section, const char *key, const char *value);

/*  Writes the config to path atomically with mode. Returns 0 or PH_EIO. */
int ph_config_save (const ph_config_t *self, const char *path, unsigned mode);

#endif
