/* runner.c — the test runner: collects the tests that TEST_IMPL registered,
 * selects, sorts and runs them, and reports in TAP.
 *
 *   actr_tests [--list] [--suite S]... [--no-fork] [--timeout SEC] [suite/name ...]
 *
 * Invariants:
 * - Tests run in a fixed order (suite, then name), so a failure reproduces.
 * - Each test runs in its own forked process and process group, so a crash,
 *   an exit(1) from a failed ASSERT or a hang fails that test alone; on timeout
 *   the whole group (helpers included) is killed. Output is not captured: the
 *   child writes to the inherited stdout/stderr, just before its TAP line.
 * - The last line is always "N passed, M failed"; the exit status is 0 only
 *   when nothing failed and at least one test ran (a filter that selects
 *   nothing is an error, not a pass).
 * - The registry is a process global on purpose: this is the test binary, and
 *   constructors run before main (see task.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "task.h"

typedef struct test_entry {
    const char *suite;
    const char *name;
    actr_test_fn fn;
} test_entry;

static test_entry *tests;
static size_t ntests, cap_tests;

/* State for --no-fork, where a failing ASSERT exits the runner itself: the
 * atexit hook still prints the test's "not ok" line and the counts. */
static const test_entry *nofork_current;
static size_t nofork_index, nofork_passed;

void actr_test_register(const char *suite, const char *name, actr_test_fn fn)
{
    if (ntests == cap_tests) {
        size_t ncap = cap_tests ? cap_tests * 2 : 64;
        test_entry *n = realloc(tests, ncap * sizeof(*n));
        if (n == NULL) {
            fprintf(stderr, "runner: out of memory registering %s/%s\n", suite, name);
            abort();
        }
        tests = n;
        cap_tests = ncap;
    }
    tests[ntests].suite = suite;
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    ntests++;
}

static int cmp_tests(const void *a, const void *b)
{
    const test_entry *x = a, *y = b;
    int c = strcmp(x->suite, y->suite);
    return c != 0 ? c : strcmp(x->name, y->name);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: actr_tests [--list] [--suite S]... [--no-fork] [--timeout SEC] "
            "[suite/name ...]\n"
            "  --list         print the selected tests and exit\n"
            "  --suite S      run the tests of suite S (repeatable)\n"
            "  --no-fork      run tests in this process (for debuggers; stops at the first "
            "failure)\n"
            "  --timeout SEC  per-test timeout (default 60, or $ACTR_TEST_TIMEOUT)\n"
            "  suite/name     run that test (repeatable)\n"
            "With no --suite and no names, every test runs.\n");
}

static int parse_seconds(const char *s, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v == 0 || v > 86400)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Does filter "suite/name" name test t? */
static int names_test(const char *filter, const test_entry *t)
{
    size_t sl = strlen(t->suite);
    return strncmp(filter, t->suite, sl) == 0 && filter[sl] == '/' &&
           strcmp(filter + sl + 1, t->name) == 0;
}

static void nofork_atexit(void)
{
    if (nofork_current == NULL)
        return;
    printf("not ok %zu - %s/%s # exit (--no-fork: stopped at this failure)\n", nofork_index,
           nofork_current->suite, nofork_current->name);
    printf("%zu passed, 1 failed\n", nofork_passed);
    fflush(stdout);
}

static int run_nofork(const test_entry **sel, size_t nsel, unsigned timeout_s)
{
    size_t i;

    atexit(nofork_atexit);
    for (i = 0; i < nsel; i++) {
        uint64_t t0 = now_ms();
        nofork_current = sel[i];
        nofork_index = i + 1;
        alarm(timeout_s); /* default action of SIGALRM ends the process: a hang fails */
        sel[i]->fn();
        alarm(0);
        nofork_current = NULL;
        nofork_passed++;
        printf("ok %zu - %s/%s (%llu ms)\n", i + 1, sel[i]->suite, sel[i]->name,
               (unsigned long long)(now_ms() - t0));
        fflush(stdout);
    }
    printf("%zu passed, 0 failed\n", nofork_passed);
    return 0;
}

/* Result of one forked test: 0 passed, else a description in why[]. */
static int run_forked(const test_entry *t, unsigned timeout_s, const sigset_t *waitset,
                      const sigset_t *oldmask, int *interrupted, char *why, size_t whylen)
{
    pid_t pid, w;
    int status = 0;
    uint64_t deadline = now_ms() + (uint64_t)timeout_s * 1000u;
    pid_t parent = getpid();

    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        snprintf(why, whylen, "fork failed: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Own process group, so a timeout can kill the helpers it starts too;
         * and die with the runner if ctest's own timeout kills it. */
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(1);
        sigprocmask(SIG_SETMASK, oldmask, NULL);
        t->fn();
        fflush(NULL);
        exit(0); /* exit, not _exit: sanitizers run their leak checks at exit */
    }
    setpgid(pid, pid); /* also here, so kill(-pid) works whoever runs first */

    for (;;) {
        uint64_t now = now_ms();
        struct timespec ts;
        int sig;

        w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(why, whylen, "waitpid failed: %s", strerror(errno));
            kill(-pid, SIGKILL);
            return -1;
        }
        if (now >= deadline) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            snprintf(why, whylen, "timeout (%u s)", timeout_s);
            return -1;
        }
        ts.tv_sec = (time_t)((deadline - now) / 1000u);
        ts.tv_nsec = (long)((deadline - now) % 1000u) * 1000000L;
        sig = sigtimedwait(waitset, NULL, &ts);
        if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
            kill(-pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
            *interrupted = sig;
            snprintf(why, whylen, "interrupted by signal %d", sig);
            return -1;
        }
        /* SIGCHLD, a timeout of the wait or EINTR: loop and check. */
    }
    /* Helpers the test left behind in its group do not outlive it. */
    kill(-pid, SIGKILL);

    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 0)
            return 0;
        snprintf(why, whylen, "exit %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(why, whylen, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(why, whylen, "status 0x%x", (unsigned)status);
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char **suites = calloc((size_t)argc, sizeof(*suites));
    const char **names = calloc((size_t)argc, sizeof(*names));
    const test_entry **sel = NULL;
    size_t nsuites = 0, nnames = 0, nsel = 0, i, j, passed = 0, failed = 0;
    int list = 0, nofork = 0, bad_filter = 0, interrupted = 0;
    unsigned timeout_s = 60;
    const char *env = getenv("ACTR_TEST_TIMEOUT");

    if (suites == NULL || names == NULL) {
        fprintf(stderr, "runner: out of memory\n");
        return 1;
    }
    if (env != NULL && *env != '\0' && parse_seconds(env, &timeout_s) != 0) {
        fprintf(stderr, "runner: bad ACTR_TEST_TIMEOUT '%s' (seconds, 1..86400)\n", env);
        return 2;
    }
    for (i = 1; i < (size_t)argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--list") == 0) {
            list = 1;
        } else if (strcmp(a, "--no-fork") == 0) {
            nofork = 1;
        } else if (strcmp(a, "--suite") == 0 && i + 1 < (size_t)argc) {
            suites[nsuites++] = argv[++i];
        } else if (strncmp(a, "--suite=", 8) == 0) {
            suites[nsuites++] = a + 8;
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < (size_t)argc) {
            if (parse_seconds(argv[++i], &timeout_s) != 0) {
                fprintf(stderr, "runner: bad --timeout '%s' (seconds, 1..86400)\n", argv[i]);
                return 2;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-') {
            fprintf(stderr, "runner: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (strchr(a, '/') != NULL) {
            names[nnames++] = a;
        } else {
            fprintf(stderr, "runner: '%s' is not suite/name (use --suite %s for a suite)\n", a,
                    a);
            return 2;
        }
    }

    qsort(tests, ntests, sizeof(*tests), cmp_tests);
    for (i = 1; i < ntests; i++) {
        if (cmp_tests(&tests[i - 1], &tests[i]) == 0) {
            fprintf(stderr, "runner: test %s/%s is defined twice\n", tests[i].suite,
                    tests[i].name);
            return 2;
        }
    }

    /* Every filter must match something: a typo must not pass as "0 failed". */
    for (j = 0; j < nsuites; j++) {
        for (i = 0; i < ntests && strcmp(tests[i].suite, suites[j]) != 0; i++)
            ;
        if (i == ntests) {
            fprintf(stderr, "runner: no suite named '%s'\n", suites[j]);
            bad_filter = 1;
        }
    }
    for (j = 0; j < nnames; j++) {
        for (i = 0; i < ntests && !names_test(names[j], &tests[i]); i++)
            ;
        if (i == ntests) {
            fprintf(stderr, "runner: no test named '%s'\n", names[j]);
            bad_filter = 1;
        }
    }

    sel = calloc(ntests ? ntests : 1, sizeof(*sel));
    if (sel == NULL) {
        fprintf(stderr, "runner: out of memory\n");
        return 1;
    }
    for (i = 0; i < ntests; i++) {
        int take = nsuites == 0 && nnames == 0;
        for (j = 0; !take && j < nsuites; j++)
            take = strcmp(tests[i].suite, suites[j]) == 0;
        for (j = 0; !take && j < nnames; j++)
            take = names_test(names[j], &tests[i]);
        if (take)
            sel[nsel++] = &tests[i];
    }

    if (list) {
        for (i = 0; i < nsel; i++)
            printf("%s/%s\n", sel[i]->suite, sel[i]->name);
        return bad_filter ? 1 : 0;
    }

    if (nsel == 0 || bad_filter) {
        if (nsel == 0)
            fprintf(stderr, "runner: no tests selected (%zu registered); nothing ran\n", ntests);
        printf("1..0\n");
        printf("0 passed, %d failed\n", bad_filter);
        return 1;
    }

    printf("1..%zu\n", nsel);
    fflush(stdout);

    if (nofork)
        return run_nofork(sel, nsel, timeout_s);

    {
        /* SIGCHLD (and stop requests) are blocked and taken by sigtimedwait, so
         * the wait for a child ends the moment it exits, with no polling. */
        sigset_t waitset, oldmask;
        sigemptyset(&waitset);
        sigaddset(&waitset, SIGCHLD);
        sigaddset(&waitset, SIGINT);
        sigaddset(&waitset, SIGTERM);
        sigaddset(&waitset, SIGHUP);
        sigprocmask(SIG_BLOCK, &waitset, &oldmask);

        for (i = 0; i < nsel && !interrupted; i++) {
            char why[128] = "";
            uint64_t t0 = now_ms();
            int r = run_forked(sel[i], timeout_s, &waitset, &oldmask, &interrupted, why,
                               sizeof(why));
            uint64_t dt = now_ms() - t0;
            if (r == 0) {
                passed++;
                printf("ok %zu - %s/%s (%llu ms)\n", i + 1, sel[i]->suite, sel[i]->name,
                       (unsigned long long)dt);
            } else {
                failed++;
                printf("not ok %zu - %s/%s # %s (%llu ms)\n", i + 1, sel[i]->suite, sel[i]->name,
                       why, (unsigned long long)dt);
            }
            fflush(stdout);
        }
        if (interrupted) {
            failed += nsel - i;
            fprintf(stderr, "runner: interrupted; %zu tests not run\n", nsel - i);
        }
    }

    printf("%zu passed, %zu failed\n", passed, failed);
    fflush(stdout);
    free(sel);
    free(suites);
    free(names);
    free(tests);
    return failed == 0 && passed > 0 ? 0 : 1;
}
