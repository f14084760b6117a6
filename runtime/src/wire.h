/* wire.h — the cluster's wire format (wire.c): frames, the message envelope,
 * and the handshake's proofs. Pure and bounded: no I/O, no allocation, every
 * length checked before it is used, so the decoder is fuzzed directly
 * (tests/fuzz/fuzz-wire.c).
 *
 * A frame is a 4-byte big-endian length L (of what follows: 1 <= L <=
 * max_frame), one kind byte, and L - 1 bytes of body. Bodies are msgpack
 * (a header array), followed for MSG, NAMED and PUB by the message payload,
 * which is carried as is: it is neither decoded nor re-encoded on the way.
 *
 * Handshake (both sides at once, after TCP connects): each sends HELLO
 * {proto_min, proto_max, node name, node id (incarnation), 32-byte random
 * nonce}; on the peer's HELLO each sends AUTH {chosen proto, mac} where
 *   mac = HMAC-SHA256(secret, "actr-auth/1" | own name | own id | own nonce |
 *                             peer name | peer id | peer nonce)
 * and checks the peer's AUTH against the same with the roles swapped (a
 * reflected proof never verifies; fresh nonces defeat replay). The secret
 * never crosses the wire. Only then are other frames accepted.
 */
#ifndef ACTR_WIRE_H
#define ACTR_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "actr/msg.h"

#define ACTR__WIRE_PROTO_MIN 1
#define ACTR__WIRE_PROTO_MAX 1
#define ACTR__WIRE_NONCE 32
#define ACTR__WIRE_MAC 32
#define ACTR__WIRE_NAME_MAX 255 /* node names, registered names, topics on the wire */
#define ACTR__WIRE_HDR_MAX 384  /* the longest MSG/NAMED/PUB header, length prefix included */
#define ACTR__WIRE_CTL_MAX 512  /* the longest control frame */

enum {
    ACTR__FR_HELLO = 1,  /* proto_min, proto_max, name (node), node_id, nonce */
    ACTR__FR_AUTH = 2,   /* proto, mac */
    ACTR__FR_MSG = 3,    /* env, payload: a message for env.to */
    ACTR__FR_NAMED = 4,  /* env, name, payload: for the actor registered as name */
    ACTR__FR_PUB = 5,    /* env, name (topic), payload: for the topic's subscribers */
    ACTR__FR_PING = 6,   /* seq, t_us */
    ACTR__FR_PONG = 7,   /* seq, t_us (the ping's, echoed) */
    ACTR__FR_LOOKUP = 8, /* seq (lookup id), name */
    ACTR__FR_FOUND = 9,  /* seq (lookup id), found, ref */
    ACTR__FR_BYE = 10,   /* name (a reason): an orderly close */
    ACTR__FR_KIND_MAX = 10
};

/* The fields of a runtime message that travel with it (see struct actr_msg). */
typedef struct actr__wire_env {
    uint32_t type;
    uint16_t flags; /* the ACTR__F_* that travel: REQUEST, REPLY (others are stripped) */
    uint8_t sys;    /* ACTR__SYS_*: MONITOR, DEMONITOR, LINK, UNLINK, EXIT, STOP travel */
    uint32_t aux32;
    actr_ref_t to, from;
    uint64_t corr;
} actr__wire_env_t;

/* A decoded frame. Pointers point into the decoded buffer. */
typedef struct actr__frame {
    uint8_t kind;
    actr__wire_env_t env;              /* MSG, NAMED, PUB */
    const char *name;                  /* HELLO: node name; NAMED: name; PUB: topic; */
    size_t name_len;                   /* LOOKUP: name; BYE: reason */
    const uint8_t *payload;            /* MSG, NAMED, PUB */
    size_t payload_len;
    uint32_t proto_min, proto_max;     /* HELLO */
    uint64_t node_id;                  /* HELLO */
    uint8_t nonce[ACTR__WIRE_NONCE];   /* HELLO */
    uint32_t proto;                    /* AUTH */
    uint8_t mac[ACTR__WIRE_MAC];       /* AUTH */
    uint64_t seq, t_us;                /* PING, PONG; seq also LOOKUP, FOUND */
    int found;                         /* FOUND */
    actr_ref_t ref;                    /* FOUND */
} actr__frame_t;

/* Decode the frame at the start of buf[0..len). Returns 0 with *f and *used
 * (the frame's bytes, prefix included); ACTR_EAGAIN when buf holds only part
 * of a frame (then *used is the whole frame's size once the prefix is in,
 * else 0), never having read past len; ACTR_E2BIG when the length prefix is
 * 0 or over max_frame (checked before anything else); ACTR_EPROTO for an
 * unknown kind or a malformed body. On an error `why` (cap bytes, may be
 * NULL) says what was wrong in one line. */
int actr__wire_decode(const uint8_t *buf, size_t len, uint32_t max_frame, actr__frame_t *f,
                      size_t *used, char *why, size_t cap);

/* Write the prefix, kind and header of a MSG, NAMED or PUB frame whose
 * payload (payload_len bytes, written by the caller right after) completes
 * it, into buf (at least ACTR__WIRE_HDR_MAX bytes). name is NULL for MSG.
 * Returns the header's length (0 if name_len > ACTR__WIRE_NAME_MAX). */
size_t actr__wire_msg_header(uint8_t *buf, uint8_t kind, const actr__wire_env_t *env,
                             const char *name, size_t name_len, size_t payload_len);

/* Write a whole control frame (HELLO, AUTH, PING, PONG, LOOKUP, FOUND, BYE)
 * from the fields of f that its kind uses into buf (cap bytes). Returns its
 * length, or 0 when it does not fit or f->kind is not a control kind. */
size_t actr__wire_ctl(uint8_t *buf, size_t cap, const actr__frame_t *f);

/* 32 random bytes from the system's CSPRNG. Returns 0 or ACTR_EPROTO. */
int actr__wire_nonce(uint8_t nonce[ACTR__WIRE_NONCE]);

/* The handshake proof of side A to side B (see above) into mac. Returns 0 or
 * ACTR_EPROTO (the crypto library failed), or ACTR_EINVAL (a NULL argument, a
 * name over ACTR__WIRE_NAME_MAX bytes). */
int actr__wire_auth_mac(const void *secret, size_t secret_len, const char *a_name, uint64_t a_id,
                        const uint8_t a_nonce[ACTR__WIRE_NONCE], const char *b_name,
                        uint64_t b_id, const uint8_t b_nonce[ACTR__WIRE_NONCE],
                        uint8_t mac[ACTR__WIRE_MAC]);

/* HMAC-SHA256(key, data) into mac: the building block of actr__wire_auth_mac
 * (exposed for its known-answer test). Returns 0, ACTR_EINVAL, ACTR_EPROTO. */
int actr__wire_hmac_sha256(const void *key, size_t key_len, const void *data, size_t len,
                           uint8_t mac[ACTR__WIRE_MAC]);

/* 1 if the two proofs are equal, in time independent of where they differ. */
int actr__wire_mac_equal(const uint8_t a[ACTR__WIRE_MAC], const uint8_t b[ACTR__WIRE_MAC]);

#endif
