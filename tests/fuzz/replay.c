/* replay.c — runs a libFuzzer driver without libFuzzer: feeds every regular
 * file named on the command line, or found directly inside a directory named
 * there, to LLVMFuzzerTestOneInput, once each, in name order. Built with any
 * compiler, it turns a fuzz corpus into an ordinary regression test.
 *
 * Each input is copied into a heap block of exactly its size, so a sanitizer
 * sees a read one byte past the end. The name of the input being run is
 * printed if the process dies (signal, or a sanitizer report that runs the
 * death callback); `-v` prints each name before running it. Replaying no
 * input at all is a failure: an empty or missing corpus must not pass.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional hooks: a driver may define the first; sanitizer runtimes the second. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

/* The input being run, for the crash note (written before each run). */
static char current[4096];
static int verbose;

static void note_current(void)
{
    static const char pre[] = "replay: died on input ";
    size_t n = strlen(current);
    if (n == 0)
        return;
    /* write(2) only: this may run inside a signal handler. */
    if (write(STDERR_FILENO, pre, sizeof(pre) - 1) < 0 || write(STDERR_FILENO, current, n) < 0 ||
        write(STDERR_FILENO, "\n", 1) < 0)
        return;
}

static void on_fatal_signal(int sig)
{
    note_current();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Run one file. Returns 0, or -1 if it could not be read. */
static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long len;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fprintf(stderr, "replay: %s: cannot size the file\n", path);
        fclose(f);
        return -1;
    }
    buf = malloc(len > 0 ? (size_t)len : 1);
    if (buf == NULL) {
        fprintf(stderr, "replay: %s: out of memory (%ld bytes)\n", path, len);
        fclose(f);
        return -1;
    }
    if (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "replay: %s: short read\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    snprintf(current, sizeof(current), "%s", path);
    if (verbose) {
        fprintf(stderr, "replay: %s (%ld bytes)\n", path, len);
        fflush(stderr);
    }
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    current[0] = '\0';
    free(buf);
    return 0;
}

static int is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int main(int argc, char **argv)
{
    size_t replayed = 0;
    int errors = 0, i;
    int sigs[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL};

    /* Under a sanitizer its own handlers report the crash (keep them) and the
     * death callback names the input; otherwise catch the fatal signals. */
    if (__sanitizer_set_death_callback != NULL) {
        __sanitizer_set_death_callback(note_current);
    } else {
        for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++)
            signal(sigs[i], on_fatal_signal);
    }
    if (LLVMFuzzerInitialize != NULL)
        LLVMFuzzerInitialize(&argc, &argv);

    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        verbose = 1;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s [-v] FILE_OR_DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            errors++;
        } else if (S_ISDIR(st.st_mode)) {
            struct dirent **ents = NULL;
            int n = scandir(argv[i], &ents, NULL, alphasort), k;
            if (n < 0) {
                fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
                errors++;
                continue;
            }
            for (k = 0; k < n; k++) {
                char path[4096];
                if (ents[k]->d_name[0] != '.' &&
                    (size_t)snprintf(path, sizeof(path), "%s/%s", argv[i], ents[k]->d_name) <
                        sizeof(path) &&
                    is_regular(path)) {
                    if (replay_file(path) == 0)
                        replayed++;
                    else
                        errors++;
                }
                free(ents[k]);
            }
            free(ents);
        } else if (S_ISREG(st.st_mode)) {
            if (replay_file(argv[i]) == 0)
                replayed++;
            else
                errors++;
        } else {
            fprintf(stderr, "replay: %s: not a file or directory\n", argv[i]);
            errors++;
        }
    }
    printf("replayed %zu inputs\n", replayed);
    if (replayed == 0) {
        fprintf(stderr, "replay: no inputs found: an empty corpus tests nothing\n");
        return 1;
    }
    return errors ? 1 : 0;
}
