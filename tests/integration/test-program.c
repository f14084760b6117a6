/* test-program.c — the `actr` program as a separate process: it starts a node
 * from the root runtime.yaml, reports it is up, and exits 0 on SIGTERM and on
 * SIGINT; a broken configuration is refused with exit 1 and a one-line error
 * that names file:line:column, before anything starts. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "task.h"

#define PROGRAM ACTR_BINARY_DIR "/actr"

typedef struct child {
    pid_t pid;
    int err_fd; /* read end of the child's stderr */
    char out[16384];
    size_t len;
} child_t;

static void spawn_program(child_t *c, const char *config)
{
    int p[2];
    ASSERT_EQ(pipe(p), 0);
    c->len = 0;
    c->out[0] = '\0';
    c->pid = fork();
    ASSERT(c->pid >= 0);
    if (c->pid == 0) {
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execl(PROGRAM, PROGRAM, "run", "-c", config, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    c->err_fd = p[0];
    fcntl(c->err_fd, F_SETFL, O_NONBLOCK);
}

/* Read what the child wrote so far; 1 when `needle` has appeared. */
static int saw(child_t *c, const char *needle)
{
    for (;;) {
        ssize_t n = read(c->err_fd, c->out + c->len, sizeof(c->out) - 1 - c->len);
        if (n <= 0)
            break;
        c->len += (size_t)n;
        c->out[c->len] = '\0';
    }
    return strstr(c->out, needle) != NULL;
}

static int wait_exit(child_t *c, int timeout_ms)
{
    uint64_t dl = test_now_ms() + (uint64_t)timeout_ms;
    int status = 0;
    for (;;) {
        pid_t r = waitpid(c->pid, &status, WNOHANG);
        if (r == c->pid)
            break;
        if (test_now_ms() > dl) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, &status, 0);
            TEST_FAIL_("actr did not exit within %d ms; stderr:\n%s", timeout_ms, c->out);
        }
        test_nap_ms(5);
    }
    (void)saw(c, "");
    close(c->err_fd);
    ASSERT(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void run_and_signal(int sig)
{
    child_t c;
    spawn_program(&c, ACTR_SOURCE_DIR "/runtime.yaml");
    ASSERT_EVENTUALLY(saw(&c, " up: "), 10000);
    ASSERT(strstr(c.out, "echo") != NULL && strstr(c.out, "counter") != NULL);
    ASSERT_EQ(kill(c.pid, sig), 0);
    int code = wait_exit(&c, 10000);
    if (code != 0)
        TEST_FAIL_("exit %d after signal %d; stderr:\n%s", code, sig, c.out);
}

TEST_IMPL(program, runs_root_config_and_stops_on_sigterm) { run_and_signal(SIGTERM); }

TEST_IMPL(program, stops_on_sigint) { run_and_signal(SIGINT); }

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

static void expect_refused(const char *yaml, const char *needle)
{
    char path[] = "/tmp/actr-test-config-XXXXXX";
    int fd = mkstemp(path);
    ASSERT(fd >= 0);
    close(fd);
    write_file(path, yaml);
    child_t c;
    spawn_program(&c, path);
    int code = wait_exit(&c, 10000);
    unlink(path);
    if (code != 1 || strstr(c.out, needle) == NULL || strstr(c.out, " up: ") != NULL)
        TEST_FAIL_("expected exit 1 and \"%s\", got exit %d; stderr:\n%s", needle, code, c.out);
    /* the error names the file and a line:column */
    ASSERT(strstr(c.out, path) != NULL);
}

TEST_IMPL(program, refuses_unknown_key_with_location)
{
    expect_refused("scheduler:\n  workerz: 2\n", ":2:3:");
}

TEST_IMPL(program, refuses_wrong_type_and_range)
{
    expect_refused("scheduler:\n  batch: lots\n", ":2:");
    expect_refused("scheduler:\n  batch: 0\n", ":2:");
}

TEST_IMPL(program, refuses_yaml_syntax_error)
{
    expect_refused("node:\n  name: \"unclosed\n", ":");
}

TEST_IMPL(program, refuses_missing_file)
{
    child_t c;
    spawn_program(&c, "/nonexistent/actr.yaml");
    int code = wait_exit(&c, 10000);
    if (code != 1 || strstr(c.out, "/nonexistent/actr.yaml") == NULL)
        TEST_FAIL_("expected exit 1 naming the file, got %d:\n%s", code, c.out);
}
