/* tests/bench/bench.h — helpers shared by the benchmark programs (pingpong,
 * ring, spawn, fanin): command-line parsing, a monotonic clock, memory
 * figures from /proc, failing loudly, and the runtime + client set-up that
 * every program repeats.
 *
 * Header-only: everything is static inline, so each bench stays one .c file
 * built against the public API (actr.h) alone. Include this header FIRST in a
 * bench program: it selects the POSIX feature level before any libc header.
 *
 * Failure policy: a bench must never print a good figure from a wrong run. Any
 * unexpected error code or failed check, on any thread (a handler included),
 * goes through bench_fail(), which names the bench on stderr and ends the
 * process at once with status 1. Ending the process from a worker is crude but
 * sure: the run is already void, and nothing waits on a hung driver.
 */
#ifndef ACTR_BENCH_H
#define ACTR_BENCH_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actr.h"

/* Message types every bench uses; a program numbers its own from
 * BENCH_MSG_FIRST_OWN up. */
enum bench_msg_type {
    BENCH_MSG_GO = 1,     /* client -> driver: run the workload (payload: its sizes) */
    BENCH_MSG_RESULT = 2, /* driver -> client: the figures (payload: per program) */
    BENCH_MSG_CONT = 3,   /* actor -> itself: continue chunked work (no payload) */
    BENCH_MSG_FIRST_OWN = 16
};

/* How long the client waits for the driver's result before declaring the run
 * lost (a lost message must not hang the bench forever). */
#define BENCH_TIMEOUT_MS 600000
#define BENCH_QUICK_TIMEOUT_MS 60000

/* The running bench's name, for error lines. Set once by main before any
 * thread starts, read-only afterwards. */
static const char *bench__name = "bench";

/** Name the running bench (used in error lines). Call first in main. */
static inline void bench_set_name(const char *name) { bench__name = name; }

/** Report a failed check on stderr and end the process with status 1. Safe to
 *  call from any thread, including a handler. Never returns. */
static inline _Noreturn void bench_fail(const char *fmt, ...) ACTR_PRINTF(1, 2);
static inline _Noreturn void bench_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "bench=%s FAILED: ", bench__name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    fflush(stdout);
    _Exit(1);
}

/** Fail with the code's name unless rc is 0. `what` names the call. */
static inline void bench_check(int rc, const char *what)
{
    if (rc != 0)
        bench_fail("%s: %s (%d: %s)", what, actr_err_name(rc), rc, actr_strerror(rc));
}

/** Nanoseconds of the monotonic clock. */
static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        bench_fail("clock_gettime: %s", strerror(errno));
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/** Seconds between two bench_now_ns() readings. */
static inline double bench_secs(uint64_t t0, uint64_t t1) { return (double)(t1 - t0) / 1e9; }

/* ---- memory figures ----------------------------------------------------- */

/** The value in kB of a "Key:  N kB" line of /proc/self/status (key without the
 *  colon, e.g. "VmRSS", "VmHWM"), or -1 when it cannot be read. */
static inline long bench_status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t klen = strlen(key);
    long kb = -1;
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            char *end;
            long v = strtol(line + klen + 1, &end, 10);
            if (end != line + klen + 1 && v >= 0)
                kb = v;
            break;
        }
    }
    fclose(f);
    return kb;
}

/** Reset the process's peak resident set (VmHWM) to its current resident set,
 *  so that a later VmHWM is the peak since this call (Linux >= 4.0, writing
 *  "5" to /proc/self/clear_refs). Returns 0, or -1 if the kernel refused. */
static inline int bench_reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int ok;
    if (f == NULL)
        return -1;
    ok = fputs("5", f) >= 0;
    if (fclose(f) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

/* ---- command line ------------------------------------------------------- */

/** One command-line parameter: positional ones are filled in the order given,
 *  the others are spelled --name=N or --name N. */
typedef struct bench_arg {
    const char *name; /* shown in the usage line; the option name when !positional */
    int positional;   /* nonzero: a positional size */
    uint64_t value;   /* the default; then the value in effect */
    uint64_t quick;   /* the value under --quick, unless given explicitly */
    uint64_t min, max;
    const char *help;
    int given;     /* set by the parser: given on the command line */
    uint64_t dflt; /* set by the parser: the default, for the usage text */
} bench_arg_t;

static inline void bench__usage(FILE *out, const char *prog, const bench_arg_t *args, size_t n)
{
    size_t i;
    fprintf(out, "usage: %s [--quick]", prog);
    for (i = 0; i < n; i++)
        if (!args[i].positional)
            fprintf(out, " [--%s=N]", args[i].name);
    for (i = 0; i < n; i++)
        if (args[i].positional)
            fprintf(out, " [%s", args[i].name);
    for (i = 0; i < n; i++)
        if (args[i].positional)
            fputc(']', out);
    fputc('\n', out);
    fprintf(out, "  %-22s tiny sizes for a smoke test\n", "--quick");
    for (i = 0; i < n; i++)
        fprintf(out,
                "  %s%-*s %s (default %" PRIu64 ", --quick %" PRIu64 ", %" PRIu64 "..%" PRIu64
                ")\n",
                args[i].positional ? "" : "--", args[i].positional ? 22 : 20, args[i].name,
                args[i].help, args[i].dflt, args[i].quick, args[i].min, args[i].max);
}

static inline int bench__parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = (uint64_t)v;
    return 0;
}

static inline _Noreturn void bench__bad_args(const char *prog, const bench_arg_t *args, size_t n,
                                             const char *fmt, const char *what)
{
    fprintf(stderr, "%s: ", prog);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    bench__usage(stderr, prog, args, n);
    exit(2);
}

/** Parse argv into args[0..n). --help prints the usage and exits 0; a bad
 *  argument prints it on stderr and exits 2. Returns 1 under --quick, else 0. */
static inline int bench_parse_args(int argc, char **argv, bench_arg_t *args, size_t n)
{
    const char *prog = argc > 0 ? argv[0] : bench__name;
    size_t next_pos = 0, i;
    int quick = 0, a;

    for (i = 0; i < n; i++)
        args[i].dflt = args[i].value;

    for (a = 1; a < argc; a++) {
        const char *s = argv[a];
        bench_arg_t *arg = NULL;
        const char *val = NULL;
        if (strcmp(s, "--quick") == 0) {
            quick = 1;
            continue;
        }
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) {
            bench__usage(stdout, prog, args, n);
            exit(0);
        }
        if (strncmp(s, "--", 2) == 0) {
            const char *eq = strchr(s + 2, '=');
            size_t len = eq ? (size_t)(eq - (s + 2)) : strlen(s + 2);
            for (i = 0; i < n; i++)
                if (!args[i].positional && strlen(args[i].name) == len &&
                    strncmp(args[i].name, s + 2, len) == 0)
                    arg = &args[i];
            if (arg == NULL)
                bench__bad_args(prog, args, n, "unknown option %s", s);
            if (eq != NULL)
                val = eq + 1;
            else if (a + 1 < argc)
                val = argv[++a];
            else
                bench__bad_args(prog, args, n, "%s needs a value", s);
        } else {
            while (next_pos < n && !args[next_pos].positional)
                next_pos++;
            if (next_pos == n)
                bench__bad_args(prog, args, n, "unexpected argument %s", s);
            arg = &args[next_pos++];
            val = s;
        }
        if (bench__parse_u64(val, &arg->value) != 0 || arg->value < arg->min ||
            arg->value > arg->max)
            bench__bad_args(prog, args, n, "bad value for %s", arg->name);
        arg->given = 1;
    }
    if (quick)
        for (i = 0; i < n; i++)
            if (!args[i].given)
                args[i].value = args[i].quick;
    return quick;
}

/* ---- runtime and client -------------------------------------------------- */

/** A runtime with the default options (workers = all cores), started, and a
 *  client context for the main thread. */
typedef struct bench_rt {
    actr_t *rt;
    actr_ctx_t *client;
} bench_rt_t;

/** Open and start a runtime with the defaults and open the client. */
static inline void bench_rt_open(bench_rt_t *b)
{
    actr_options_t o;
    actr_options_init(&o);
    bench_check(actr_open(&b->rt, &o), "actr_open");
    bench_check(actr_start(b->rt), "actr_start");
    bench_check(actr_client_open(b->rt, &b->client), "actr_client_open");
}

/** The number of worker threads the runtime runs. */
static inline unsigned long long bench_rt_workers(bench_rt_t *b)
{
    actr_stats_t s;
    actr_stats(b->rt, &s);
    return (unsigned long long)s.workers;
}

/** Close the client, stop the runtime, wait for it and free it. */
static inline void bench_rt_close(bench_rt_t *b)
{
    actr_client_close(b->client);
    b->client = NULL;
    bench_check(actr_stop(b->rt), "actr_stop");
    bench_check(actr_wait(b->rt), "actr_wait");
    actr_close(b->rt);
    b->rt = NULL;
}

/** Wait for the driver's BENCH_MSG_RESULT; fails on a timeout or on any other
 *  message. The caller frees the result with actr_msg_free. */
static inline actr_msg_t *bench_wait_result(bench_rt_t *b, int timeout_ms)
{
    actr_msg_t *m = NULL;
    int rc = actr_client_recv(b->client, timeout_ms, &m);
    if (rc == ACTR_ETIMEDOUT)
        bench_fail("no result within %d s (lost message?)", timeout_ms / 1000);
    bench_check(rc, "actr_client_recv");
    if (actr_msg_type(m) != BENCH_MSG_RESULT)
        bench_fail("client got message type %" PRIu32 ", expected the result", actr_msg_type(m));
    return m;
}

/* ---- messaging ----------------------------------------------------------- */

/** Pack a message by format (actr_msg_pack) and send it; any error fails the
 *  bench. For sends that may legitimately be refused, call actr_send directly. */
static inline void bench_sendf(actr_ctx_t *ctx, actr_ref_t to, uint32_t type, const char *fmt, ...)
{
    actr_msg_t *m = NULL;
    va_list ap;
    int rc;
    va_start(ap, fmt);
    rc = actr_msg_vpack(ctx, type, &m, fmt, ap);
    va_end(ap);
    bench_check(rc, "actr_msg_pack");
    rc = actr_send(ctx, to, m);
    if (rc != 0)
        bench_fail("actr_send of type %" PRIu32 ": %s (%d)", type, actr_err_name(rc), rc);
}

/** Send a message with an empty payload; any error fails the bench. */
static inline void bench_send_empty(actr_ctx_t *ctx, actr_ref_t to, uint32_t type)
{
    actr_msg_t *m = NULL;
    int rc;
    bench_check(actr_msg_new(ctx, type, NULL, 0, &m), "actr_msg_new");
    rc = actr_send(ctx, to, m);
    if (rc != 0)
        bench_fail("actr_send of type %" PRIu32 ": %s (%d)", type, actr_err_name(rc), rc);
}

/** Fail unless the message has the expected type. */
static inline void bench_expect_type(const actr_msg_t *msg, uint32_t type, const char *who)
{
    if (actr_msg_type(msg) != type)
        bench_fail("%s got message type %" PRIu32 ", expected %" PRIu32, who, actr_msg_type(msg),
                   type);
}

/** Per-second rate, guarding a zero elapsed time. */
static inline double bench_rate(double count, double secs) { return secs > 0 ? count / secs : 0; }

#endif
