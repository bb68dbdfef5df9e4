/*  ph_wire: the one decoder and validator of every frame (DESIGN.md §2-3,
 *  STYLE.md habit 6), and the helpers that put envelopes on sockets.
 *
 *  Only this module calls protobuf-c (pack, unpack, descriptors). Other
 *  modules read and build the generated message structs, named here with
 *  ph_ aliases; they never see a frame that did not pass ph_wire_decode().
 *
 *  Validation: version == PH_WIRE_VERSION; a body is set; every string is
 *  UTF-8 of at most PH_STR_MAX bytes; bytes fields at most PH_PAYLOAD_MAX;
 *  repeated fields at most PH_REPEATED_MAX entries; every enum value is
 *  known; the required fields of each body are present (see ph_wire.c).
 */
#ifndef PH_WIRE_H
#define PH_WIRE_H

#include "porthole.pb-c.h"

#include <czmq.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PH_WIRE_VERSION 1
#define PH_MSG_MAX      (1024 * 1024) /* one frame, ZMQ_MAXMSGSIZE */
#define PH_PAYLOAD_MAX  (64 * 1024)   /* StreamData payload */
#define PH_STR_MAX      16384         /* any string field */
#define PH_REPEATED_MAX 20000         /* any repeated field */
#define PH_ROUTING_MAX  256           /* ZeroMQ routing id */
#define PH_USER_ID_MAX  256           /* ZAP User-Id property */
#define PH_ERRTEXT_MAX  512

typedef Porthole__V1__Envelope ph_env_t;
typedef Porthole__V1__StreamData ph_stream_data_t;
typedef Porthole__V1__Envelope__BodyCase ph_body_t;

#define PH_ENV_INIT PORTHOLE__V1__ENVELOPE__INIT

/*  Unpacks and validates one frame. On success *env holds a message that
 *  the caller frees with ph_wire_free. On failure returns PH_ETOOBIG or
 *  PH_EPROTO and writes the reason to err. Never crashes on any input. */
int ph_wire_decode (const void *buf, size_t len, ph_env_t **env, char *err, size_t errlen);

void ph_wire_free (ph_env_t **env_p);

/*  Validates an already built message (the checks of ph_wire_decode minus
 *  unpacking). Returns 0 or PH_EPROTO with the reason in err. */
int ph_wire_validate (const ph_env_t *env, char *err, size_t errlen);

/*  Packs env into a new heap buffer of *len bytes that the caller frees.
 *  Returns NULL when env is over PH_MSG_MAX. */
uint8_t *ph_wire_encode (const ph_env_t *env, size_t *len);

/*  A received frame with the identity that ZAP gave its peer. */
typedef struct {
    uint8_t routing_id[PH_ROUTING_MAX]; /* ROUTER only: the peer's routing id */
    size_t routing_id_len;
    char user_id[PH_USER_ID_MAX]; /* "user:NAME", "instance:mi-...", "key:Z85" or "" */
    zmq_msg_t frame;              /* the envelope bytes, for forwarding as is */
    bool has_frame;
} ph_wire_rx_t;

/*  Receives one message from sock (ROUTER: [routing id][frame]; DEALER:
 *  [frame]) without blocking, decodes and validates it. Returns 0 with *env
 *  set; PH_EPROTO/PH_ETOOBIG for a bad frame (rx still names the peer, err
 *  says why); PH_EIO when nothing could be read. The caller calls
 *  ph_wire_rx_close(rx) in every case. */
int ph_wire_recv (zsock_t *sock, bool router, ph_wire_rx_t *rx, ph_env_t **env, char *err,
                  size_t errlen);

void ph_wire_rx_close (ph_wire_rx_t *rx);

/*  Sends env on sock, to routing_id when sock is a ROUTER (rid != NULL).
 *  Never blocks: a full queue drops the message (the session streams
 *  retransmit). Returns 0, PH_ETOOBIG or PH_EIO. */
int ph_wire_send (zsock_t *sock, const uint8_t *rid, size_t rid_len, const ph_env_t *env);

/*  Sends the frame of rx, unchanged, on a ROUTER to rid. Returns 0 or PH_EIO. */
int ph_wire_forward (zsock_t *sock, const uint8_t *rid, size_t rid_len, ph_wire_rx_t *rx);

/*  Sends Error{code, message} as the reply to request_id. */
int ph_wire_send_error (zsock_t *sock, const uint8_t *rid, size_t rid_len, uint64_t request_id,
                        const char *code, const char *fmt, ...)
    __attribute__ ((format (printf, 6, 7)));

/*  The next event waiting on a socket monitor (the PAIR connected to
 *  zmq_socket_monitor's endpoint; messages [uint16 event, uint32 value]
 *  [endpoint]), without blocking: true with *event set, false when none
 *  waits. */
bool ph_wire_monitor_next (zsock_t *monitor, uint16_t *event);

/*  The name of a body case, for logs ("stream_data"); "?" when unknown. */
const char *ph_wire_body_name (ph_body_t body);

#endif
