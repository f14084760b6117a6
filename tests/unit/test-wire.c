/* test-wire.c — the cluster's wire format (runtime/src/wire.c): round trips
 * of every frame kind with every field, the exact layout of message headers,
 * every error class of the decoder (oversized and zero lengths, truncation at
 * every offset, unknown kinds, malformed headers, long names, bad refs,
 * trailing bytes), many frames back to back and fed in pieces, and the
 * handshake's crypto (HMAC-SHA256 known answer, what the proof depends on,
 * constant-time comparison, nonces).
 */
#include <stdbool.h>
#include <stdlib.h>

#include "task.h"
#include "wire.h"

#define MAXF (8u * 1024u * 1024u)

/* Decode all of buf[0..len) (which must be one whole frame) into *f. */
static void decode_one(const uint8_t *buf, size_t len, actr__frame_t *f)
{
    char why[256] = "";
    size_t used = 0;
    int rc = actr__wire_decode(buf, len, MAXF, f, &used, why, sizeof(why));
    if (rc != 0)
        TEST_FAIL_("decode: %s: %s", actr_err_name(rc), why);
    ASSERT_EQ(used, len);
}

/* Decoding buf[0..len) fails with `code`; the reason is one non-empty line
 * that contains `part`. Runs on a heap copy of exactly len bytes, so a read
 * past the end is caught by ASan. */
static void expect_fail(const uint8_t *buf, size_t len, int code, const char *part)
{
    char why[256] = "";
    size_t used = 12345;
    actr__frame_t f;
    uint8_t *copy = malloc(len ? len : 1);
    int rc;

    ASSERT_NOT_NULL(copy);
    memcpy(copy, buf, len);
    rc = actr__wire_decode(copy, len, MAXF, &f, &used, why, sizeof(why));
    free(copy);
    if (rc != code)
        TEST_FAIL_("expected %s, got %s (%s)", actr_err_name(code), actr_err_name(rc), why);
    if (why[0] == '\0' || strchr(why, '\n') != NULL)
        TEST_FAIL_("reason is not one non-empty line: \"%s\"", why);
    if (part != NULL && strstr(why, part) == NULL)
        TEST_FAIL_("reason \"%s\" does not mention \"%s\"", why, part);
    /* Without a reason buffer the result is the same. */
    rc = actr__wire_decode(buf, len, MAXF, &f, &used, NULL, 0);
    ASSERT_EQ(rc, code);
}

/* A frame of `kind` whose body is the bytes of `hex` ("93 01 02" style), into
 * out; returns its length. */
static size_t raw_frame(uint8_t *out, size_t cap, uint8_t kind, const char *hex)
{
    size_t n = 5;
    unsigned v;
    int used;

    while (sscanf(hex, " %2x%n", &v, &used) == 1) {
        ASSERT(n < cap);
        out[n++] = (uint8_t)v;
        hex += used;
    }
    out[0] = (uint8_t)((n - 4) >> 24);
    out[1] = (uint8_t)((n - 4) >> 16);
    out[2] = (uint8_t)((n - 4) >> 8);
    out[3] = (uint8_t)(n - 4);
    out[4] = kind;
    return n;
}

static actr__wire_env_t sample_env(void)
{
    actr__wire_env_t env;
    memset(&env, 0, sizeof(env));
    env.type = 0xFFFF0001u;
    env.flags = 0xBEEF;
    env.sys = 0xFE;
    env.aux32 = 0x89ABCDEFu;
    env.to = (actr_ref_t){0x0123456789ABCDEFull, 0xFFFFFFFFu, 7};
    env.from = (actr_ref_t){UINT64_MAX, 1, UINT32_MAX};
    env.corr = 0xFEDCBA9876543210ull;
    return env;
}

static void assert_env_eq(const actr__wire_env_t *a, const actr__wire_env_t *b)
{
    ASSERT_EQ(a->type, b->type);
    ASSERT_EQ(a->flags, b->flags);
    ASSERT_EQ(a->sys, b->sys);
    ASSERT_EQ(a->aux32, b->aux32);
    ASSERT(actr_ref_eq(a->to, b->to));
    ASSERT(actr_ref_eq(a->from, b->from));
    ASSERT(a->corr == b->corr);
}

/* Build a whole MSG/NAMED/PUB frame into buf; returns its length. */
static size_t msg_frame(uint8_t *buf, uint8_t kind, const actr__wire_env_t *env, const char *name,
                        const void *payload, size_t plen)
{
    size_t h = actr__wire_msg_header(buf, kind, env, name, name ? strlen(name) : 0, plen);
    ASSERT(h > 0);
    ASSERT_LE(h, ACTR__WIRE_HDR_MAX);
    if (plen)
        memcpy(buf + h, payload, plen);
    return h + plen;
}

/* ---- round trips ------------------------------------------------------------------------ */

TEST_IMPL(wire, roundtrip_msg)
{
    uint8_t buf[ACTR__WIRE_HDR_MAX + 64];
    static const uint8_t payload[16] = {0x92, 0x01, 0xa3, 'a', 'b', 'c', 9, 9, 9, 9, 9, 9, 9, 9,
                                        9, 9};
    actr__wire_env_t env = sample_env(), zero;
    actr__frame_t f;
    size_t n;

    n = msg_frame(buf, ACTR__FR_MSG, &env, NULL, payload, sizeof(payload));
    decode_one(buf, n, &f);
    ASSERT_EQ(f.kind, ACTR__FR_MSG);
    assert_env_eq(&f.env, &env);
    ASSERT_EQ(f.payload_len, sizeof(payload));
    ASSERT(f.payload == buf + n - sizeof(payload)); /* carried as is, in place */
    ASSERT(memcmp(f.payload, payload, sizeof(payload)) == 0);
    ASSERT_NULL(f.name);

    /* An empty payload and an all-zero envelope. */
    memset(&zero, 0, sizeof(zero));
    n = msg_frame(buf, ACTR__FR_MSG, &zero, NULL, NULL, 0);
    decode_one(buf, n, &f);
    assert_env_eq(&f.env, &zero);
    ASSERT_EQ(f.payload_len, 0);
}

TEST_IMPL(wire, roundtrip_named_pub)
{
    uint8_t buf[ACTR__WIRE_HDR_MAX + 64];
    char name[ACTR__WIRE_NAME_MAX + 1];
    static const size_t lens[] = {1, 5, 31, 32, 200, ACTR__WIRE_NAME_MAX};
    actr__wire_env_t env = sample_env();
    actr__frame_t f;

    for (int kind = ACTR__FR_NAMED; kind <= ACTR__FR_PUB; kind++) {
        for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
            for (size_t i = 0; i < lens[k]; i++)
                name[i] = (char)('a' + (i * 7 + k) % 26);
            name[lens[k]] = '\0';
            size_t n = msg_frame(buf, (uint8_t)kind, &env, name, "xyz", 3);
            decode_one(buf, n, &f);
            ASSERT_EQ(f.kind, kind);
            assert_env_eq(&f.env, &env);
            ASSERT_MEM_STR(f.name, f.name_len, name);
            ASSERT_EQ(f.payload_len, 3);
            ASSERT(memcmp(f.payload, "xyz", 3) == 0);
        }
    }
}

/* Encode f as a control frame, decode it, and return the decoded frame. */
static actr__frame_t ctl_roundtrip(const actr__frame_t *f)
{
    uint8_t buf[ACTR__WIRE_CTL_MAX];
    static uint8_t keep[ACTR__WIRE_CTL_MAX]; /* the decoded name points here */
    actr__frame_t out;
    size_t n = actr__wire_ctl(buf, sizeof(buf), f);
    ASSERT(n > 0);
    /* Too small a buffer: 0, for every size short of the frame. */
    for (size_t cap = 0; cap < n; cap++)
        ASSERT_EQ(actr__wire_ctl(buf, cap, f), 0);
    ASSERT_EQ(actr__wire_ctl(buf, n, f), n);
    memcpy(keep, buf, n);
    decode_one(keep, n, &out);
    ASSERT_EQ(out.kind, f->kind);
    return out;
}

TEST_IMPL(wire, roundtrip_ctl)
{
    char longname[ACTR__WIRE_NAME_MAX + 1];
    static const uint64_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffu,
                                    0x100000000ull, UINT64_MAX};
    actr__frame_t f, g;

    memset(longname, 'n', ACTR__WIRE_NAME_MAX);
    longname[ACTR__WIRE_NAME_MAX] = '\0';

    for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        uint64_t v = vals[k];
        uint32_t v32 = (uint32_t)(v > UINT32_MAX ? v >> 32 : v);

        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_HELLO;
        f.proto_min = v32;
        f.proto_max = UINT32_MAX - v32;
        f.name = k % 2 ? "node-a" : longname;
        f.name_len = strlen(f.name);
        f.node_id = v;
        for (int i = 0; i < ACTR__WIRE_NONCE; i++)
            f.nonce[i] = (uint8_t)(i * 13 + k);
        g = ctl_roundtrip(&f);
        ASSERT_EQ(g.proto_min, f.proto_min);
        ASSERT_EQ(g.proto_max, f.proto_max);
        ASSERT_MEM_STR(g.name, g.name_len, f.name);
        ASSERT(g.node_id == v);
        ASSERT(memcmp(g.nonce, f.nonce, ACTR__WIRE_NONCE) == 0);

        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_AUTH;
        f.proto = v32;
        for (int i = 0; i < ACTR__WIRE_MAC; i++)
            f.mac[i] = (uint8_t)(255 - i - k);
        g = ctl_roundtrip(&f);
        ASSERT_EQ(g.proto, v32);
        ASSERT(memcmp(g.mac, f.mac, ACTR__WIRE_MAC) == 0);

        for (int kind = ACTR__FR_PING; kind <= ACTR__FR_PONG; kind++) {
            memset(&f, 0, sizeof(f));
            f.kind = (uint8_t)kind;
            f.seq = v;
            f.t_us = ~v;
            g = ctl_roundtrip(&f);
            ASSERT(g.seq == v && g.t_us == ~v);
        }

        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_LOOKUP;
        f.seq = v;
        f.name = k % 2 ? "svc" : longname;
        f.name_len = strlen(f.name);
        g = ctl_roundtrip(&f);
        ASSERT(g.seq == v);
        ASSERT_MEM_STR(g.name, g.name_len, f.name);

        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_FOUND;
        f.seq = v;
        f.found = (int)(k % 2);
        f.ref = (actr_ref_t){v, v32, ~v32};
        g = ctl_roundtrip(&f);
        ASSERT(g.seq == v);
        ASSERT_EQ(g.found, k % 2);
        ASSERT(actr_ref_eq(g.ref, f.ref));

        memset(&f, 0, sizeof(f));
        f.kind = ACTR__FR_BYE;
        f.name = k % 2 ? "shutdown" : "";
        f.name_len = strlen(f.name);
        g = ctl_roundtrip(&f);
        ASSERT_MEM_STR(g.name, g.name_len, f.name);
    }
}

TEST_IMPL(wire, encoders_refuse)
{
    uint8_t buf[ACTR__WIRE_CTL_MAX];
    char name[ACTR__WIRE_NAME_MAX + 2];
    actr__wire_env_t env = sample_env();
    actr__frame_t f;

    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    /* A name over the maximum: no header. Exactly the maximum: fits HDR_MAX. */
    ASSERT_EQ(actr__wire_msg_header(buf, ACTR__FR_NAMED, &env, name, ACTR__WIRE_NAME_MAX + 1, 0),
              0);
    ASSERT_EQ(actr__wire_msg_header(buf, ACTR__FR_PUB, &env, name, ACTR__WIRE_NAME_MAX + 1, 0), 0);
    ASSERT_LE(actr__wire_msg_header(buf, ACTR__FR_NAMED, &env, name, ACTR__WIRE_NAME_MAX, 0),
              ACTR__WIRE_HDR_MAX);
    /* Only the message kinds have message headers. */
    ASSERT_EQ(actr__wire_msg_header(buf, ACTR__FR_PING, &env, NULL, 0, 0), 0);
    ASSERT_EQ(actr__wire_msg_header(buf, 0, &env, NULL, 0, 0), 0);
    /* The length prefix covers kind, header and payload. */
    size_t h = actr__wire_msg_header(buf, ACTR__FR_MSG, &env, NULL, 0, 1000);
    ASSERT_EQ(h, 70);
    ASSERT_EQ(((uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3]),
              h - 4 + 1000);
    ASSERT_EQ(buf[4], ACTR__FR_MSG);

    /* Control frames: not for the message kinds, nor unknown ones. */
    memset(&f, 0, sizeof(f));
    for (int kind = 0; kind < 256; kind++) {
        f.kind = (uint8_t)kind;
        bool ctl = kind == ACTR__FR_HELLO || kind == ACTR__FR_AUTH ||
                   (kind >= ACTR__FR_PING && kind <= ACTR__FR_BYE);
        ASSERT_EQ(actr__wire_ctl(buf, sizeof(buf), &f) > 0, ctl);
    }
    /* A name too long for the wire. */
    f.kind = ACTR__FR_LOOKUP;
    f.name = name;
    f.name_len = ACTR__WIRE_NAME_MAX + 1;
    ASSERT_EQ(actr__wire_ctl(buf, sizeof(buf), &f), 0);
    /* The longest HELLO fits ACTR__WIRE_CTL_MAX. */
    f.kind = ACTR__FR_HELLO;
    f.name_len = ACTR__WIRE_NAME_MAX;
    f.proto_min = f.proto_max = UINT32_MAX;
    f.node_id = UINT64_MAX;
    ASSERT(actr__wire_ctl(buf, sizeof(buf), &f) > 0);
}

/* ---- decoder errors ------------------------------------------------------------------------ */

TEST_IMPL(wire, oversized_and_empty)
{
    uint8_t buf[ACTR__WIRE_HDR_MAX + 16];
    actr__wire_env_t env = sample_env();
    actr__frame_t f;
    char why[128];
    size_t used, n;

    /* A 4 GiB prefix: refused from the prefix alone, whatever follows. */
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
    expect_fail(huge, 4, ACTR_E2BIG, "frame of 4294967295 bytes exceeds the maximum 8388608");
    static const uint8_t huge2[] = {0xff, 0xff, 0xff, 0xff, 0x03, 0xc1};
    expect_fail(huge2, sizeof(huge2), ACTR_E2BIG, "exceeds the maximum");
    static const uint8_t zero[] = {0, 0, 0, 0, ACTR__FR_MSG};
    expect_fail(zero, 4, ACTR_E2BIG, "0 bytes");
    expect_fail(zero, sizeof(zero), ACTR_E2BIG, "0 bytes");

    /* The bound is inclusive: a frame of exactly max_frame decodes, one byte
     * less of allowance refuses it. */
    n = msg_frame(buf, ACTR__FR_MSG, &env, NULL, "0123456789", 10);
    ASSERT_OK(actr__wire_decode(buf, n, (uint32_t)(n - 4), &f, &used, why, sizeof(why)));
    ASSERT_EQ(used, n);
    ASSERT_EQ(actr__wire_decode(buf, n, (uint32_t)(n - 5), &f, &used, why, sizeof(why)),
              ACTR_E2BIG);
    ASSERT(strstr(why, "exceeds the maximum") != NULL);
    /* Checked before waiting for the rest: 4 bytes are enough to refuse. */
    ASSERT_EQ(actr__wire_decode(buf, 4, (uint32_t)(n - 5), &f, &used, why, sizeof(why)),
              ACTR_E2BIG);
    /* A reason buffer of any size is safe (truncated, terminated). */
    ASSERT_EQ(actr__wire_decode(huge, 4, MAXF, &f, &used, why, 8), ACTR_E2BIG);
    ASSERT_EQ(strlen(why), 7);
}

/* Every strict prefix of frame[0..n) is EAGAIN with *used telling the frame's
 * size once the prefix is in; read on heap copies of exactly the prefix. */
static void expect_truncations(const uint8_t *frame, size_t n)
{
    actr__frame_t f;
    size_t used;
    char why[64];

    for (size_t k = 0; k < n; k++) {
        uint8_t *copy = malloc(k ? k : 1);
        ASSERT_NOT_NULL(copy);
        memcpy(copy, frame, k);
        used = 999;
        int rc = actr__wire_decode(copy, k, MAXF, &f, &used, why, sizeof(why));
        free(copy);
        if (rc != ACTR_EAGAIN)
            TEST_FAIL_("prefix of %zu of %zu bytes: %s, expected EAGAIN", k, n,
                       actr_err_name(rc));
        ASSERT_EQ(used, k < 4 ? 0 : n);
    }
}

TEST_IMPL(wire, truncated_everywhere)
{
    uint8_t buf[ACTR__WIRE_HDR_MAX + 32];
    actr__wire_env_t env = sample_env();
    actr__frame_t f;
    size_t n;

    n = msg_frame(buf, ACTR__FR_MSG, &env, NULL, "0123456789abcdef", 16);
    expect_truncations(buf, n);
    n = msg_frame(buf, ACTR__FR_NAMED, &env, "some-name", "p", 1);
    expect_truncations(buf, n);
    memset(&f, 0, sizeof(f));
    f.kind = ACTR__FR_HELLO;
    f.proto_min = 1;
    f.proto_max = 1;
    f.name = "node-b";
    f.name_len = 6;
    f.node_id = 0x1122334455667788ull;
    n = actr__wire_ctl(buf, sizeof(buf), &f);
    ASSERT(n > 0);
    expect_truncations(buf, n);
    f.kind = ACTR__FR_FOUND;
    f.found = 1;
    f.ref = env.to;
    n = actr__wire_ctl(buf, sizeof(buf), &f);
    expect_truncations(buf, n);
}

TEST_IMPL(wire, unknown_kind)
{
    uint8_t buf[64];
    size_t n;

    n = raw_frame(buf, sizeof(buf), 0, "91 00");
    expect_fail(buf, n, ACTR_EPROTO, "unknown frame kind 0");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_KIND_MAX + 1, "91 00");
    expect_fail(buf, n, ACTR_EPROTO, "unknown frame kind 11");
    n = raw_frame(buf, sizeof(buf), 255, "");
    expect_fail(buf, n, ACTR_EPROTO, "unknown frame kind 255");
}

TEST_IMPL(wire, garbage_header)
{
    uint8_t buf[128];
    size_t n;

    /* No header at all. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "");
    expect_fail(buf, n, ACTR_EPROTO, "MSG frame");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "");
    expect_fail(buf, n, ACTR_EPROTO, "PING frame");
    /* Not an array: a reserved byte, a map, a string. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "c1 00 00");
    expect_fail(buf, n, ACTR_EPROTO, "wrong type");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "82 00 00 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "wrong type");
    /* Wrong element counts, in every array form. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "93 01 02 03");
    expect_fail(buf, n, ACTR_EPROTO, "has 3 elements, expected 2");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "dc 00 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "has 1 elements, expected 2");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "dd ff ff ff ff 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "expected 2");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "96 00 00 00 00 93 01 01 01 93 01 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "has 6 elements, expected 7");
    /* The long array forms with the right count are accepted. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "dc 00 02 01 02");
    {
        actr__frame_t f;
        decode_one(buf, n, &f);
        ASSERT(f.seq == 1 && f.t_us == 2);
        n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "dd 00 00 00 02 d3 00 00 00 00 00 00 00 05 cc 80");
        decode_one(buf, n, &f);
        ASSERT(f.seq == 5 && f.t_us == 0x80);
    }
    /* A field of the wrong type, a negative one, one out of range. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "92 a1 61 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'seq' has the wrong type");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "92 ff 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'seq' is negative");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "92 00 d0 80");
    expect_fail(buf, n, ACTR_EPROTO, "field 't_us' is negative");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "92 00 cb 00 00 00 00 00 00 00 00");
    expect_fail(buf, n, ACTR_EPROTO, "'t_us' has the wrong type"); /* a float */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_AUTH, "92 cf 00 00 00 01 00 00 00 00 c4 20"
                                                   " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                                                   " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'proto' is out of range (4294967296)");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG,
                  "97 00 ce 00 01 00 00 00 00 93 01 01 01 93 01 01 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'flags' is out of range (65536)");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "97 00 00 cd 01 00 00 93 01 01 01 93 01 01 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'sys' is out of range (256)");
    /* A header that ends inside the frame's body (the frame is complete). */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "97 00 00 00 00 93 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "header ends inside field 'to.gen'");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PING, "92 cf 00 00 00");
    expect_fail(buf, n, ACTR_EPROTO, "header ends inside field 'seq'");
    /* A string that claims more bytes than the frame holds. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_BYE, "91 db 7f ff ff ff 61");
    expect_fail(buf, n, ACTR_EPROTO, "header ends inside field 'reason'");
    /* Nonce and mac of the wrong size or type. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_AUTH, "92 01 c4 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "'mac' has 1 bytes, expected 32");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_AUTH, "92 01 a1 00");
    expect_fail(buf, n, ACTR_EPROTO, "'mac' has the wrong type");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_FOUND, "93 01 01 93 01 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "'found' has the wrong type");
}

TEST_IMPL(wire, trailing_bytes)
{
    uint8_t buf[ACTR__WIRE_CTL_MAX + 8];
    actr__frame_t f;
    size_t n;

    /* Control frames end with their header. */
    static const uint8_t kinds[] = {ACTR__FR_HELLO, ACTR__FR_AUTH,  ACTR__FR_PING, ACTR__FR_PONG,
                                    ACTR__FR_LOOKUP, ACTR__FR_FOUND, ACTR__FR_BYE};
    for (size_t k = 0; k < sizeof(kinds); k++) {
        memset(&f, 0, sizeof(f));
        f.kind = kinds[k];
        f.name = "n";
        f.name_len = 1;
        n = actr__wire_ctl(buf, sizeof(buf), &f);
        ASSERT(n > 0);
        buf[n] = 0xc0;
        uint32_t l = (uint32_t)(n - 4 + 1);
        buf[0] = (uint8_t)(l >> 24);
        buf[1] = (uint8_t)(l >> 16);
        buf[2] = (uint8_t)(l >> 8);
        buf[3] = (uint8_t)l;
        expect_fail(buf, n + 1, ACTR_EPROTO, "1 bytes after the header");
    }
    /* For messages, what follows the header is the payload. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG,
                  "97 00 00 00 00 93 01 02 03 93 04 05 06 07 c1 c1 c1");
    decode_one(buf, n, &f);
    ASSERT_EQ(f.payload_len, 3);
    ASSERT_EQ(f.payload[0], 0xc1);
    ASSERT_EQ(f.env.to.slot, 2);
    ASSERT_EQ(f.env.from.gen, 6);
    ASSERT_EQ(f.env.corr, 7);
}

TEST_IMPL(wire, names)
{
    uint8_t buf[ACTR__WIRE_HDR_MAX + 64];
    char hex[8 + 3 * 300];
    size_t n, k = 0;
    actr__frame_t f;

    /* A 256-byte name (str 16) in a NAMED header and in a LOOKUP. */
    k += (size_t)sprintf(hex + k, "98 00 00 00 00 93 01 01 01 93 01 01 01 00 da 01 00");
    for (int i = 0; i < 256; i++)
        k += (size_t)sprintf(hex + k, " 61");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_NAMED, hex);
    expect_fail(buf, n, ACTR_EPROTO, "field 'name' of 256 bytes exceeds the maximum 255");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_PUB, hex);
    expect_fail(buf, n, ACTR_EPROTO, "field 'topic' of 256 bytes");
    k = (size_t)sprintf(hex, "92 01 d9 ff");
    for (int i = 0; i < 255; i++)
        k += (size_t)sprintf(hex + k, " 61");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_LOOKUP, hex);
    decode_one(buf, n, &f); /* 255: fine */
    ASSERT_EQ(f.name_len, 255);
    memcpy(hex, "92 01 da 01 00", 14); /* over "92 01 d9 ff 61": one 'a' less */
    strcat(hex, " 61 61");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_LOOKUP, hex);
    expect_fail(buf, n, ACTR_EPROTO, "of 256 bytes exceeds the maximum 255");
    /* A NUL inside a name would cut it short once it is a C string. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_LOOKUP, "92 01 a3 61 00 62");
    expect_fail(buf, n, ACTR_EPROTO, "NUL");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_HELLO, "95 01 01 a2 00 61 01 c4 20"
                                                    " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
                                                    " 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'name' contains a NUL byte");
    /* A name as binary rather than string. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_BYE, "91 c4 01 61");
    expect_fail(buf, n, ACTR_EPROTO, "'reason' has the wrong type");
}

TEST_IMPL(wire, bad_refs)
{
    uint8_t buf[128];
    size_t n;

    /* A ref of two elements, four elements, not an array. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "97 00 00 00 00 92 01 01 93 01 01 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "'to' has 2 elements, expected 3");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "97 00 00 00 00 93 01 01 01 94 01 01 01 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "'from' has 4 elements, expected 3");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG, "97 00 00 00 00 01 93 01 01 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'to' has the wrong type");
    /* A slot and a gen over 32 bits, a negative node, a string gen. */
    n = raw_frame(buf, sizeof(buf), ACTR__FR_MSG,
                  "97 00 00 00 00 93 01 cf 00 00 00 01 00 00 00 00 01 93 01 01 01 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'to.slot' is out of range (4294967296)");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_FOUND,
                  "93 01 c3 93 01 01 cf 00 00 00 01 00 00 00 00");
    expect_fail(buf, n, ACTR_EPROTO, "field 'ref.gen' is out of range");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_FOUND, "93 01 c3 93 d3 ff ff ff ff ff ff ff ff 01 01");
    expect_fail(buf, n, ACTR_EPROTO, "field 'ref.node' is negative");
    n = raw_frame(buf, sizeof(buf), ACTR__FR_FOUND, "93 01 c2 93 01 01 a1 31");
    expect_fail(buf, n, ACTR_EPROTO, "field 'ref.gen' has the wrong type");
}

/* ---- many frames in one buffer -------------------------------------------------------------- */

/* Frame number i of a deterministic mixed sequence into buf; fills *want. */
static size_t nth_frame(uint8_t *buf, size_t i, actr__frame_t *want, uint8_t *payload)
{
    static const uint8_t kinds[] = {ACTR__FR_MSG,  ACTR__FR_NAMED,  ACTR__FR_PUB,
                                    ACTR__FR_PING, ACTR__FR_PONG,   ACTR__FR_LOOKUP,
                                    ACTR__FR_FOUND, ACTR__FR_HELLO, ACTR__FR_AUTH,
                                    ACTR__FR_BYE,  ACTR__FR_MSG,    ACTR__FR_MSG};
    static const char *const names[] = {"a", "svc.worker", "topic/with/slashes", ""};
    memset(want, 0, sizeof(*want));
    want->kind = kinds[i % sizeof(kinds)];
    if (want->kind == ACTR__FR_MSG || want->kind == ACTR__FR_NAMED || want->kind == ACTR__FR_PUB) {
        actr__wire_env_t env = sample_env();
        env.corr = i;
        env.to.slot = (uint32_t)(i * 31);
        want->env = env;
        want->payload_len = i % 40;
        for (size_t k = 0; k < want->payload_len; k++)
            payload[k] = (uint8_t)(i + k);
        want->name = want->kind == ACTR__FR_MSG ? NULL : names[i % 3];
        want->name_len = want->name ? strlen(want->name) : 0;
        size_t h = actr__wire_msg_header(buf, want->kind, &env, want->name, want->name_len,
                                         want->payload_len);
        memcpy(buf + h, payload, want->payload_len);
        return h + want->payload_len;
    }
    want->seq = i * 1000003u;
    want->t_us = ~(uint64_t)i;
    want->name = names[i % 4];
    want->name_len = strlen(want->name);
    want->proto_min = 1;
    want->proto_max = (uint32_t)i;
    want->node_id = i << 20;
    want->proto = (uint32_t)i;
    want->found = (int)(i & 1);
    want->ref = (actr_ref_t){i, (uint32_t)i, (uint32_t)i + 1};
    for (int k = 0; k < 32; k++)
        want->nonce[k] = want->mac[k] = (uint8_t)(i ^ (size_t)k);
    return actr__wire_ctl(buf, ACTR__WIRE_CTL_MAX, want);
}

static void assert_frame_eq(const actr__frame_t *got, const actr__frame_t *want,
                            const uint8_t *payload)
{
    ASSERT_EQ(got->kind, want->kind);
    switch (want->kind) {
    case ACTR__FR_MSG:
    case ACTR__FR_NAMED:
    case ACTR__FR_PUB:
        assert_env_eq(&got->env, &want->env);
        ASSERT_EQ(got->payload_len, want->payload_len);
        ASSERT(want->payload_len == 0 || memcmp(got->payload, payload, want->payload_len) == 0);
        if (want->kind != ACTR__FR_MSG)
            ASSERT_MEM_STR(got->name, got->name_len, want->name);
        break;
    case ACTR__FR_PING:
    case ACTR__FR_PONG:
        ASSERT(got->seq == want->seq && got->t_us == want->t_us);
        break;
    case ACTR__FR_LOOKUP:
        ASSERT(got->seq == want->seq);
        ASSERT_MEM_STR(got->name, got->name_len, want->name);
        break;
    case ACTR__FR_FOUND:
        ASSERT(got->seq == want->seq);
        ASSERT_EQ(got->found, want->found);
        ASSERT(actr_ref_eq(got->ref, want->ref));
        break;
    case ACTR__FR_HELLO:
        ASSERT_EQ(got->proto_min, want->proto_min);
        ASSERT_EQ(got->proto_max, want->proto_max);
        ASSERT(got->node_id == want->node_id);
        ASSERT_MEM_STR(got->name, got->name_len, want->name);
        ASSERT(memcmp(got->nonce, want->nonce, 32) == 0);
        break;
    case ACTR__FR_AUTH:
        ASSERT_EQ(got->proto, want->proto);
        ASSERT(memcmp(got->mac, want->mac, 32) == 0);
        break;
    case ACTR__FR_BYE:
        ASSERT_MEM_STR(got->name, got->name_len, want->name);
        break;
    }
}

#define NFRAMES 2000

TEST_IMPL(wire, back_to_back)
{
    size_t cap = NFRAMES * (ACTR__WIRE_CTL_MAX + 40), len = 0, off = 0, i;
    uint8_t *stream = malloc(cap), payload[64];
    actr__frame_t want, got;
    char why[256];
    size_t used;

    ASSERT_NOT_NULL(stream);
    for (i = 0; i < NFRAMES; i++)
        len += nth_frame(stream + len, i, &want, payload);
    ASSERT_LE(len, cap);

    /* All of it at once: one frame after another, each exactly its bytes. */
    for (i = 0; off < len; i++) {
        nth_frame((uint8_t[ACTR__WIRE_CTL_MAX + 64]){0}, i, &want, payload);
        ASSERT_OK(actr__wire_decode(stream + off, len - off, MAXF, &got, &used, why, sizeof(why)));
        assert_frame_eq(&got, &want, payload);
        off += used;
    }
    ASSERT_EQ(i, NFRAMES);
    ASSERT_EQ(off, len);

    /* Fed in pieces of varying size, as a socket would: decode what is whole,
     * keep the rest, and never lose or split a frame. */
    uint8_t *win = malloc(cap);
    size_t have = 0, fed = 0, step = 1;
    ASSERT_NOT_NULL(win);
    i = 0;
    while (fed < len || have > 0) {
        size_t take = fed + step <= len ? step : len - fed;
        memcpy(win + have, stream + fed, take);
        have += take;
        fed += take;
        step = step * 7 % 97 + 1;
        size_t at = 0;
        for (;;) {
            int rc = actr__wire_decode(win + at, have - at, MAXF, &got, &used, why, sizeof(why));
            if (rc == ACTR_EAGAIN) {
                ASSERT(used == 0 || used > have - at);
                break;
            }
            ASSERT_OK(rc);
            nth_frame((uint8_t[ACTR__WIRE_CTL_MAX + 64]){0}, i, &want, payload);
            assert_frame_eq(&got, &want, payload);
            i++;
            at += used;
        }
        memmove(win, win + at, have - at);
        have -= at;
        if (fed == len && have > 0)
            TEST_FAIL_("%zu bytes left over at the end", have);
    }
    ASSERT_EQ(i, NFRAMES);
    free(win);
    free(stream);
}

/* ---- crypto -------------------------------------------------------------------------------- */

static void hex_to(uint8_t *out, const char *hex)
{
    unsigned v;
    int used;
    while (sscanf(hex, "%2x%n", &v, &used) == 1) {
        *out++ = (uint8_t)v;
        hex += used;
    }
}

TEST_IMPL(wire, hmac_known_answer)
{
    /* RFC 4231, test case 2. */
    static const char data[] = "what do ya want for nothing?";
    uint8_t mac[ACTR__WIRE_MAC], want[ACTR__WIRE_MAC];

    hex_to(want, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    ASSERT_OK(actr__wire_hmac_sha256("Jefe", 4, data, strlen(data), mac));
    ASSERT(memcmp(mac, want, sizeof(mac)) == 0);
    /* RFC 4231, test case 1: key 20 x 0x0b, "Hi There". */
    uint8_t key[20];
    memset(key, 0x0b, sizeof(key));
    hex_to(want, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    ASSERT_OK(actr__wire_hmac_sha256(key, sizeof(key), "Hi There", 8, mac));
    ASSERT(memcmp(mac, want, sizeof(mac)) == 0);
}

/* The proof is HMAC-SHA256 over exactly the layout wire.c documents. */
TEST_IMPL(wire, auth_mac_layout)
{
    static const char secret[] = "0123456789abcdef-secret";
    uint8_t an[32], bn[32], mac[32], want[32], msg[256], *p = msg;

    for (int i = 0; i < 32; i++) {
        an[i] = (uint8_t)i;
        bn[i] = (uint8_t)(0x80 + i);
    }
    ASSERT_OK(actr__wire_auth_mac(secret, strlen(secret), "alpha", 0x0102030405060708ull, an,
                                  "beta", 0x1112131415161718ull, bn, mac));
    memcpy(p, "\0\0\0\x0b" "actr-auth/1", 15);
    p += 15;
    memcpy(p, "\0\0\0\x05" "alpha" "\x01\x02\x03\x04\x05\x06\x07\x08", 17);
    p += 17;
    memcpy(p, an, 32);
    p += 32;
    memcpy(p, "\0\0\0\x04" "beta" "\x11\x12\x13\x14\x15\x16\x17\x18", 16);
    p += 16;
    memcpy(p, bn, 32);
    p += 32;
    ASSERT_OK(actr__wire_hmac_sha256(secret, strlen(secret), msg, (size_t)(p - msg), want));
    ASSERT(memcmp(mac, want, 32) == 0);
}

TEST_IMPL(wire, auth_mac_inputs)
{
    static const char secret[] = "a shared cluster secret";
    uint8_t an[32], bn[32], base[32], mac[32], m2[32];

    memset(an, 1, sizeof(an));
    memset(bn, 2, sizeof(bn));
#define MAC(sec, an_, aid, anon, bn_, bid, bnon, out)                                              \
    ASSERT_OK(actr__wire_auth_mac(sec, strlen(sec), an_, aid, anon, bn_, bid, bnon, out))

    MAC(secret, "node-a", 100, an, "node-b", 200, bn, base);
    /* Same inputs, same proof. */
    MAC(secret, "node-a", 100, an, "node-b", 200, bn, mac);
    ASSERT(actr__wire_mac_equal(base, mac));
    ASSERT(memcmp(base, mac, 32) == 0);
    /* Any field changed: a different proof. */
    MAC("a shared cluster secreT", "node-a", 100, an, "node-b", 200, bn, mac);
    ASSERT(!actr__wire_mac_equal(base, mac));
    MAC(secret, "node-A", 100, an, "node-b", 200, bn, mac);
    ASSERT(!actr__wire_mac_equal(base, mac));
    MAC(secret, "node-a", 101, an, "node-b", 200, bn, mac);
    ASSERT(!actr__wire_mac_equal(base, mac));
    MAC(secret, "node-a", 100, an, "node-b", 201, bn, mac);
    ASSERT(!actr__wire_mac_equal(base, mac));
    MAC(secret, "node-a", 100, an, "node-c", 200, bn, mac);
    ASSERT(!actr__wire_mac_equal(base, mac));
    for (int i = 0; i < 32; i += 31) {
        an[i] ^= 0x40;
        MAC(secret, "node-a", 100, an, "node-b", 200, bn, mac);
        ASSERT(!actr__wire_mac_equal(base, mac));
        an[i] ^= 0x40;
        bn[i] ^= 0x01;
        MAC(secret, "node-a", 100, an, "node-b", 200, bn, mac);
        ASSERT(!actr__wire_mac_equal(base, mac));
        bn[i] ^= 0x01;
    }
    /* Roles swapped: B's proof to A is not A's proof to B, so a reflected
     * proof never verifies. */
    MAC(secret, "node-b", 200, bn, "node-a", 100, an, mac);
    ASSERT(!actr__wire_mac_equal(base, mac));
    /* Moving bytes between names changes the proof (length prefixes). */
    MAC(secret, "ab", 7, an, "c", 7, an, mac);
    MAC(secret, "a", 7, an, "bc", 7, an, m2);
    ASSERT(!actr__wire_mac_equal(mac, m2));
    MAC(secret, "", 7, an, "abc", 7, an, mac);
    MAC(secret, "abc", 7, an, "", 7, an, m2);
    ASSERT(!actr__wire_mac_equal(mac, m2));
#undef MAC
    /* Names too long for the wire, missing arguments. */
    char longname[ACTR__WIRE_NAME_MAX + 2];
    memset(longname, 'l', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    ASSERT_ERR(actr__wire_auth_mac(secret, strlen(secret), longname, 1, an, "b", 2, bn, mac),
               ACTR_EINVAL);
    ASSERT_ERR(actr__wire_auth_mac(secret, strlen(secret), "a", 1, an, longname, 2, bn, mac),
               ACTR_EINVAL);
    ASSERT_ERR(actr__wire_auth_mac(NULL, 16, "a", 1, an, "b", 2, bn, mac), ACTR_EINVAL);
    longname[ACTR__WIRE_NAME_MAX] = '\0'; /* exactly the maximum: fine */
    ASSERT_OK(actr__wire_auth_mac(secret, strlen(secret), longname, 1, an, "b", 2, bn, mac));
}

TEST_IMPL(wire, mac_equal_and_nonce)
{
    uint8_t a[32], b[32], n1[32], n2[32], zero[32] = {0};

    memset(a, 0x5a, sizeof(a));
    memcpy(b, a, sizeof(b));
    ASSERT_EQ(actr__wire_mac_equal(a, b), 1);
    for (int i = 0; i < 32; i++) {
        b[i] ^= 0x80;
        ASSERT_EQ(actr__wire_mac_equal(a, b), 0);
        b[i] ^= 0x80;
    }
    ASSERT_EQ(actr__wire_mac_equal(a, b), 1);

    ASSERT_OK(actr__wire_nonce(n1));
    ASSERT_OK(actr__wire_nonce(n2));
    /* 256 random bits: equal or all-zero only with probability 2^-256. */
    ASSERT(memcmp(n1, n2, 32) != 0);
    ASSERT(memcmp(n1, zero, 32) != 0);
}
