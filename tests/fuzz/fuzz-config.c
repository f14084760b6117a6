/* fuzz-config.c — libFuzzer driver for the runtime.yaml parser
 * (actr_config_parse_buf in runtime/src/config.c and config_yaml.c).
 *
 * The input is the YAML text. A fixed fake environment answers ${VAR}
 * lookups (a few short values, an empty one, one of 40 KB so that two of
 * them cross the expansion bound). Besides "no crash, no leak, no undefined
 * behaviour", every result is checked against the header's contract:
 *  - success: every string present and within its bounds, numbers in range,
 *    args well-formed msgpack, plugin entries with a path and actors with a
 *    name and a type;
 *  - failure: ACTR_ECONFIG (or ACTR_ENOMEM), a one-line message starting
 *    with the file name, and *out left zeroed.
 * Seeds: tests/fuzz/corpus/config/; dictionary: tests/fuzz/dict/yaml.dict.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actr.h"
#include "actr/config.h"
#include "actr/msg.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz-config: check failed: %s (line %d)\n", #cond, __LINE__);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char big_value[40000];

static const char *fuzz_getenv(void *ud, const char *name)
{
    (void)ud;
    if (strcmp(name, "A") == 0)
        return "1";
    if (strcmp(name, "HOST") == 0)
        return "box";
    if (strcmp(name, "PATH_DIR") == 0)
        return "/srv/plugins";
    if (strcmp(name, "EMPTY") == 0)
        return "";
    if (strcmp(name, "BIG") == 0) {
        if (big_value[0] == '\0')
            memset(big_value, 'b', sizeof(big_value) - 1);
        return big_value;
    }
    return NULL;
}

static int is_zeroed(const actr_config_t *c)
{
    static const actr_config_t zero;
    return memcmp(c, &zero, sizeof(zero)) == 0;
}

static void check_str(const char *s, size_t lo, size_t hi)
{
    CHECK(s != NULL);
    size_t n = strlen(s);
    CHECK(n >= lo && n <= hi);
}

static void check_config(const actr_config_t *c)
{
    CHECK(c->file != NULL && strcmp(c->file, "fuzz/runtime.yaml") == 0);
    check_str(c->node.name, 1, 255);
    check_str(c->node.data_dir, 1, 4095);
    check_str(c->control.socket, 1, 4095 + 13);
    CHECK(c->scheduler.workers <= 1024);
    CHECK(c->scheduler.batch >= 1 && c->scheduler.batch <= 100000);
    CHECK(c->limits.mailbox >= 1 && c->limits.mailbox <= (1u << 31));
    CHECK(c->log.level >= ACTR_LOG_DEBUG && c->log.level <= ACTR_LOG_ERROR);
    CHECK(c->log.format == ACTR_LOG_TEXT || c->log.format == ACTR_LOG_JSON);
    CHECK(c->control.enabled == 0 || c->control.enabled == 1);
    CHECK((c->plugins == NULL) == (c->nplugins == 0));
    for (size_t i = 0; i < c->nplugins; i++) {
        const actr_plugin_conf_t *p = &c->plugins[i];
        /* "fuzz/" + the path at most */
        check_str(p->path, 1, 4095 + 5);
        CHECK(p->line >= 1 && p->col >= 1);
        CHECK((p->actors == NULL) == (p->nactors == 0));
        for (size_t j = 0; j < p->nactors; j++) {
            const actr_actor_conf_t *a = &p->actors[j];
            check_str(a->name, 1, 255);
            check_str(a->type, 1, 255);
            CHECK(a->count >= 1 && a->count <= 10000);
            CHECK(a->restart == ACTR_PERMANENT || a->restart == ACTR_TRANSIENT ||
                  a->restart == ACTR_TEMPORARY);
            CHECK((a->args == NULL) == (a->args_len == 0));
            if (a->args != NULL)
                CHECK(actr_msgpack_check(a->args, a->args_len) == 0);
            CHECK(a->line >= 1 && a->col >= 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    actr_config_t c;
    actr_error_t e;
    int rc;

    memset(&c, 0x5a, sizeof(c));
    rc = actr_config_parse_buf((const char *)data, size, "fuzz/runtime.yaml", fuzz_getenv, NULL, &c,
                               &e);
    if (rc == 0) {
        check_config(&c);
        actr_config_free(&c);
        CHECK(is_zeroed(&c));
        return 0;
    }
    CHECK(rc == ACTR_ECONFIG || rc == ACTR_ENOMEM);
    CHECK(e.code == rc);
    CHECK(is_zeroed(&c));
    CHECK(memchr(e.msg, '\0', sizeof(e.msg)) != NULL);
    CHECK(strchr(e.msg, '\n') == NULL);
    CHECK(strncmp(e.msg, "fuzz/runtime.yaml", 17) == 0);
    CHECK(e.line >= 0 && e.col >= 0);
    return 0;
}
