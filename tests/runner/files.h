/* tests/runner/files.h — scratch folders and whole-file helpers shared by the
 * unit and integration tests. Each one fails the test (TEST_FAIL_) instead of
 * returning an error, so callers stay short.
 */
#ifndef ACTR_TEST_FILES_H
#define ACTR_TEST_FILES_H

#include <stddef.h>

/* A new folder /tmp/NAME-XXXXXX (mkdtemp) written into dir[cap]. */
void test_tmpdir(char *dir, size_t cap, const char *name);

/* Remove `dir` and everything below it (links are removed, not followed);
 * a missing folder is fine. */
void test_rmtree(const char *dir);

/* The whole file, NUL-terminated (free() it); its size in *len when len is
 * not NULL. */
char *test_read_file(const char *path, size_t *len);

/* Create or truncate `path` (the same inode when it exists) and write data. */
void test_write_file(const char *path, const void *data, size_t len);

/* Write the first `max` bytes of `from` (all of it: SIZE_MAX) over `to` in
 * place, as plain `cp` does; `from` must not be empty. */
void test_copy_file(const char *from, const char *to, size_t max);

#endif
