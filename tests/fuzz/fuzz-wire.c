/* fuzz-wire.c — libFuzzer driver for the cluster's frame decoder
 * (runtime/src/wire.c).
 *
 * The input is a byte stream as a peer could send it. It is decoded frame
 * after frame, twice: with a small max_frame (64 bytes) and a large one
 * (16 MiB). For every result:
 *  - the code is one of 0, ACTR_EAGAIN, ACTR_E2BIG, ACTR_EPROTO, and an error
 *    comes with a one-line reason;
 *  - E2BIG exactly when the length prefix is 0 or over max_frame; EAGAIN
 *    exactly when the frame is not all there (with *used the frame's size
 *    once the prefix is in, else 0);
 *  - on success *used is the prefix plus the prefix's length, the name and
 *    payload lie inside the frame, and the frame decodes alike with
 *    max_frame equal to its length and is refused with one byte less;
 *  - round trip: the decoded frame encoded again (a message header plus the
 *    same payload bytes, or a control frame) decodes to the same fields.
 * Nothing may crash, hang, leak or read outside the input (the replay tool
 * and libFuzzer hand over buffers of exactly the input's size).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actr.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

static bool is_msg(uint8_t kind)
{
    return kind == ACTR__FR_MSG || kind == ACTR__FR_NAMED || kind == ACTR__FR_PUB;
}

static bool env_eq(const actr__wire_env_t *a, const actr__wire_env_t *b)
{
    return a->type == b->type && a->flags == b->flags && a->sys == b->sys &&
           a->aux32 == b->aux32 && actr_ref_eq(a->to, b->to) && actr_ref_eq(a->from, b->from) &&
           a->corr == b->corr;
}

static bool bytes_eq(const void *a, size_t an, const void *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

/* The fields that `a`'s kind carries are equal in b. */
static bool frame_eq(const actr__frame_t *a, const actr__frame_t *b)
{
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case ACTR__FR_MSG:
        return env_eq(&a->env, &b->env) &&
               bytes_eq(a->payload, a->payload_len, b->payload, b->payload_len);
    case ACTR__FR_NAMED:
    case ACTR__FR_PUB:
        return env_eq(&a->env, &b->env) && bytes_eq(a->name, a->name_len, b->name, b->name_len) &&
               bytes_eq(a->payload, a->payload_len, b->payload, b->payload_len);
    case ACTR__FR_HELLO:
        return a->proto_min == b->proto_min && a->proto_max == b->proto_max &&
               bytes_eq(a->name, a->name_len, b->name, b->name_len) && a->node_id == b->node_id &&
               memcmp(a->nonce, b->nonce, ACTR__WIRE_NONCE) == 0;
    case ACTR__FR_AUTH:
        return a->proto == b->proto && memcmp(a->mac, b->mac, ACTR__WIRE_MAC) == 0;
    case ACTR__FR_PING:
    case ACTR__FR_PONG:
        return a->seq == b->seq && a->t_us == b->t_us;
    case ACTR__FR_LOOKUP:
        return a->seq == b->seq && bytes_eq(a->name, a->name_len, b->name, b->name_len);
    case ACTR__FR_FOUND:
        return a->seq == b->seq && a->found == b->found && actr_ref_eq(a->ref, b->ref);
    case ACTR__FR_BYE:
        return bytes_eq(a->name, a->name_len, b->name, b->name_len);
    default:
        return false;
    }
}

/* Encode f again and check that it decodes to the same fields. */
static void roundtrip(const actr__frame_t *f)
{
    size_t cap = ACTR__WIRE_CTL_MAX + ACTR__WIRE_HDR_MAX + f->payload_len, n, used = 0;
    uint8_t *out = malloc(cap);
    actr__frame_t g;
    char why[160];
    int rc;

    CHECK(out != NULL);
    if (is_msg(f->kind)) {
        n = actr__wire_msg_header(out, f->kind, &f->env, f->name, f->name_len, f->payload_len);
        CHECK(n > 0 && n <= ACTR__WIRE_HDR_MAX);
        if (f->payload_len)
            memcpy(out + n, f->payload, f->payload_len);
        n += f->payload_len;
    } else {
        n = actr__wire_ctl(out, ACTR__WIRE_CTL_MAX, f);
        CHECK(n > 0 && n <= ACTR__WIRE_CTL_MAX);
    }
    /* The re-encoding may be longer than the original (fixed-width integers
     * in message headers), so no max_frame of the original applies to it. */
    rc = actr__wire_decode(out, n, UINT32_MAX, &g, &used, why, sizeof(why));
    CHECK(rc == 0);
    CHECK(used == n);
    CHECK(frame_eq(f, &g));
    free(out);
}

static uint32_t be32_at(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decode the stream data[0..size) frame after frame with max_frame. */
static void decode_stream(const uint8_t *data, size_t size, uint32_t max_frame)
{
    size_t off = 0;

    while (off <= size) {
        const uint8_t *p = data + off;
        size_t left = size - off, used = 12345;
        actr__frame_t f;
        char why[160];
        uint32_t flen;
        int rc;

        why[0] = '\0';
        rc = actr__wire_decode(p, left, max_frame, &f, &used, why, sizeof(why));
        CHECK(rc == 0 || rc == ACTR_EAGAIN || rc == ACTR_E2BIG || rc == ACTR_EPROTO);
        if (left < 4) {
            CHECK(rc == ACTR_EAGAIN && used == 0);
            return;
        }
        flen = be32_at(p);
        if (flen == 0 || flen > max_frame) {
            CHECK(rc == ACTR_E2BIG);
            CHECK(why[0] != '\0' && strchr(why, '\n') == NULL);
            return;
        }
        CHECK(rc != ACTR_E2BIG);
        if (left - 4 < flen) {
            CHECK(rc == ACTR_EAGAIN && used == (size_t)flen + 4);
            return;
        }
        CHECK(rc != ACTR_EAGAIN);
        if (rc == ACTR_EPROTO) {
            CHECK(why[0] != '\0' && strchr(why, '\n') == NULL);
            /* A stream with a bad frame is closed; nothing after it is read. */
            return;
        }
        CHECK(used == (size_t)flen + 4);
        CHECK(f.kind >= 1 && f.kind <= ACTR__FR_KIND_MAX);
        if (f.name != NULL)
            CHECK((const uint8_t *)f.name >= p + 5 &&
                  (const uint8_t *)f.name + f.name_len <= p + used &&
                  f.name_len <= ACTR__WIRE_NAME_MAX && memchr(f.name, 0, f.name_len) == NULL);
        if (is_msg(f.kind))
            CHECK(f.payload >= p + 5 && f.payload + f.payload_len == p + used);
        else
            CHECK(f.payload == NULL && f.payload_len == 0);
        /* The bound is exact. */
        {
            actr__frame_t g;
            size_t u2;
            CHECK(actr__wire_decode(p, left, flen, &g, &u2, NULL, 0) == 0 && u2 == used);
            CHECK(actr__wire_decode(p, left, flen - 1, &g, &u2, NULL, 0) == ACTR_E2BIG);
            CHECK(frame_eq(&f, &g));
        }
        roundtrip(&f);
        off += used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    decode_stream(data, size, 64);
    decode_stream(data, size, 16u * 1024u * 1024u);
    return 0;
}
