/* fuzz-msg.c — libFuzzer driver for the msgpack payload reader (runtime/src/unpack.c).
 *
 * Every input is used twice:
 *  1. The whole input as a payload: actr_msgpack_check, the value scanner and
 *     actr_unpack with a fixed set of formats (skip, raw, arrays with "...",
 *     maps with optional keys, every scalar letter). Results must agree with
 *     each other (e.g. "*" succeeds exactly when the input is one value), and
 *     a well-formed value packed back through "*" must come out byte for byte.
 *  2. Split as [n][format: n % 33 bytes][payload]: actr_unpack with a fuzzed
 *     format string, so the format parser (brackets, "...", '?', dry runs of
 *     absent keys) is explored too. The outputs are 64 pointers to zeroed
 *     32-byte slots: a format of at most 32 characters consumes at most 64
 *     arguments, each slot is consumed once, and a slot read as a map key holds
 *     a NUL-terminated one-letter string.
 *  3. Mapped byte by byte onto the pack letters that take no argument (n [ ] { }
 *     and a separator): when the format packs, the result is well-formed, its
 *     size does not depend on the buffer (a short one gives ACTR_E2BIG and the
 *     same size), and a format without maps unpacks it again.
 * Nothing may crash, hang, leak or read outside the input (the replay tool and
 * libFuzzer hand over buffers of exactly the input's size).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "actr.h"
#include "pack.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* An error code the reader may give for payload trouble. */
static bool payload_err(int rc)
{
    return rc == ACTR_EMSGPACK || rc == ACTR_ETYPE || rc == ACTR_ERANGE || rc == ACTR_ENOENT;
}

static void fixed_formats(const uint8_t *data, size_t size)
{
    const void *p, *x;
    const char *s, *s2;
    size_t pl, sl, s2l, xl, used = 0;
    int i = 0, i2 = 0, rc, check, vl;
    int64_t I;
    uint64_t U;
    double f;
    bool b;
    actr_ref_t r;

    check = actr_msgpack_check(data, size);
    CHECK(check == 0 || check == ACTR_EMSGPACK);
    vl = actr__msgpack_value_len(data, size, &used);
    CHECK(vl == 0 || vl == ACTR_EMSGPACK);
    if (vl == 0)
        CHECK(used > 0 && used <= size);
    if (check == 0)
        CHECK(vl == 0);

    /* One value exactly: "*" and "_" agree with the scanner. */
    rc = actr_unpack(data, size, "*", &p, &pl);
    CHECK(rc == 0 || rc == ACTR_EMSGPACK);
    CHECK((rc == 0) == (vl == 0 && used == size));
    if (rc == 0) {
        uint8_t small[64];
        size_t need = 0;
        CHECK(p == (const void *)data && pl == size);
        CHECK(actr_unpack(data, size, "_") == 0);
        CHECK(actr_msgpack_check(data, size) == 0);
        /* Packing it back as a raw value reproduces it byte for byte. */
        rc = actr_pack(small, sizeof(small), &need, "*", (const void *)data, size);
        CHECK(need == size);
        CHECK(rc == (size <= sizeof(small) ? 0 : ACTR_E2BIG));
        if (rc == 0)
            CHECK(memcmp(small, data, size) == 0);
    } else {
        CHECK(actr_unpack(data, size, "_") == ACTR_EMSGPACK);
    }

    rc = actr_unpack(data, size, "[...]");
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "[_ _ ...]");
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "{}");
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "{?s:i ?s:s ?s:[i ...] ?s:{?s:f ?s:r}}", "a", &i, "b", &s, &sl,
                     "c", &i2, "d", "e", &f, "r", &r);
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "{s:i s:s}", "a", &i, "b", &s, &sl);
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "[n b i I U f s x r * _ ...]", &b, &i, &I, &U, &f, &s, &sl, &x,
                     &xl, &r, &p, &pl);
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "[U s ...]", &U, &s, &sl); /* the DOWN payload */
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "i s", &i, &s2, &s2l);
    CHECK(rc == 0 || payload_err(rc));
    rc = actr_unpack(data, size, "[[[[* ...] ...] ...] ...]", &p, &pl);
    CHECK(rc == 0 || payload_err(rc));
}

#define NSLOTS 64

static void fuzzed_format(const uint8_t *data, size_t size)
{
    /* 32-byte slots, aligned for any output type. */
    _Alignas(16) uint8_t slots[NSLOTS][32];
    char fmt[33];
    size_t flen;
    void *a[NSLOTS];
    int rc;

    if (size == 0)
        return;
    flen = data[0] % 33u;
    if (flen > size - 1)
        flen = size - 1;
    memcpy(fmt, data + 1, flen);
    fmt[flen] = '\0';
    /* Each slot starts as a one-letter string, "a" to "d", so a slot read as
     * a map key can match the keys of the seed corpus. */
    memset(slots, 0, sizeof(slots));
    for (int k = 0; k < NSLOTS; k++) {
        slots[k][0] = (uint8_t)('a' + k % 4);
        a[k] = slots[k];
    }
    data += 1 + flen;
    size -= 1 + flen;

    rc = actr_unpack(data, size, fmt, a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
                     a[10], a[11], a[12], a[13], a[14], a[15], a[16], a[17], a[18], a[19], a[20],
                     a[21], a[22], a[23], a[24], a[25], a[26], a[27], a[28], a[29], a[30], a[31],
                     a[32], a[33], a[34], a[35], a[36], a[37], a[38], a[39], a[40], a[41], a[42],
                     a[43], a[44], a[45], a[46], a[47], a[48], a[49], a[50], a[51], a[52], a[53],
                     a[54], a[55], a[56], a[57], a[58], a[59], a[60], a[61], a[62], a[63]);
    CHECK(rc == 0 || rc == ACTR_EINVAL || payload_err(rc));
}

static void pack_brackets(const uint8_t *data, size_t size)
{
    static const char letters[] = "n[]{} ";
    char fmt[1024];
    uint8_t out[2048], tiny[4];
    size_t flen = size < sizeof(fmt) - 1 ? size : sizeof(fmt) - 1, len = 0, len2 = 0;
    bool has_map = false;
    int rc;

    for (size_t k = 0; k < flen; k++) {
        fmt[k] = letters[data[k] % (sizeof(letters) - 1)];
        has_map |= fmt[k] == '{';
    }
    fmt[flen] = '\0';
    rc = actr_pack(out, sizeof(out), &len, fmt);
    CHECK(rc == 0 || rc == ACTR_EINVAL || rc == ACTR_E2BIG);
    if (rc != 0)
        return;
    CHECK(len <= sizeof(out));
    if (len > 0)
        CHECK(actr_msgpack_check(out, len) == 0);
    if (len > sizeof(tiny)) {
        CHECK(actr_pack(tiny, sizeof(tiny), &len2, fmt) == ACTR_E2BIG);
        CHECK(len2 == len);
    }
    if (!has_map)
        CHECK(actr_unpack(out, len, fmt) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fixed_formats(data, size);
    fuzzed_format(data, size);
    pack_brackets(data, size);
    return 0;
}
