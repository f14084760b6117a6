/* tests/runner/files.c — scratch folders and whole-file helpers for tests
 * (see files.h). A failure ends the test through TEST_FAIL_.
 */
#define _GNU_SOURCE /* mkdtemp */
#include "files.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "task.h"
#include "util.h" /* actr__rmtree */

void test_tmpdir(char *dir, size_t cap, const char *name)
{
    ASSERT((size_t)snprintf(dir, cap, "/tmp/%s-XXXXXX", name) < cap);
    ASSERT_NOT_NULL(mkdtemp(dir));
}

void test_rmtree(const char *dir) { actr__rmtree(dir); }

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        TEST_FAIL_("cannot open %s", path);
    ASSERT_EQ(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    ASSERT(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    ASSERT_NOT_NULL(buf);
    ASSERT_EQ(fread(buf, 1, (size_t)n, f), n);
    buf[n] = '\0';
    fclose(f);
    if (len != NULL)
        *len = (size_t)n;
    return buf;
}

void test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        TEST_FAIL_("cannot create %s", path);
    if (len > 0)
        ASSERT_EQ(fwrite(data, 1, len, f), len);
    ASSERT_EQ(fclose(f), 0);
}

void test_copy_file(const char *from, const char *to, size_t max)
{
    size_t n;
    char *data = test_read_file(from, &n);
    ASSERT(n > 0);
    if (n > max)
        n = max;
    int fd = open(to, O_WRONLY | O_TRUNC | O_CREAT, 0644);
    ASSERT(fd >= 0);
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, data + off, n - off);
        ASSERT(w > 0);
        off += (size_t)w;
    }
    ASSERT_EQ(close(fd), 0);
    free(data);
}
