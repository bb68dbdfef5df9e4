/*  ph_wire: see ph_wire.h.
 *
 *  Validation walks the protobuf-c descriptors, so that a new message or
 *  field is checked for size, UTF-8 and enum range without new code; only
 *  the required fields of each body are listed by hand (s_required).
 */
#include "ph_wire.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PH_NEST_MAX     8 /* nesting depth of messages */
#define PH_MONITOR_HEAD 6 /* a monitor event's first part: uint16 event, uint32 value */

typedef struct {
    ph_body_t body;
    const char *fields[4]; /* string fields that must not be empty */
} s_required_t;

static const s_required_t s_required[] = {
    {PORTHOLE__V1__ENVELOPE__BODY_ERROR, {"code"}},
    {PORTHOLE__V1__ENVELOPE__BODY_ENROLL, {"activation_id", "activation_code"}},
    {PORTHOLE__V1__ENVELOPE__BODY_ENROLL_REPLY, {"instance_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_HELLO_REPLY, {"instance_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_OPEN_SESSION, {"session_id", "run_as"}},
    {PORTHOLE__V1__ENVELOPE__BODY_SESSION_OPENED, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_CLOSE_SESSION, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_SESSION_ENDED, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_CREATE_ACTIVATION_REPLY, {"activation_id", "activation_code"}},
    {PORTHOLE__V1__ENVELOPE__BODY_START_SESSION, {"target"}},
    {PORTHOLE__V1__ENVELOPE__BODY_START_SESSION_REPLY, {"session_id", "stream_url", "token"}},
    {PORTHOLE__V1__ENVELOPE__BODY_TERMINATE_SESSION, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_RESUME_SESSION, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_ATTACH, {"session_id", "token"}},
    {PORTHOLE__V1__ENVELOPE__BODY_ATTACH_REPLY, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_DETACH, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_IAM, {"op"}},
    {PORTHOLE__V1__ENVELOPE__BODY_TRANSCRIPT_COMPLETE, {"session_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS, {"batch_id", "log_group", "log_stream"}},
    {PORTHOLE__V1__ENVELOPE__BODY_PUT_LOG_EVENTS_REPLY, {"batch_id"}},
    {PORTHOLE__V1__ENVELOPE__BODY_LOGS, {"op"}},
    {PORTHOLE__V1__ENVELOPE__BODY_IAM_REPLY, {"op"}},
    {PORTHOLE__V1__ENVELOPE__BODY_OPEN_DATA_KEY, {"log_group", "wrapped_key"}},
    {PORTHOLE__V1__ENVELOPE__BODY_OPEN_DATA_KEY_REPLY, {"log_group", "wrapped_key"}},
    {PORTHOLE__V1__ENVELOPE__BODY_METRICS, {"op"}},
    {PORTHOLE__V1__ENVELOPE__BODY_ALARMS, {"op"}},
    {PORTHOLE__V1__ENVELOPE__BODY_TOPICS, {"op"}},
    {PORTHOLE__V1__ENVELOPE__BODY_INSTANCE_ACTION, {"verb"}},
    {PORTHOLE__V1__ENVELOPE__BODY_INSTANCE_ACTION_RESULT, {"verb"}},
};

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int s_fail (char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    if (err && errlen)
        vsnprintf (err, errlen, fmt, ap);
    va_end (ap);
    return PH_EPROTO;
}

static int s_check_message (const ProtobufCMessage *msg, int depth, char *err, size_t errlen);

/*  Checks one value of field f stored at p. */
static int s_check_value (const ProtobufCFieldDescriptor *f, const void *p, int depth, char *err,
                          size_t errlen)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING: {
        const char *s = *(char *const *)p;
        size_t n = s ? strlen (s) : 0;
        if (n > PH_STR_MAX)
            return s_fail (err, errlen, "field %s is %zu bytes (max %d)", f->name, n, PH_STR_MAX);
        if (!ph_utf8_valid (s, n))
            return s_fail (err, errlen, "field %s is not valid UTF-8", f->name);
        return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
        const ProtobufCBinaryData *b = p;
        if (b->len > PH_PAYLOAD_MAX)
            return s_fail (err, errlen, "field %s is %zu bytes (max %d)", f->name, b->len,
                           PH_PAYLOAD_MAX);
        return 0;
    }
    case PROTOBUF_C_TYPE_ENUM: {
        int v = *(const int *)p;
        if (!protobuf_c_enum_descriptor_get_value (f->descriptor, v))
            return s_fail (err, errlen, "field %s has unknown value %d", f->name, v);
        return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
        const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
        return m ? s_check_message (m, depth + 1, err, errlen) : 0;
    }
    default:
        return 0;
    }
}

static size_t s_value_size (const ProtobufCFieldDescriptor *f)
{
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        return sizeof (char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof (ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof (ProtobufCMessage *);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof (protobuf_c_boolean);
    default:
        return 4;
    }
}

static int s_check_message (const ProtobufCMessage *msg, int depth, char *err, size_t errlen)
{
    if (depth > PH_NEST_MAX)
        return s_fail (err, errlen, "messages nested deeper than %d", PH_NEST_MAX);
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    const char *base = (const char *)msg;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            uint32_t which = *(const uint32_t *)(base + f->quantifier_offset);
            if (which != f->id)
                continue;
        }
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const char *arr = *(char *const *)(base + f->offset);
            if (n > PH_REPEATED_MAX)
                return s_fail (err, errlen, "field %s has %zu entries (max %d)", f->name, n,
                               PH_REPEATED_MAX);
            for (size_t k = 0; k < n; k++)
                if (s_check_value (f, arr + k * s_value_size (f), depth, err, errlen))
                    return PH_EPROTO;
        } else if (s_check_value (f, base + f->offset, depth, err, errlen))
            return PH_EPROTO;
    }
    return 0;
}

/*  The body message of env (NULL when none) and the descriptor field. */
static const ProtobufCMessage *s_body (const ph_env_t *env)
{
    const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field (
        &porthole__v1__envelope__descriptor, (unsigned)env->body_case);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(ProtobufCMessage *const *)((const char *)env + f->offset);
}

static int s_check_required (const ph_env_t *env, const ProtobufCMessage *body, char *err,
                             size_t errlen)
{
    for (size_t i = 0; i < sizeof s_required / sizeof s_required[0]; i++) {
        if (s_required[i].body != env->body_case)
            continue;
        for (int k = 0; k < 4 && s_required[i].fields[k]; k++) {
            const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name (
                body->descriptor, s_required[i].fields[k]);
            const char *s = *(char *const *)((const char *)body + f->offset);
            if (!s || !*s)
                return s_fail (err, errlen, "%s: required field %s is empty",
                               ph_wire_body_name (env->body_case), f->name);
        }
    }
    return 0;
}

static int s_check_stream_data (const ph_stream_data_t *sd, char *err, size_t errlen)
{
    bool ack_only = sd->kind == PORTHOLE__V1__STREAM_KIND__ACK;
    if (sd->kind == PORTHOLE__V1__STREAM_KIND__KIND_UNSPECIFIED)
        return s_fail (err, errlen, "stream_data: kind is not set");
    if (ack_only != (sd->seq == 0))
        return s_fail (err, errlen, "stream_data: seq must be 0 exactly for ACK");
    if (ack_only && sd->payload.len)
        return s_fail (err, errlen, "stream_data: ACK carries no payload");
    return 0;
}

int ph_wire_validate (const ph_env_t *env, char *err, size_t errlen)
{
    if (env->version != PH_WIRE_VERSION)
        return s_fail (err, errlen, "unsupported version %u (this build speaks %d)", env->version,
                       PH_WIRE_VERSION);
    const ProtobufCMessage *body = s_body (env);
    if (!body)
        return s_fail (err, errlen, "envelope has no body");
    if (s_check_message (&env->base, 0, err, errlen))
        return PH_EPROTO;
    if (s_check_required (env, body, err, errlen))
        return PH_EPROTO;
    if (env->body_case == PORTHOLE__V1__ENVELOPE__BODY_STREAM_DATA)
        return s_check_stream_data (env->stream_data, err, errlen);
    return 0;
}

int ph_wire_decode (const void *buf, size_t len, ph_env_t **env, char *err, size_t errlen)
{
    *env = NULL;
    if (len > PH_MSG_MAX) {
        s_fail (err, errlen, "frame of %zu bytes is over the %d-byte limit", len, PH_MSG_MAX);
        return PH_ETOOBIG;
    }
    ph_env_t *e = porthole__v1__envelope__unpack (NULL, len, buf);
    if (!e)
        return s_fail (err, errlen, "frame of %zu bytes is not a porthole envelope", len);
    if (ph_wire_validate (e, err, errlen)) {
        porthole__v1__envelope__free_unpacked (e, NULL);
        return PH_EPROTO;
    }
    *env = e;
    return 0;
}

void ph_wire_free (ph_env_t **env_p)
{
    if (env_p && *env_p) {
        porthole__v1__envelope__free_unpacked (*env_p, NULL);
        *env_p = NULL;
    }
}

uint8_t *ph_wire_encode (const ph_env_t *env, size_t *len)
{
    size_t n = porthole__v1__envelope__get_packed_size (env);
    if (n > PH_MSG_MAX)
        return NULL;
    uint8_t *buf = malloc (n ? n : 1);
    if (!buf)
        return NULL;
    *len = porthole__v1__envelope__pack (env, buf);
    return buf;
}

static int s_recv_part (void *handle, zmq_msg_t *msg, bool *more)
{
    zmq_msg_init (msg);
    if (zmq_msg_recv (msg, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (msg);
        return PH_EIO;
    }
    *more = zmq_msg_more (msg);
    return 0;
}

/*  Reads and discards the rest of a multi-part message. */
static void s_drain (void *handle, bool more)
{
    while (more) {
        zmq_msg_t part;
        if (s_recv_part (handle, &part, &more))
            return;
        zmq_msg_close (&part);
    }
}

int ph_wire_recv (zsock_t *sock, bool router, ph_wire_rx_t *rx, ph_env_t **env, char *err,
                  size_t errlen)
{
    void *handle = zsock_resolve (sock);
    bool more = false;
    memset (rx, 0, sizeof *rx);
    *env = NULL;
    if (router) {
        zmq_msg_t rid;
        if (s_recv_part (handle, &rid, &more))
            return PH_EIO;
        rx->routing_id_len = zmq_msg_size (&rid);
        if (rx->routing_id_len > PH_ROUTING_MAX)
            rx->routing_id_len = PH_ROUTING_MAX;
        memcpy (rx->routing_id, zmq_msg_data (&rid), rx->routing_id_len);
        zmq_msg_close (&rid);
        if (!more)
            return s_fail (err, errlen, "message has no body frame");
    }
    if (s_recv_part (handle, &rx->frame, &more))
        return PH_EIO;
    rx->has_frame = true;
    const char *uid = zmq_msg_gets (&rx->frame, "User-Id");
    snprintf (rx->user_id, sizeof rx->user_id, "%s", uid ? uid : "");
    if (more) {
        s_drain (handle, more);
        return s_fail (err, errlen, "message has more than one body frame");
    }
    return ph_wire_decode (zmq_msg_data (&rx->frame), zmq_msg_size (&rx->frame), env, err, errlen);
}

void ph_wire_rx_close (ph_wire_rx_t *rx)
{
    if (rx->has_frame)
        zmq_msg_close (&rx->frame);
    rx->has_frame = false;
}

static int s_send_frames (zsock_t *sock, const uint8_t *rid, size_t rid_len, const void *data,
                          size_t len)
{
    void *handle = zsock_resolve (sock);
    if (rid && zmq_send (handle, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return PH_EIO;
    if (zmq_send (handle, data, len, ZMQ_DONTWAIT) < 0)
        return PH_EIO;
    return 0;
}

int ph_wire_send (zsock_t *sock, const uint8_t *rid, size_t rid_len, const ph_env_t *env)
{
    size_t len;
    uint8_t *buf = ph_wire_encode (env, &len);
    if (!buf)
        return PH_ETOOBIG;
    int rc = s_send_frames (sock, rid, rid_len, buf, len);
    free (buf);
    return rc;
}

int ph_wire_forward (zsock_t *sock, const uint8_t *rid, size_t rid_len, ph_wire_rx_t *rx)
{
    return s_send_frames (sock, rid, rid_len, zmq_msg_data (&rx->frame), zmq_msg_size (&rx->frame));
}

/*  Makes text valid UTF-8 in place: "%.64s" of a name, or the size of the
 *  buffer, may cut a character, and a receiver drops a frame whose strings
 *  are not UTF-8 (then it never learns why its request failed). A byte
 *  that does not start a whole character becomes '?'. */
static void s_utf8_repair (char *text)
{
    size_t len = strlen (text);
    for (size_t i = 0; i < len;) {
        uint8_t c = (uint8_t)text[i];
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        if (i + n <= len && ph_utf8_valid (text + i, n))
            i += n;
        else
            text[i++] = '?';
    }
}

int ph_wire_send_error (zsock_t *sock, const uint8_t *rid, size_t rid_len, uint64_t request_id,
                        const char *code, const char *fmt, ...)
{
    char text[PH_ERRTEXT_MAX];
    va_list ap;
    va_start (ap, fmt);
    vsnprintf (text, sizeof text, fmt, ap);
    va_end (ap);
    s_utf8_repair (text);
    Porthole__V1__Error error = PORTHOLE__V1__ERROR__INIT;
    error.code = (char *)code;
    error.message = text;
    ph_env_t env = PH_ENV_INIT;
    env.version = PH_WIRE_VERSION;
    env.request_id = request_id;
    env.body_case = PORTHOLE__V1__ENVELOPE__BODY_ERROR;
    env.error = &error;
    return ph_wire_send (sock, rid, rid_len, &env);
}

const char *ph_wire_body_name (ph_body_t body)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field (&porthole__v1__envelope__descriptor, body);
    return f ? f->name : "?";
}

bool ph_wire_monitor_next (zsock_t *monitor, uint16_t *event)
{
    void *handle = zsock_resolve (monitor);
    zmq_msg_t part;
    zmq_msg_init (&part);
    if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close (&part);
        return false;
    }
    *event = 0;
    if (zmq_msg_size (&part) >= PH_MONITOR_HEAD)
        memcpy (event, zmq_msg_data (&part), sizeof *event);
    bool more = zmq_msg_more (&part);
    zmq_msg_close (&part);
    while (more) {
        zmq_msg_init (&part);
        more = zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) >= 0 && zmq_msg_more (&part);
        zmq_msg_close (&part);
    }
    return true;
}
