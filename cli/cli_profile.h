/*  cli_profile: where the CLI finds its controller and its key.
 *
 *  $PORTHOLE_CONFIG_DIR (default ~/.config/porthole, mode 0700) holds
 *  `config` ([profile NAME] sections with endpoint= and server_key=) and
 *  one keypair per profile, NAME.key (0600). $PORTHOLE_ENDPOINT and
 *  $PORTHOLE_SERVER_KEY override the profile's values.
 */
#ifndef CLI_PROFILE_H
#define CLI_PROFILE_H

#include "cli.h"
#include "cli_args.h"
#include "ph_keys.h"

#include <stddef.h>

typedef struct {
    char endpoint[CLI_ENDPOINT_MAX];
    char server_key[PH_Z85_KEY_LEN + 1];
    ph_keypair_t kp;
} cli_creds_t;

/*  Fills buf with the configuration directory. Returns 0 or PH_EINVAL when
 *  neither $PORTHOLE_CONFIG_DIR nor a home directory is known. */
int cli_profile_dir (char *buf, size_t len);

/*  True for tcp://HOST:PORT (HOST a name, an IPv4 address or [IPv6], PORT
 *  1..65535); otherwise false with the reason in err. */
bool cli_endpoint_valid (const char *endpoint, char *err, size_t errlen);

/*  Resolves endpoint, server key and the user's keypair for ctx->profile.
 *  Returns PH_EXIT_OK, or prints what is missing and how to fix it and
 *  returns PH_EXIT_CONFIG. Reads files (blocks on the disk). */
int cli_profile_load (const cli_ctx_t *ctx, cli_creds_t *creds);

/*  The configure verb (see its --help). Returns an exit code. */
int cli_verb_configure (cli_ctx_t *ctx, const cli_args_t *args);

#endif
