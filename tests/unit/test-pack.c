/* test-pack.c — the msgpack payload helpers (runtime/src/pack.c): format
 * round trips for every letter, the exact bytes of the encodings, nesting,
 * maps with optional and missing keys, skipping, "..." arrays, raw values,
 * refs, every error code, truncated and over-deep input, the caller-buffer
 * packer, and the system payloads (DOWN, EXIT, REQFAIL).
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>

#include "pack.h"
#include "task.h"

/* Pack `fmt` into buf (cap bytes) and return the length; fails the test on error. */
#define PACK(buf, fmt, ...)                                                                        \
    ({                                                                                             \
        size_t n_;                                                                                 \
        ASSERT_OK(actr_pack((buf), sizeof(buf), &n_, fmt, ##__VA_ARGS__));                         \
        n_;                                                                                        \
    })

/* The bytes at p (n of them) equal the hex string `hex` ("a1 62" style). */
static void expect_bytes(const void *p, size_t n, const char *hex)
{
    const uint8_t *b = p;
    size_t k = 0;
    unsigned v;
    int used;

    while (sscanf(hex, " %2x%n", &v, &used) == 1) {
        if (k >= n)
            TEST_FAIL_("payload shorter than expected (%zu bytes), want %s", n, hex);
        if (b[k] != v)
            TEST_FAIL_("byte %zu: got %02x, want %02x", k, b[k], v);
        k++;
        hex += used;
    }
    if (k != n)
        TEST_FAIL_("payload has %zu bytes, want %zu", n, k);
}

TEST_IMPL(pack, scalar_encodings)
{
    uint8_t buf[64];
    size_t n;

    n = PACK(buf, "i", 42);
    expect_bytes(buf, n, "2a");
    n = PACK(buf, "n");
    expect_bytes(buf, n, "c0");
    n = PACK(buf, "b b", 1, 0);
    expect_bytes(buf, n, "c3 c2");
    n = PACK(buf, "i i i i", -1, -33, 200, 70000);
    expect_bytes(buf, n, "ff d0df cc c8 ce 00 01 11 70");
    n = PACK(buf, "I U", (int64_t)INT64_MIN, (uint64_t)UINT64_MAX);
    expect_bytes(buf, n, "d3 80 00 00 00 00 00 00 00  cf ff ff ff ff ff ff ff ff");
    n = PACK(buf, "f", 1.5);
    expect_bytes(buf, n, "cb 3f f8 00 00 00 00 00 00");
    n = PACK(buf, "s S", "ab", "c\0d", (size_t)3);
    expect_bytes(buf, n, "a2 61 62  a3 63 00 64");
    n = PACK(buf, "x", "\x01\x02", (size_t)2);
    expect_bytes(buf, n, "c4 02 01 02");
    n = PACK(buf, "r", (actr_ref_t){0x0102030405060708ull, 0x11223344u, 0xaabbccddu});
    expect_bytes(buf, n, "d8 01 01 02 03 04 05 06 07 08 11 22 33 44 aa bb cc dd");
    n = PACK(buf, "[i s] {s:i}", 1, "a", "k", 2);
    expect_bytes(buf, n, "92 01 a1 61  81 a1 6b 02");
    n = PACK(buf, "[] {}");
    expect_bytes(buf, n, "90 80");
    /* Empty format: empty payload. */
    n = PACK(buf, "");
    ASSERT_EQ(n, 0);
    ASSERT_OK(actr_unpack(buf, 0, ""));
    ASSERT_OK(actr_unpack(NULL, 0, " "));
}

TEST_IMPL(pack, roundtrip_every_letter)
{
    uint8_t buf[256], raw[16];
    size_t n, rawn, sl, xl, pl;
    bool b1 = false, b2 = true;
    int i1 = 0;
    int64_t i2 = 0;
    uint64_t u = 0;
    double f1 = 0, f2 = 0;
    const char *s;
    const void *x, *p;
    actr_ref_t r = ACTR_REF_NONE, rin = {77, 5, 9};

    rawn = PACK(raw, "[i s]", 7, "raw");
    n = PACK(buf, "n b b i I U f s x r * f", 1, 0, -123456, (int64_t)-5000000000ll,
             (uint64_t)18000000000000000000ull, 3.25, "hello", "\0\1\2", (size_t)3, rin,
             (const void *)raw, rawn, -0.5);
    ASSERT_OK(actr_unpack(buf, n, "n b b i I U f s x r * f", &b1, &b2, &i1, &i2, &u, &f1, &s, &sl,
                          &x, &xl, &r, &p, &pl, &f2));
    ASSERT(b1 == true);
    ASSERT(b2 == false);
    ASSERT_EQ(i1, -123456);
    ASSERT_EQ(i2, -5000000000ll);
    ASSERT(u == 18000000000000000000ull);
    ASSERT(f1 == 3.25);
    ASSERT(f2 == -0.5);
    ASSERT_MEM_STR(s, sl, "hello");
    ASSERT_EQ(xl, 3);
    ASSERT(memcmp(x, "\0\1\2", 3) == 0);
    ASSERT(actr_ref_eq(r, rin));
    ASSERT_EQ(pl, rawn);
    ASSERT(memcmp(p, raw, rawn) == 0);
    /* The borrowed pointers point into the payload. */
    ASSERT((const uint8_t *)s > buf && (const uint8_t *)s < buf + n);
}

TEST_IMPL(pack, integer_boundaries)
{
    static const int ints[] = {0,  1,   127, 128,  255,  256,    65535,  65536,  INT_MAX,
                               -1, -32, -33, -128, -129, -32768, -32769, INT_MIN};
    static const int64_t i64s[] = {INT64_MIN,    INT64_MIN + 1, -2147483649ll,
                                   4294967295ll, 4294967296ll,  INT64_MAX};
    uint8_t buf[32];
    size_t n;

    for (size_t k = 0; k < sizeof(ints) / sizeof(ints[0]); k++) {
        int v = ~ints[k];
        int64_t w = 0;
        double d = 0;
        n = PACK(buf, "i", ints[k]);
        ASSERT_OK(actr_unpack(buf, n, "i", &v));
        ASSERT_EQ(v, ints[k]);
        ASSERT_OK(actr_unpack(buf, n, "I", &w));
        ASSERT_EQ(w, ints[k]);
        ASSERT_OK(actr_unpack(buf, n, "f", &d)); /* ints widen to double */
        ASSERT(d == (double)ints[k]);
    }
    for (size_t k = 0; k < sizeof(i64s) / sizeof(i64s[0]); k++) {
        int64_t w = 0;
        n = PACK(buf, "I", i64s[k]);
        ASSERT_OK(actr_unpack(buf, n, "I", &w));
        ASSERT(w == i64s[k]);
    }
    /* Any msgpack int that fits is accepted: a uint64 encoding of a small value, a
     * signed encoding of a positive one. */
    {
        static const uint8_t u64_5[] = {0xcf, 0, 0, 0, 0, 0, 0, 0, 5};
        static const uint8_t i16_300[] = {0xd1, 0x01, 0x2c};
        static const uint8_t i8_m5[] = {0xd0, 0xfb};
        int v = 0;
        uint64_t u = 0;
        ASSERT_OK(actr_unpack(u64_5, sizeof(u64_5), "i", &v));
        ASSERT_EQ(v, 5);
        ASSERT_OK(actr_unpack(i16_300, sizeof(i16_300), "U", &u));
        ASSERT_EQ(u, 300);
        ASSERT_OK(actr_unpack(i8_m5, sizeof(i8_m5), "i", &v));
        ASSERT_EQ(v, -5);
    }
}

TEST_IMPL(pack, integer_range_errors)
{
    uint8_t buf[32];
    size_t n;
    int v = 12345;
    int64_t w = 0;
    uint64_t u = 0;

    n = PACK(buf, "I", (int64_t)INT_MAX + 1);
    ASSERT_ERR(actr_unpack(buf, n, "i", &v), ACTR_ERANGE);
    n = PACK(buf, "I", (int64_t)INT_MIN - 1);
    ASSERT_ERR(actr_unpack(buf, n, "i", &v), ACTR_ERANGE);
    ASSERT_EQ(v, 12345); /* untouched */
    n = PACK(buf, "i", -1);
    ASSERT_ERR(actr_unpack(buf, n, "U", &u), ACTR_ERANGE);
    n = PACK(buf, "U", (uint64_t)INT64_MAX + 1);
    ASSERT_ERR(actr_unpack(buf, n, "I", &w), ACTR_ERANGE);
    ASSERT_OK(actr_unpack(buf, n, "U", &u));
    ASSERT(u == (uint64_t)INT64_MAX + 1);
    /* Inside containers too. */
    n = PACK(buf, "[U]", (uint64_t)UINT64_MAX);
    ASSERT_ERR(actr_unpack(buf, n, "[i]", &v), ACTR_ERANGE);
}

TEST_IMPL(pack, floats)
{
    /* float32 1.5, float64 -2.25, and a nil */
    static const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00};
    static const uint8_t f64[] = {0xcb, 0xc0, 0x02, 0x00, 0, 0, 0, 0, 0};
    static const uint8_t nil[] = {0xc0};
    double d = 0;
    int v;

    ASSERT_OK(actr_unpack(f32, sizeof(f32), "f", &d));
    ASSERT(d == 1.5);
    ASSERT_OK(actr_unpack(f64, sizeof(f64), "f", &d));
    ASSERT(d == -2.25);
    ASSERT_ERR(actr_unpack(nil, sizeof(nil), "f", &d), ACTR_ETYPE);
    ASSERT_ERR(actr_unpack(f64, sizeof(f64), "i", &v), ACTR_ETYPE);
}

TEST_IMPL(pack, strings_and_binary)
{
    uint8_t buf[128];
    size_t n, l = 99;
    const char *s = NULL;
    const void *x = NULL;

    n = PACK(buf, "s", "");
    expect_bytes(buf, n, "a0");
    ASSERT_OK(actr_unpack(buf, n, "s", &s, &l));
    ASSERT_EQ(l, 0);
    ASSERT_NOT_NULL(s);
    n = PACK(buf, "S x", (const char *)NULL, (size_t)0, (const void *)NULL, (size_t)0);
    expect_bytes(buf, n, "a0 c4 00");
    /* 's' takes str only, 'x' bin only. */
    n = PACK(buf, "s", "abc");
    ASSERT_ERR(actr_unpack(buf, n, "x", &x, &l), ACTR_ETYPE);
    n = PACK(buf, "x", "abc", (size_t)3);
    ASSERT_ERR(actr_unpack(buf, n, "s", &s, &l), ACTR_ETYPE);
    n = PACK(buf, "i", 1);
    ASSERT_ERR(actr_unpack(buf, n, "s", &s, &l), ACTR_ETYPE);
}

TEST_IMPL(pack, long_strings_grow_the_buffer)
{
    /* Past the builder's stack buffer, and past each header width. */
    static const size_t lens[] = {31, 32, 255, 256, 300, 65535, 65536, 200000};
    actr_msg_t *m;

    for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
        size_t len = lens[k], got = 0, plen;
        char *big = malloc(len);
        const char *s = NULL;
        const void *x = NULL;
        ASSERT_NOT_NULL(big);
        for (size_t j = 0; j < len; j++)
            big[j] = (char)('a' + j % 26);
        ASSERT_OK(actr_msg_pack(NULL, 1, &m, "[S x i]", big, len, big, len, 7));
        actr_msg_data(m, &plen);
        ASSERT_GE(plen, 2 * len + 3);
        int seven = 0;
        ASSERT_OK(actr_msg_unpack(m, "[s x i]", &s, &got, &x, &plen, &seven));
        ASSERT_EQ(got, len);
        ASSERT(memcmp(s, big, len) == 0);
        ASSERT(memcmp(x, big, len) == 0);
        ASSERT_EQ(seven, 7);
        actr_msg_free(m);
        free(big);
    }
}

TEST_IMPL(pack, nesting)
{
    uint8_t buf[128];
    size_t n, sl, kl;
    int a = 0, b = 0, c = 0;
    bool t = false;
    const char *s, *k;

    n = PACK(buf, "[i [s {s:[i i] s:b}] n]", 1, "x", "list", 2, 3, "flag", 1);
    ASSERT_OK(actr_msgpack_check(buf, n));
    ASSERT_OK(
        actr_unpack(buf, n, "[i [s {s:[i i] s:b}] n]", &a, &s, &sl, "list", &b, &c, "flag", &t));
    ASSERT_EQ(a, 1);
    ASSERT_MEM_STR(s, sl, "x");
    ASSERT_EQ(b, 2);
    ASSERT_EQ(c, 3);
    ASSERT(t);
    /* Map keys of any type when packing; maps inside maps. */
    n = PACK(buf, "{i:s s:{s:i}}", 5, "five", "in", "deep", 9);
    ASSERT_OK(actr_unpack(buf, n, "{s:{s:i}}", "in", "deep", &a));
    ASSERT_EQ(a, 9);
    /* Unpack map keys are always named strings. */
    ASSERT_ERR(actr_unpack(buf, n, "{i:s s:_}", &a, &k, &kl), ACTR_EINVAL);
}

TEST_IMPL(pack, big_containers)
{
    /* 16 entries need a 3-byte header, 65536 a 5-byte one; the header is
     * inserted in front of the contents after they are written. */
    static const size_t counts[] = {15, 16, 65535, 65536};
    for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
        size_t cnt = counts[k], len, nlen;
        char *fmt = malloc(cnt * 2 + 8);
        actr_msg_t *m;
        const uint8_t *p;
        ASSERT_NOT_NULL(fmt);
        /* [n n ... n] i  and  {n n ... n n} */
        fmt[0] = '[';
        memset(fmt + 1, 'n', cnt);
        strcpy(fmt + 1 + cnt, "]i");
        ASSERT_OK(actr_msg_pack(NULL, 1, &m, fmt, 42));
        p = actr_msg_data(m, &len);
        if (cnt < 16) {
            ASSERT_EQ(p[0], 0x90 | cnt);
            nlen = 1 + cnt + 1;
        } else if (cnt < 65536) {
            ASSERT_EQ(p[0], 0xdc);
            ASSERT_EQ((p[1] << 8) | p[2], cnt);
            nlen = 3 + cnt + 1;
        } else {
            ASSERT_EQ(p[0], 0xdd);
            nlen = 5 + cnt + 1;
        }
        ASSERT_EQ(len, nlen);
        ASSERT_EQ(p[len - 2], 0xc0);
        ASSERT_EQ(p[len - 1], 42);
        int v = 0;
        ASSERT_OK(actr_msg_unpack(m, "[...] i", &v));
        ASSERT_EQ(v, 42);
        ASSERT_OK(actr_msg_unpack(m, "_ i", &v));
        actr_msg_free(m);

        fmt[0] = '{';
        memset(fmt + 1, 'n', cnt * 2);
        strcpy(fmt + 1 + cnt * 2, "}");
        ASSERT_OK(actr_msg_pack(NULL, 1, &m, fmt));
        p = actr_msg_data(m, &len);
        ASSERT_EQ(p[0], cnt < 16 ? (0x80 | cnt) : cnt < 65536 ? 0xde : 0xdf);
        ASSERT_OK(actr_msgpack_check(p, len));
        ASSERT_OK(actr_msg_unpack(m, "{}"));
        actr_msg_free(m);
        free(fmt);
    }
}

TEST_IMPL(pack, map_keys)
{
    uint8_t buf[128];
    size_t n, sl = 0;
    int a = -1, b = -1, c = -1;
    const char *s = NULL;

    n = PACK(buf, "{s:i s:s i:i s:i}", "a", 1, "name", "bob", 7, 70, "c", 3);
    /* Any order, unknown keys skipped, non-string keys skipped. */
    ASSERT_OK(actr_unpack(buf, n, "{s:i s:i}", "c", &c, "a", &a));
    ASSERT_EQ(a, 1);
    ASSERT_EQ(c, 3);
    ASSERT_OK(actr_unpack(buf, n, "{s:s}", "name", &s, &sl));
    ASSERT_MEM_STR(s, sl, "bob");
    /* Optional key present, optional key absent (output untouched). */
    b = -1;
    ASSERT_OK(actr_unpack(buf, n, "{?s:i ?s:i s:i}", "a", &a, "zzz", &b, "c", &c));
    ASSERT_EQ(b, -1);
    /* Optional absent key with a composite value: its arguments are consumed. */
    b = -1;
    ASSERT_OK(actr_unpack(buf, n, "{?s:[i s {s:i}] s:i}", "nope", &b, &s, &sl, "k", &b, "a", &a));
    ASSERT_EQ(b, -1);
    ASSERT_EQ(a, 1);
    /* Required key absent. */
    ASSERT_ERR(actr_unpack(buf, n, "{s:i}", "missing", &a), ACTR_ENOENT);
    /* Prefix of a key is not the key. */
    ASSERT_ERR(actr_unpack(buf, n, "{s:s}", "nam", &s, &sl), ACTR_ENOENT);
    /* Present key with the wrong type. */
    ASSERT_ERR(actr_unpack(buf, n, "{s:i}", "name", &a), ACTR_ETYPE);
    /* Not a map. */
    n = PACK(buf, "[i]", 1);
    ASSERT_ERR(actr_unpack(buf, n, "{?s:i}", "a", &a), ACTR_ETYPE);
    /* Duplicate keys: the first wins. */
    n = PACK(buf, "{s:i s:i}", "d", 1, "d", 2);
    ASSERT_OK(actr_unpack(buf, n, "{s:i}", "d", &a));
    ASSERT_EQ(a, 1);
    /* The same key twice in the format. */
    ASSERT_OK(actr_unpack(buf, n, "{s:i s:i}", "d", &a, "d", &b));
    ASSERT_EQ(b, 1);
    /* Empty map. */
    n = PACK(buf, "{}");
    ASSERT_OK(actr_unpack(buf, n, "{?s:i}", "x", &a));
    ASSERT_ERR(actr_unpack(buf, n, "{s:i}", "x", &a), ACTR_ENOENT);
}

TEST_IMPL(pack, skip_and_ellipsis)
{
    uint8_t buf[128];
    size_t n;
    int a = 0, b = 0;

    n = PACK(buf, "[i {s:[n n]} i s]", 1, "k", 2, "z");
    ASSERT_OK(actr_unpack(buf, n, "[i _ i _]", &a, &b));
    ASSERT_EQ(a, 1);
    ASSERT_EQ(b, 2);
    ASSERT_OK(actr_unpack(buf, n, "_"));
    ASSERT_OK(actr_unpack(buf, n, "[...]"));
    ASSERT_OK(actr_unpack(buf, n, "[i ...]", &a));
    ASSERT_OK(actr_unpack(buf, n, "[i _ i _ ...]", &a, &b));
    ASSERT_OK(actr_unpack(buf, n, "[i,_,i,...]", &a, &b));
    /* Fewer format items than elements without "...": ETYPE; more: ETYPE. */
    ASSERT_ERR(actr_unpack(buf, n, "[i]", &a), ACTR_ETYPE);
    ASSERT_ERR(actr_unpack(buf, n, "[i _ i _ _]", &a, &b), ACTR_ETYPE);
    ASSERT_ERR(actr_unpack(buf, n, "[i _ i _ _ ...]", &a, &b), ACTR_ETYPE);
    n = PACK(buf, "[]");
    ASSERT_OK(actr_unpack(buf, n, "[...]"));
    ASSERT_OK(actr_unpack(buf, n, "[]"));
    ASSERT_ERR(actr_unpack(buf, n, "[i...]", &a), ACTR_ETYPE);
}

TEST_IMPL(pack, raw_values)
{
    uint8_t inner[64], buf[128];
    size_t in, n, pl;
    const void *p;
    int a = 0;

    in = PACK(inner, "{s:[i i]}", "v", 1, 2);
    n = PACK(buf, "[* i]", (const void *)inner, in, 5);
    ASSERT_OK(actr_unpack(buf, n, "[{s:[_ i]} i]", "v", &a, &a));
    ASSERT_EQ(a, 5);
    ASSERT_OK(actr_unpack(buf, n, "[* _]", &p, &pl));
    ASSERT_EQ(pl, in);
    ASSERT(memcmp(p, inner, in) == 0);
    ASSERT_OK(actr_unpack(buf, n, "*", &p, &pl));
    ASSERT_EQ(pl, n);
    /* '*' must be exactly one well-formed value. */
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "*", (const void *)inner, in - 1), ACTR_EMSGPACK);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "*", (const void *)"\x01\x02", (size_t)2),
               ACTR_EMSGPACK);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "*", (const void *)NULL, (size_t)0), ACTR_EMSGPACK);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "*", (const void *)"\xc1", (size_t)1),
               ACTR_EMSGPACK);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "*", (const void *)NULL, (size_t)3), ACTR_EINVAL);
}

TEST_IMPL(pack, refs)
{
    uint8_t buf[64];
    size_t n;
    actr_ref_t in = {UINT64_MAX, UINT32_MAX, 1}, out = ACTR_REF_NONE;

    n = PACK(buf, "[r r]", in, ACTR_REF_NONE);
    ASSERT_OK(actr_unpack(buf, n, "[r _]", &out));
    ASSERT(actr_ref_eq(in, out));
    ASSERT_OK(actr_unpack(buf, n, "[_ r]", &out));
    ASSERT(actr_ref_is_none(out));
    /* Other extension types and sizes are not refs. */
    {
        uint8_t ext2[18] = {0xd8, 0x02};
        uint8_t ext8[10] = {0xd7, 0x01};
        uint8_t ext16_long[19] = {0xc7, 16, 0x01}; /* ext 8 form, 16 bytes, type 1: a ref */
        ASSERT_ERR(actr_unpack(ext2, sizeof(ext2), "r", &out), ACTR_ETYPE);
        ASSERT_ERR(actr_unpack(ext8, sizeof(ext8), "r", &out), ACTR_ETYPE);
        ext16_long[3 + 7] = 3;
        ASSERT_OK(actr_unpack(ext16_long, sizeof(ext16_long), "r", &out));
        ASSERT_EQ(out.node, 3);
    }
    n = PACK(buf, "s", "ref");
    ASSERT_ERR(actr_unpack(buf, n, "r", &out), ACTR_ETYPE);
}

TEST_IMPL(pack, format_errors)
{
    uint8_t buf[64];
    size_t n = 0;
    int a = 0;
    const char *s;
    size_t sl;

    /* Packing. */
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), NULL, "i", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(NULL, 4, &n, "i", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "q"), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "[i", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "i]", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "[i}", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "{i}", 1), ACTR_EINVAL); /* key without value */
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "s", (const char *)NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "S", (const char *)NULL, (size_t)1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "x", (const void *)NULL, (size_t)1), ACTR_EINVAL);
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "_"), ACTR_EINVAL); /* unpack-only letters */
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, "[...]"), ACTR_EINVAL);

    /* Unpacking. */
    n = PACK(buf, "[i s]", 1, "a");
    ASSERT_ERR(actr_unpack(buf, n, NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(NULL, 3, "i", &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i q]", &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i s", &a, &s, &sl), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "]"), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i s}", &a, &s, &sl), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i ..]", &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i ... s]", &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "..."), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "?i", &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i S]", &a, &s, &sl), ACTR_EINVAL); /* pack-only letter */
    ASSERT_ERR(actr_unpack(buf, n, "[i s]", NULL, &s, &sl), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "[i s]", &a, &s, NULL), ACTR_EINVAL);
    n = PACK(buf, "{s:i}", "k", 1);
    ASSERT_ERR(actr_unpack(buf, n, "{i:i}", &a, &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "{s:i}", (const char *)NULL, &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "{s}", "k"), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "{s:i i}", "k", &a, &a), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "{?s:[i}", "zz", &a), ACTR_EINVAL);
}

TEST_IMPL(pack, payload_errors)
{
    uint8_t buf[64];
    size_t n;
    int a = 0;
    bool t;

    n = PACK(buf, "i i", 1, 2);
    ASSERT_ERR(actr_unpack(buf, n, "i", &a), ACTR_EMSGPACK);             /* trailing bytes */
    ASSERT_ERR(actr_unpack(buf, n, "i i i", &a, &a, &a), ACTR_EMSGPACK); /* too few values */
    ASSERT_ERR(actr_unpack(buf, 0, "i", &a), ACTR_EMSGPACK);
    ASSERT_ERR(actr_unpack(buf, n, "n"), ACTR_ETYPE);
    ASSERT_ERR(actr_unpack(buf, n, "b", &t), ACTR_ETYPE);
    ASSERT_ERR(actr_unpack(buf, n, "[i]", &a), ACTR_ETYPE);
    ASSERT_ERR(actr_unpack("\xc1", 1, "_"), ACTR_EMSGPACK);
    ASSERT_ERR(actr_unpack("\xc1", 1, "i", &a), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check("\xc1", 1), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check(NULL, 0), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check(buf, 0), ACTR_EMSGPACK);
    ASSERT_OK(actr_msgpack_check(buf, n)); /* several values */
    /* Counts and lengths larger than the bytes left fail at once. */
    ASSERT_ERR(actr_msgpack_check("\xdd\xff\xff\xff\xff\x01", 6), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check("\xdf\xff\xff\xff\xff\x01\x01", 7), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check("\xdb\xff\xff\xff\xff\x61", 6), ACTR_EMSGPACK);
    ASSERT_ERR(actr_msgpack_check("\xc9\xff\xff\xff\xff\x01\x61", 7), ACTR_EMSGPACK);
    ASSERT_ERR(actr_unpack("\xdd\xff\xff\xff\xff\x01", 6, "[...]"), ACTR_EMSGPACK);
    /* A map holds 2n values. */
    ASSERT_ERR(actr_msgpack_check("\x81\x01", 2), ACTR_EMSGPACK);
    ASSERT_OK(actr_msgpack_check("\x81\x01\x02", 3));
}

/* Truncating a valid payload at every byte boundary gives ACTR_EMSGPACK for
 * every format that matches the whole payload, and never crashes. */
TEST_IMPL(pack, truncated_everywhere)
{
    uint8_t buf[512];
    char big[300];
    size_t n, first;

    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    n = PACK(buf, "[n b i I U f s x r {s:i s:[i i]} [] {} s] i", 1, -70000, -((int64_t)1 << 40),
             (uint64_t)1 << 63, 2.5, "str", "bin", (size_t)3, (actr_ref_t){1, 2, 3}, "a", 1, "b", 2,
             3, big, 99);
    ASSERT_OK(actr__msgpack_value_len(buf, n, &first));
    ASSERT_EQ(first, n - 1); /* the array, then the int 99 (one byte, 63) */
    for (size_t len = 0; len < n; len++) {
        uint8_t *cut = malloc(len ? len : 1); /* exact size, so ASan sees over-reads */
        bool b;
        int i, j, k, l, m;
        int64_t I;
        uint64_t U;
        double f;
        const char *s, *s2;
        const void *x, *p;
        size_t sl, xl, s2l, pl;
        actr_ref_t r;

        ASSERT_NOT_NULL(cut);
        memcpy(cut, buf, len);
        /* The one prefix made of whole values is the array alone. */
        ASSERT_ERR(actr_msgpack_check(cut, len), len == first ? 0 : ACTR_EMSGPACK);
        ASSERT_ERR(actr_unpack(cut, len, "[n b i I U f s x r {s:i s:[i i]} [] {} s] i", &b, &i, &I,
                               &U, &f, &s, &sl, &x, &xl, &r, "a", &j, "b", &k, &l, &s2, &s2l, &m),
                   ACTR_EMSGPACK);
        ASSERT_ERR(actr_unpack(cut, len, "_ _"), ACTR_EMSGPACK);
        ASSERT_ERR(actr_unpack(cut, len, "* i", &p, &pl, &i), ACTR_EMSGPACK);
        ASSERT_ERR(actr_unpack(cut, len, "[...] _"), ACTR_EMSGPACK);
        ASSERT_ERR(actr_unpack(cut, len, "[_ _ _ _ _ _ _ _ _ {?s:i} ...] i", "zz", &i, &i),
                   ACTR_EMSGPACK);
        free(cut);
    }
    ASSERT_OK(actr_msgpack_check(buf, n));
    ASSERT_OK(actr_unpack(buf, n, "_ _"));
}

TEST_IMPL(pack, nesting_depth_limit)
{
    enum { LIMIT = ACTR__MSGPACK_MAX_DEPTH };
    uint8_t deep[LIMIT + 2];
    char fmt[2 * (LIMIT + 1) + 1];
    uint8_t buf[256];
    size_t n;
    uint8_t *huge;

    /* LIMIT nested arrays are fine, one more is malformed. */
    memset(deep, 0x91, sizeof(deep));
    deep[LIMIT] = 0xc0; /* LIMIT arrays around a nil */
    ASSERT_OK(actr_msgpack_check(deep, LIMIT + 1));
    ASSERT_OK(actr_unpack(deep, LIMIT + 1, "_"));
    deep[LIMIT] = 0x91;
    deep[LIMIT + 1] = 0xc0;
    ASSERT_ERR(actr_msgpack_check(deep, LIMIT + 2), ACTR_EMSGPACK);
    ASSERT_ERR(actr_unpack(deep, LIMIT + 2, "_"), ACTR_EMSGPACK);
    ASSERT_ERR(actr_unpack(deep, LIMIT + 2, "[...]"), ACTR_EMSGPACK);
    /* Empty containers count too. */
    deep[LIMIT] = 0x90;
    ASSERT_ERR(actr_msgpack_check(deep, LIMIT + 1), ACTR_EMSGPACK);

    /* The same through format strings. */
    memset(fmt, '[', LIMIT);
    memset(fmt + LIMIT, ']', LIMIT);
    fmt[2 * LIMIT] = '\0';
    ASSERT_OK(actr_pack(buf, sizeof(buf), &n, fmt));
    ASSERT_EQ(n, LIMIT);
    ASSERT_OK(actr_unpack(buf, n, fmt));
    memset(fmt, '[', LIMIT + 1);
    memset(fmt + LIMIT + 1, ']', LIMIT + 1);
    fmt[2 * (LIMIT + 1)] = '\0';
    ASSERT_ERR(actr_pack(buf, sizeof(buf), &n, fmt), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(deep, LIMIT + 2, fmt), ACTR_EMSGPACK);

    /* Far deeper input: rejected without recursion. */
    huge = malloc(1 << 20);
    ASSERT_NOT_NULL(huge);
    memset(huge, 0x91, 1 << 20);
    ASSERT_ERR(actr_msgpack_check(huge, 1 << 20), ACTR_EMSGPACK);
    memset(huge, 0x81, 1 << 20); /* maps: every key is a map */
    {
        int v;
        ASSERT_ERR(actr_unpack(huge, 1 << 20, "{s:i}", "k", &v), ACTR_EMSGPACK);
    }
    free(huge);
}

TEST_IMPL(pack, caller_buffer_too_small)
{
    uint8_t buf[64];
    size_t n, need = 0;

    n = PACK(buf, "[s i]", "abcdefghijkl", 1);
    ASSERT_EQ(n, 1 + 1 + 12 + 1);
    /* Every capacity short of the size: E2BIG and the size needed. Buffers of
     * exactly `cap` bytes, so ASan catches a write past them. */
    for (size_t cap = 0; cap <= n; cap++) {
        uint8_t *b = malloc(cap ? cap : 1);
        ASSERT_NOT_NULL(b);
        need = 0;
        if (cap < n) {
            ASSERT_ERR(actr_pack(b, cap, &need, "[s i]", "abcdefghijkl", 1), ACTR_E2BIG);
        } else {
            ASSERT_OK(actr_pack(b, cap, &need, "[s i]", "abcdefghijkl", 1));
            ASSERT(memcmp(b, buf, n) == 0);
        }
        ASSERT_EQ(need, n);
        free(b);
    }
    /* A pure size query. */
    ASSERT_ERR(actr_pack(NULL, 0, &need, "[s i]", "abcdefghijkl", 1), ACTR_E2BIG);
    ASSERT_EQ(need, n);
    ASSERT_OK(actr_pack(NULL, 0, &need, ""));
    ASSERT_EQ(need, 0);
}

TEST_IMPL(pack, caller_buffer_sizes_with_wide_headers)
{
    /* A 16-entry array needs 2 header bytes more than reserved: the reported
     * size must include them, whether or not the contents fit. */
    uint8_t buf[64];
    size_t n, need;
    const char *fmt = "[nnnnnnnnnnnnnnnn]";

    n = PACK(buf, "[nnnnnnnnnnnnnnnn]");
    ASSERT_EQ(n, 3 + 16);
    for (size_t cap = 0; cap < n; cap++) {
        uint8_t *b = malloc(cap ? cap : 1);
        ASSERT_NOT_NULL(b);
        ASSERT_ERR(actr_pack(b, cap, &need, fmt), ACTR_E2BIG);
        ASSERT_EQ(need, n);
        free(b);
    }
    {
        uint8_t *b = malloc(n);
        ASSERT_NOT_NULL(b);
        ASSERT_OK(actr_pack(b, n, &need, fmt));
        ASSERT_EQ(need, n);
        ASSERT(memcmp(b, buf, n) == 0);
        free(b);
    }
}

TEST_IMPL(pack, msg_roundtrip)
{
    actr_msg_t *m = NULL;
    int v = 0;
    const char *s;
    size_t sl, len;

    ASSERT_OK(actr_msg_pack(NULL, 7, &m, "i", 42));
    ASSERT_EQ(actr_msg_type(m), 7);
    {
        const void *d = actr_msg_data(m, &len);
        expect_bytes(d, len, "2a");
    }
    ASSERT_OK(actr_msg_unpack(m, "i", &v));
    ASSERT_EQ(v, 42);
    ASSERT_ERR(actr_msg_unpack(m, "s", &s, &sl), ACTR_ETYPE);
    ASSERT_ERR(actr_msg_unpack(NULL, "i", &v), ACTR_EINVAL);
    actr_msg_free(m);

    /* Empty payload. */
    ASSERT_OK(actr_msg_pack(NULL, 8, &m, ""));
    actr_msg_data(m, &len);
    ASSERT_EQ(len, 0);
    ASSERT_OK(actr_msg_unpack(m, ""));
    ASSERT_ERR(actr_msg_unpack(m, "i", &v), ACTR_EMSGPACK);
    actr_msg_free(m);

    /* Errors leave *out NULL. */
    m = (actr_msg_t *)&v;
    ASSERT_ERR(actr_msg_pack(NULL, 1, &m, "[i", 1), ACTR_EINVAL);
    ASSERT_NULL(m);
    ASSERT_ERR(actr_msg_pack(NULL, 1, NULL, "i", 1), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_pack(NULL, 1, &m, NULL), ACTR_EINVAL);
}

/* The va_list forms, called through wrappers of our own. */
static int vpack_wrap(actr_msg_t **out, const char *fmt, ...)
{
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = actr_msg_vpack(NULL, 3, out, fmt, ap);
    va_end(ap);
    return rc;
}

static int vunpack_wrap(const actr_msg_t *m, const char *fmt, ...)
{
    const void *data;
    size_t len;
    va_list ap;
    int rc;
    data = actr_msg_data(m, &len);
    va_start(ap, fmt);
    rc = actr_vunpack(data, len, fmt, ap);
    va_end(ap);
    return rc;
}

TEST_IMPL(pack, va_list_forms)
{
    actr_msg_t *m;
    int a = 0, b = 0;
    const char *s;
    size_t sl;

    ASSERT_OK(vpack_wrap(&m, "[i {s:i} s]", 1, "k", 2, "end"));
    ASSERT_OK(vunpack_wrap(m, "[i {s:i} s]", &a, "k", &b, &s, &sl));
    ASSERT_EQ(a, 1);
    ASSERT_EQ(b, 2);
    ASSERT_MEM_STR(s, sl, "end");
    ASSERT_ERR(vunpack_wrap(m, "[i {s:i}]", &a, "k", &b), ACTR_ETYPE);
    actr_msg_free(m);
}

TEST_IMPL(pack, payload_too_big)
{
    size_t big = ACTR_MSG_MAX_PAYLOAD + 1, need = 0;
    char *p = malloc(big); /* never touched: only its length is used */
    actr_msg_t *m = NULL;

    ASSERT_NOT_NULL(p);
    ASSERT_ERR(actr_msg_pack(NULL, 1, &m, "S", p, big), ACTR_E2BIG);
    ASSERT_NULL(m);
    ASSERT_ERR(actr_msg_pack(NULL, 1, &m, "x", p, big), ACTR_E2BIG);
    ASSERT_ERR(actr_pack(NULL, 0, &need, "x", p, big), ACTR_E2BIG);
    ASSERT_GE(need, big);
    /* Two halves that together exceed the limit (the builder grows, then stops). */
    memset(p, 'a', big / 2 + 1);
    ASSERT_ERR(actr_msg_pack(NULL, 1, &m, "[S S]", p, big / 2 + 1, p, big / 2 + 1), ACTR_E2BIG);
    ASSERT_NULL(m);
    /* Exactly at the limit is fine: a bin of MAX - 5 bytes has a 5-byte header. */
    ASSERT_OK(actr_msg_pack(NULL, 1, &m, "x", p, (size_t)ACTR_MSG_MAX_PAYLOAD - 5));
    {
        size_t len;
        actr_msg_data(m, &len);
        ASSERT_EQ(len, ACTR_MSG_MAX_PAYLOAD);
    }
    actr_msg_free(m);
    free(p);
}

TEST_IMPL(pack, system_down)
{
    actr_msg_t *m;
    uint64_t id = 0;
    const char *r = NULL;
    size_t rl = 0;

    ASSERT_OK(actr__pack_down(NULL, 0x123456789ull, "noconnection", &m));
    ASSERT_EQ(actr_msg_type(m), ACTR_MSG_DOWN);
    ASSERT_OK(actr_msg_down(m, &id, &r, &rl));
    ASSERT(id == 0x123456789ull);
    ASSERT_MEM_STR(r, rl, "noconnection");
    ASSERT_OK(actr_msg_down(m, NULL, NULL, NULL));
    ASSERT_OK(actr_msg_unpack(m, "[U s]", &id, &r, &rl));
    ASSERT_ERR(actr_msg_exit(m, &r, &rl), ACTR_EINVAL); /* wrong type */
    ASSERT_EQ(actr_msg_error(m), 0);
    actr_msg_free(m);
    ASSERT_ERR(actr__pack_down(NULL, 1, NULL, &m), ACTR_EINVAL);

    /* A later version may append elements; a broken payload is EINVAL. */
    ASSERT_OK(actr_msg_pack(NULL, ACTR_MSG_DOWN, &m, "[U s i]", (uint64_t)5, "normal", 1));
    ASSERT_OK(actr_msg_down(m, &id, &r, &rl));
    ASSERT_EQ(id, 5);
    ASSERT_MEM_STR(r, rl, "normal");
    actr_msg_free(m);
    ASSERT_OK(actr_msg_pack(NULL, ACTR_MSG_DOWN, &m, "[s U]", "normal", (uint64_t)5));
    ASSERT_ERR(actr_msg_down(m, &id, &r, &rl), ACTR_EINVAL);
    actr_msg_free(m);
}

TEST_IMPL(pack, system_exit_and_reqfail)
{
    actr_msg_t *m;
    const char *r = NULL;
    size_t rl = 0;
    char longr[400];

    ASSERT_OK(actr__pack_exit(NULL, "killed", &m));
    ASSERT_EQ(actr_msg_type(m), ACTR_MSG_EXIT);
    ASSERT_OK(actr_msg_exit(m, &r, &rl));
    ASSERT_MEM_STR(r, rl, "killed");
    ASSERT_OK(actr_msg_exit(m, NULL, NULL));
    ASSERT_ERR(actr_msg_down(m, NULL, NULL, NULL), ACTR_EINVAL);
    actr_msg_free(m);
    /* A reason longer than the builder's stack buffer. */
    memset(longr, 'r', sizeof(longr) - 1);
    longr[sizeof(longr) - 1] = '\0';
    ASSERT_OK(actr__pack_exit(NULL, longr, &m));
    ASSERT_OK(actr_msg_exit(m, &r, &rl));
    ASSERT_MEM_STR(r, rl, longr);
    actr_msg_free(m);

    ASSERT_OK(actr__pack_reqfail(NULL, ACTR_ETIMEDOUT, &m));
    ASSERT_EQ(actr_msg_type(m), ACTR_MSG_REQFAIL);
    ASSERT_EQ(actr_msg_error(m), ACTR_ETIMEDOUT);
    actr_msg_free(m);
    ASSERT_OK(actr__pack_reqfail(NULL, ACTR_ENOACTOR, &m));
    ASSERT_EQ(actr_msg_error(m), ACTR_ENOACTOR);
    {
        int code = 0;
        ASSERT_OK(actr_msg_unpack(m, "[i]", &code));
        ASSERT_EQ(code, ACTR_ENOACTOR);
    }
    actr_msg_free(m);
    /* Not a REQFAIL: 0. */
    ASSERT_OK(actr_msg_pack(NULL, 1, &m, "[i]", ACTR_ETIMEDOUT));
    ASSERT_EQ(actr_msg_error(m), 0);
    actr_msg_free(m);
}

/* The value format of an absent optional key is walked without a payload: it
 * consumes its arguments (every letter's), writes nothing, and its format
 * errors still count. */
TEST_IMPL(pack, absent_key_consumes_every_letter)
{
    uint8_t buf[64];
    size_t n, l1 = 7, l2 = 7, l3 = 7;
    bool b = true;
    int i = 7, tail = 0;
    int64_t I = 7;
    uint64_t U = 7;
    double f = 7;
    const char *s = NULL;
    const void *x = NULL, *p = NULL;
    actr_ref_t r = {7, 7, 7};
    char fmt[300];

    n = PACK(buf, "{s:i}", "tail", 5);
    ASSERT_OK(actr_unpack(buf, n, "{?s:[n b i I U f s x r * _ [i] {s:i ?s:s} ...] s:i}", "gone", &b,
                          &i, &I, &U, &f, &s, &l1, &x, &l2, &r, &p, &l3, &i, "k", &i, "k2", &s, &l1,
                          "tail", &tail));
    ASSERT_EQ(tail, 5);
    ASSERT(b == true && i == 7 && I == 7 && U == 7 && f == 7 && s == NULL && x == NULL &&
           p == NULL && l1 == 7 && l2 == 7 && l3 == 7 && r.node == 7);
    /* Format errors inside the skipped value. */
    ASSERT_ERR(actr_unpack(buf, n, "{?s:[i ...x] s:i}", "gone", &i, "tail", &tail), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "{?s:{i:i} s:i}", "gone", &i, &i, "tail", &tail), ACTR_EINVAL);
    ASSERT_ERR(actr_unpack(buf, n, "{?s:q}", "gone"), ACTR_EINVAL);
    /* Too deep a format, even where no payload is read. */
    memcpy(fmt, "{?s:", 4);
    memset(fmt + 4, '[', ACTR__MSGPACK_MAX_DEPTH);
    memset(fmt + 4 + ACTR__MSGPACK_MAX_DEPTH, ']', ACTR__MSGPACK_MAX_DEPTH);
    strcpy(fmt + 4 + 2 * ACTR__MSGPACK_MAX_DEPTH, "}");
    ASSERT_ERR(actr_unpack(buf, n, fmt, "gone"), ACTR_EINVAL);
    fmt[4] = '{';
    fmt[4 + 2 * ACTR__MSGPACK_MAX_DEPTH - 1] = '}';
    ASSERT_ERR(actr_unpack(buf, n, fmt, "gone"), ACTR_EINVAL);
    /* One level less fits (the map itself is the first level). */
    memset(fmt + 4, '[', ACTR__MSGPACK_MAX_DEPTH - 1);
    memset(fmt + 4 + ACTR__MSGPACK_MAX_DEPTH - 1, ']', ACTR__MSGPACK_MAX_DEPTH - 1);
    strcpy(fmt + 4 + 2 * (ACTR__MSGPACK_MAX_DEPTH - 1), "}");
    ASSERT_OK(actr_unpack(buf, n, fmt, "gone"));
}

TEST_IMPL(pack, map_keys_of_other_types)
{
    uint8_t buf[128];
    size_t n;
    int a = 0, b = 0;

    /* Container keys, nil and int keys before the one looked up. */
    n = PACK(buf, "{[i {i:i}]:i n:i {}:i i:i s:i s:i}", 1, 2, 3, 10, 11, 12, 13, 99, "a", 14, "b",
             15);
    ASSERT_OK(actr_unpack(buf, n, "{s:i s:i}", "b", &b, "a", &a));
    ASSERT_EQ(a, 14);
    ASSERT_EQ(b, 15);
    /* A key that is a string equal to the name but inside an array does not match. */
    n = PACK(buf, "{[s]:i}", "a", 1);
    ASSERT_ERR(actr_unpack(buf, n, "{s:i}", "a", &a), ACTR_ENOENT);
}

TEST_IMPL(pack, system_payload_malformed)
{
    actr_msg_t *m;
    const char *r;
    size_t rl;

    ASSERT_OK(actr_msg_new(NULL, ACTR_MSG_REQFAIL, "\xc1", 1, &m));
    ASSERT_EQ(actr_msg_error(m), ACTR_EMSGPACK);
    actr_msg_free(m);
    ASSERT_OK(actr_msg_new(NULL, ACTR_MSG_EXIT, "\x91\x01", 2, &m));
    ASSERT_ERR(actr_msg_exit(m, &r, &rl), ACTR_EINVAL);
    actr_msg_free(m);
    ASSERT_OK(actr_msg_new(NULL, ACTR_MSG_DOWN, NULL, 0, &m));
    ASSERT_ERR(actr_msg_down(m, NULL, &r, &rl), ACTR_EINVAL);
    actr_msg_free(m);
    ASSERT_ERR(actr_msg_down(NULL, NULL, NULL, NULL), ACTR_EINVAL);
    ASSERT_ERR(actr_msg_exit(NULL, NULL, NULL), ACTR_EINVAL);
    ASSERT_EQ(actr_msg_error(NULL), 0);
    ASSERT_ERR(actr__pack_exit(NULL, NULL, &m), ACTR_EINVAL);
    ASSERT_ERR(actr__pack_reqfail(NULL, ACTR_ETIMEDOUT, NULL), ACTR_EINVAL);
}
