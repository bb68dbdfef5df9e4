/*  ph_stream: see ph_stream.h. */
#include "ph_stream.h"
#include "ph_errors.h"
#include "ph_util.h"

#include <stdlib.h>
#include <string.h>

typedef struct s_out_t {
    struct s_out_t *next;
    uint64_t seq;
    int kind;
    size_t len;
    uint8_t data[];
} s_out_t;

struct _ph_stream_t {
    char *session_id;
    ph_stream_send_fn *send;
    void *arg;
    /* sending side */
    s_out_t *head, *tail; /* unacknowledged, in seq order */
    uint64_t next_seq;    /* seq of the next message */
    size_t unacked_bytes;
    uint32_t peer_credit;
    uint64_t progress_ms; /* last time the peer's ack moved or we resent */
    /* receiving side */
    uint64_t recv_seq;    /* highest seq delivered */
    uint64_t acked_seq;   /* recv_seq last told to the peer */
    uint32_t told_credit; /* credit last told to the peer */
    size_t held;
    size_t unacked_in;     /* payload bytes delivered since the last ack */
    uint64_t ack_due_ms;   /* 0: no ack pending */
    uint64_t last_send_ms; /* for keepalives */
    bool keepalive;
};

ph_stream_t *ph_stream_new (const char *session_id, ph_stream_send_fn *send, void *arg)
{
    ph_stream_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->session_id = strdup (session_id);
    self->send = send;
    self->arg = arg;
    self->next_seq = 1;
    self->peer_credit = PH_STREAM_WINDOW;
    self->told_credit = PH_STREAM_WINDOW;
    self->progress_ms = ph_mono_ms ();
    return self;
}

void ph_stream_destroy (ph_stream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_out_t *o = (*self_p)->head;
    while (o) {
        s_out_t *next = o->next;
        free (o);
        o = next;
    }
    free ((*self_p)->session_id);
    free (*self_p);
    *self_p = NULL;
}

static uint32_t s_credit (const ph_stream_t *self)
{
    return self->held >= PH_STREAM_WINDOW ? 0 : (uint32_t)(PH_STREAM_WINDOW - self->held);
}

static void s_send (ph_stream_t *self, uint64_t seq, int kind, const void *data, size_t len)
{
    ph_stream_data_t msg = PORTHOLE__V1__STREAM_DATA__INIT;
    msg.session_id = self->session_id;
    msg.seq = seq;
    msg.ack = self->recv_seq;
    msg.credit = s_credit (self);
    msg.kind = kind;
    msg.payload.data = (uint8_t *)data;
    msg.payload.len = len;
    self->acked_seq = self->recv_seq;
    self->unacked_in = 0;
    self->told_credit = msg.credit;
    self->ack_due_ms = 0;
    self->last_send_ms = ph_mono_ms ();
    self->send (self->arg, &msg);
}

size_t ph_stream_room (const ph_stream_t *self)
{
    size_t room =
        self->peer_credit > self->unacked_bytes ? self->peer_credit - self->unacked_bytes : 0;
    return room > PH_PAYLOAD_MAX ? PH_PAYLOAD_MAX : room;
}

int ph_stream_write (ph_stream_t *self, int kind, const void *data, size_t len)
{
    bool control =
        kind != PORTHOLE__V1__STREAM_KIND__STDIN && kind != PORTHOLE__V1__STREAM_KIND__STDOUT &&
        kind != PORTHOLE__V1__STREAM_KIND__STDERR && kind != PORTHOLE__V1__STREAM_KIND__PORT_DATA;
    if (len > PH_PAYLOAD_MAX || (control && len > PH_STREAM_CONTROL_MAX) ||
        (!control && len > 0 && len > ph_stream_room (self)))
        return PH_ESTATE;
    s_out_t *o = malloc (sizeof *o + len);
    if (!o)
        return PH_ENOMEM;
    o->next = NULL;
    o->seq = self->next_seq++;
    o->kind = kind;
    o->len = len;
    if (len)
        memcpy (o->data, data, len);
    if (!self->head)
        self->progress_ms = ph_mono_ms ();
    if (self->tail)
        self->tail->next = o;
    else
        self->head = o;
    self->tail = o;
    self->unacked_bytes += len;
    s_send (self, o->seq, kind, o->data, len);
    return 0;
}

/*  Drops every kept message up to and including ack. */
static void s_on_ack (ph_stream_t *self, uint64_t ack)
{
    bool moved = false;
    while (self->head && self->head->seq <= ack) {
        s_out_t *o = self->head;
        self->head = o->next;
        self->unacked_bytes -= o->len;
        free (o);
        moved = true;
    }
    if (!self->head)
        self->tail = NULL;
    if (moved)
        self->progress_ms = ph_mono_ms ();
}

int ph_stream_receive (ph_stream_t *self, const ph_stream_data_t *msg)
{
    s_on_ack (self, msg->ack);
    self->peer_credit = msg->credit;
    if (msg->kind == PORTHOLE__V1__STREAM_KIND__ACK)
        return 0;
    uint64_t now = ph_mono_ms ();
    if (msg->seq != self->recv_seq + 1) {
        /* a duplicate or a gap: tell the peer where we are, soon */
        if (!self->ack_due_ms)
            self->ack_due_ms = now + PH_STREAM_ACK_DELAY_MS;
        return 0;
    }
    self->recv_seq = msg->seq;
    self->unacked_in += msg->payload.len;
    if (self->unacked_in >= PH_STREAM_WINDOW / 4)
        ph_stream_flush_ack (self); /* keep a bulk sender's window open */
    else if (!self->ack_due_ms)
        self->ack_due_ms = now + PH_STREAM_ACK_DELAY_MS;
    return 1;
}

void ph_stream_set_held (ph_stream_t *self, size_t held)
{
    self->held = held;
}

void ph_stream_flush_ack (ph_stream_t *self)
{
    s_send (self, 0, PORTHOLE__V1__STREAM_KIND__ACK, NULL, 0);
}

void ph_stream_resend (ph_stream_t *self)
{
    for (s_out_t *o = self->head; o; o = o->next)
        s_send (self, o->seq, o->kind, o->data, o->len);
    self->progress_ms = ph_mono_ms ();
}

void ph_stream_adopt_send (ph_stream_t *self, uint64_t peer_ack)
{
    if (peer_ack < self->next_seq)
        return;
    s_on_ack (self, UINT64_MAX);
    self->next_seq = peer_ack + 1;
}

void ph_stream_adopt_recv (ph_stream_t *self, uint64_t peer_seq)
{
    if (peer_seq <= self->recv_seq + 1)
        return;
    self->recv_seq = peer_seq - 1;
    self->acked_seq = self->recv_seq;
}

void ph_stream_set_keepalive (ph_stream_t *self, bool on)
{
    self->keepalive = on;
}

/*  The window reopened enough that the peer should hear of it. */
static bool s_credit_news (const ph_stream_t *self)
{
    uint32_t now = s_credit (self);
    return now > self->told_credit && now - self->told_credit >= PH_STREAM_WINDOW / 4;
}

void ph_stream_tick (ph_stream_t *self, uint64_t now)
{
    if (self->head && now - self->progress_ms >= PH_STREAM_RTO_MS) {
        ph_stream_resend (self);
        return;
    }
    if ((self->ack_due_ms && now >= self->ack_due_ms) || s_credit_news (self) ||
        (self->keepalive && now - self->last_send_ms >= PH_STREAM_KEEPALIVE_MS))
        ph_stream_flush_ack (self);
}

bool ph_stream_drained (const ph_stream_t *self)
{
    return self->head == NULL;
}

uint64_t ph_stream_sent_seq (const ph_stream_t *self)
{
    return self->next_seq - 1;
}

uint64_t ph_stream_recv_seq (const ph_stream_t *self)
{
    return self->recv_seq;
}

size_t ph_stream_unacked_bytes (const ph_stream_t *self)
{
    return self->unacked_bytes;
}

const char *ph_stream_session_id (const ph_stream_t *self)
{
    return self->session_id;
}
