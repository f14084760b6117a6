/* fuzz-json.c — libFuzzer driver for the JSON <-> msgpack conversions
 * (runtime/src/json.c).
 *
 * Every input is used twice:
 *  1. As JSON text (up to its first NUL): actr_json_to_msgpack either refuses
 *     it with ACTR_EINVAL and a message, or gives well-formed msgpack M1. Then
 *     M1 converts to JSON, and that JSON converts back to exactly M1: nothing
 *     JSON can say is lost or changed on the way through msgpack.
 *  2. As msgpack bytes: actr_msgpack_to_json succeeds exactly when the bytes
 *     are one well-formed value by the runtime's own scanner (pack.h), unless
 *     the output would be too large (ACTR_E2BIG, which may also be found
 *     before a malformed byte further on). Its JSON may be refused on
 *     the way back (duplicate keys, NUL in keys, "$bin:" strings that are not
 *     base64); when it is not, one more round trip changes nothing (the
 *     conversion is idempotent after one normalisation).
 * Nothing may crash, leak or read outside the input.
 */
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

/* JSON text -> msgpack -> JSON -> the same msgpack. */
static void from_json(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    void *m1 = NULL, *m2 = NULL;
    size_t l1 = 0, l2 = 0;
    char *j = NULL;
    actr_error_t err;
    int rc;

    CHECK(text != NULL);
    memcpy(text, data, size);
    text[size] = '\0';
    rc = actr_json_to_msgpack(text, &m1, &l1, &err);
    free(text);
    if (rc != 0) {
        CHECK(rc == ACTR_EINVAL && m1 == NULL && err.code == rc && err.msg[0] != '\0');
        return;
    }
    CHECK(l1 > 0 && actr_msgpack_check(m1, l1) == 0);
    rc = actr_msgpack_to_json(m1, l1, &j);
    CHECK(rc == 0);
    rc = actr_json_to_msgpack(j, &m2, &l2, &err);
    CHECK(rc == 0);
    CHECK(l2 == l1 && memcmp(m1, m2, l1) == 0);
    actr_free(j);
    actr_free(m1);
    actr_free(m2);
}

/* msgpack -> JSON, agreeing with the scanner; then idempotence. */
static void from_msgpack(const uint8_t *data, size_t size)
{
    char *j1 = NULL, *j2 = NULL, *j3 = NULL;
    void *m2 = NULL, *m3 = NULL;
    size_t l2 = 0, l3 = 0, used = 0;
    int rc = actr_msgpack_to_json(data, size, &j1);
    int one = size > 0 && actr__msgpack_value_len(data, size, &used) == 0 && used == size;

    CHECK(rc == 0 || rc == ACTR_EMSGPACK || rc == ACTR_E2BIG);
    if (rc == 0)
        CHECK(one);
    if (rc == ACTR_EMSGPACK)
        CHECK(!one); /* (ACTR_E2BIG may come before a malformed byte is reached) */
    if (rc != 0) {
        CHECK(j1 == NULL);
        return;
    }
    rc = actr_json_to_msgpack(j1, &m2, &l2, NULL);
    CHECK(rc == 0 || rc == ACTR_EINVAL);
    if (rc == 0) {
        CHECK(actr_msgpack_to_json(m2, l2, &j2) == 0);
        CHECK(actr_json_to_msgpack(j2, &m3, &l3, NULL) == 0);
        CHECK(l3 == l2 && memcmp(m2, m3, l2) == 0);
        CHECK(actr_msgpack_to_json(m3, l3, &j3) == 0);
        CHECK(strcmp(j2, j3) == 0);
    }
    actr_free(j1);
    actr_free(j2);
    actr_free(j3);
    actr_free(m2);
    actr_free(m3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    from_json(data, size);
    from_msgpack(data, size);
    return 0;
}
