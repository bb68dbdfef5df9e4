/*  ph_keys: CURVE keypairs (Z85 text) and the one place where sockets get
 *  their security options (DESIGN.md §2).
 *
 *  Key file format (mode 0600):   public <40 Z85 chars>\nsecret <40 Z85 chars>\n
 *  Every socket gets ZMQ_MAXMSGSIZE = PH_MSG_MAX, so a peer that sends a
 *  bigger frame is disconnected by libzmq before any of it is read.
 */
#ifndef PH_KEYS_H
#define PH_KEYS_H

#include <czmq.h>
#include <stdbool.h>

#define PH_Z85_KEY_LEN 40

typedef struct {
    char public_z85[PH_Z85_KEY_LEN + 1];
    char secret_z85[PH_Z85_KEY_LEN + 1];
} ph_keypair_t;

/*  Generates a new keypair. Returns 0 or PH_EIO. */
int ph_keys_generate (ph_keypair_t *kp);

/*  Writes kp to path with mode 0600 (atomic). Blocks on disk. */
int ph_keys_save (const ph_keypair_t *kp, const char *path);

/*  Reads a key file written by ph_keys_save. Returns 0, PH_ENOENT or
 *  PH_EINVAL (malformed, or readable by group/others). */
int ph_keys_load (const char *path, ph_keypair_t *kp);

/*  True when text is 40 Z85 characters that decode to a 32-byte key. */
bool ph_keys_z85_valid (const char *text);

/*  Makes sock a CURVE server with keypair kp whose handshakes all go through
 *  the ZAP handler under zap_domain (ZMQ_ZAP_ENFORCE_DOMAIN=1). Call before
 *  bind, after the ZAP handler is bound. No ZMTP heartbeats (they cost the
 *  I/O thread O(N^2) with N connections in libzmq 4.3): TCP keepalive
 *  instead; the server detects silent peers itself. Returns 0 or
 *  PH_EINVAL. */
int ph_keys_setup_server (zsock_t *sock, const ph_keypair_t *kp, const char *zap_domain);

/*  Makes sock a CURVE client of the server whose public key is server_z85,
 *  with ZMTP heartbeats (2 s; a server silent for 6 s is dropped and
 *  reconnected). Call before connect. Returns 0 or PH_EINVAL. */
int ph_keys_setup_client (zsock_t *sock, const ph_keypair_t *kp, const char *server_z85);

#endif
