/* os-linux.c — the Linux side of the platform layer (os.h): the ELF checks
 * the plugin loader runs on a file before handing it to dlopen, and the
 * exclusive creation and filling of a plugin's private copy.
 *
 * Why check before dlopen: glibc's own diagnosis of a file that is still
 * being written, or is not a shared object of this machine, is an unhelpful
 * "file too short" or worse. The checks read the ELF header, the program
 * headers and the file size only; they never map the file.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "actr/export.h"
#include "os.h"
#include "util.h"

/* ---- small helpers ----------------------------------------------------------------- */



/* ---- ELF checks ------------------------------------------------------------------------ */

#if defined(__x86_64__)
#define HOST_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define HOST_MACHINE EM_AARCH64
#elif defined(__i386__)
#define HOST_MACHINE EM_386
#elif defined(__arm__)
#define HOST_MACHINE EM_ARM
#elif defined(__riscv)
#define HOST_MACHINE EM_RISCV
#elif defined(__powerpc64__)
#define HOST_MACHINE EM_PPC64
#elif defined(__s390x__)
#define HOST_MACHINE EM_S390
#endif

#if __SIZEOF_POINTER__ == 8
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HOST_DATA ELFDATA2MSB
#else
#define HOST_DATA ELFDATA2LSB
#endif

static int read_at(int fd, void *buf, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return 0;
}

/* `need` bytes at `off` lie inside a file of `size` bytes (overflow-safe). */
static int fits(uint64_t off, uint64_t need, uint64_t size)
{
    return need <= size && off <= size - need;
}

/* See os.h. Messages name `shown` (the path the user gave). */
int actr__os_check_shared_object(const char *shown, const char *file, actr_error_t *err)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return actr__fail(err, e == ENOENT ? ACTR_ENOENT : -e, "%s: cannot open: %s", shown,
                    strerror(e));
    }
    struct stat st;
    int rc = 0;
    ElfW(Ehdr) eh;
    if (fstat(fd, &st) != 0) {
        rc = actr__fail(err, -errno, "%s: cannot stat: %s", shown, strerror(errno));
        goto out;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0) {
        rc = actr__fail(err, ACTR_EABI, "%s: not a shared object (empty file)", shown);
        goto out;
    }
    unsigned char id[EI_NIDENT];
    if (size < SELFMAG || read_at(fd, id, size < EI_NIDENT ? SELFMAG : EI_NIDENT, 0) != 0 ||
        memcmp(id, ELFMAG, SELFMAG) != 0) {
        rc = actr__fail(err, ACTR_EABI, "%s: not a shared object (no ELF header)", shown);
        goto out;
    }
    if (size < EI_NIDENT) {
        rc = actr__fail(err, ACTR_EABI, "%s: truncated: %llu bytes, not even a whole ELF header", shown,
                  (unsigned long long)size);
        goto out;
    }
    if (id[EI_CLASS] != HOST_CLASS) {
        rc = actr__fail(err, ACTR_EABI, "%s: built for %s, this runtime is %d-bit", shown,
                  id[EI_CLASS] == ELFCLASS32   ? "32-bit"
                  : id[EI_CLASS] == ELFCLASS64 ? "64-bit"
                                               : "an unknown ELF class",
                  (int)(8 * sizeof(void *)));
        goto out;
    }
    if (id[EI_DATA] != HOST_DATA) {
        rc = actr__fail(err, ACTR_EABI, "%s: built for the other byte order", shown);
        goto out;
    }
    if (size < sizeof(eh) || read_at(fd, &eh, sizeof(eh), 0) != 0) {
        rc = actr__fail(err, ACTR_EABI, "%s: truncated: %llu bytes, not even a whole ELF header", shown,
                  (unsigned long long)size);
        goto out;
    }
    if (eh.e_type != ET_DYN) {
        rc = actr__fail(err, ACTR_EABI, "%s: not a shared object (ELF type %s)", shown,
                  eh.e_type == ET_EXEC   ? "EXEC: an executable"
                  : eh.e_type == ET_REL  ? "REL: an object file, not linked with -shared"
                  : eh.e_type == ET_CORE ? "CORE: a core dump"
                                         : "unknown");
        goto out;
    }
#ifdef HOST_MACHINE
    if (eh.e_machine != HOST_MACHINE) {
        rc = actr__fail(err, ACTR_EABI, "%s: built for ELF machine %u, this runtime runs on %u", shown,
                  (unsigned)eh.e_machine, (unsigned)HOST_MACHINE);
        goto out;
    }
#endif
    /* Truncation: every header table and every loaded segment must be in the
     * file. The section headers normally come last, so a file cut anywhere
     * fails one of these. */
    if (eh.e_phnum == 0 || eh.e_phentsize != sizeof(ElfW(Phdr))) {
        rc = actr__fail(err, ACTR_EABI, "%s: not a loadable shared object (no program headers)", shown);
        goto out;
    }
    uint64_t phsize = (uint64_t)eh.e_phnum * eh.e_phentsize;
    uint64_t shsize = (uint64_t)eh.e_shnum * eh.e_shentsize;
    uint64_t need = eh.e_phoff + phsize;
    if (eh.e_shoff != 0 && eh.e_shoff + shsize > need)
        need = eh.e_shoff + shsize;
    if (!fits(eh.e_phoff, phsize, size) || (eh.e_shoff != 0 && !fits(eh.e_shoff, shsize, size))) {
        rc = actr__fail(err, ACTR_EABI,
                  "%s: truncated: %llu bytes, its ELF headers need %llu (still being written?)",
                  shown, (unsigned long long)size, (unsigned long long)need);
        goto out;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        if (read_at(fd, &ph, sizeof(ph), eh.e_phoff + (uint64_t)i * sizeof(ph)) != 0) {
            rc = actr__fail(err, ACTR_EABI, "%s: cannot read program header %u", shown, i);
            goto out;
        }
        if (ph.p_type == PT_LOAD && !fits(ph.p_offset, ph.p_filesz, size)) {
            rc = actr__fail(err, ACTR_EABI,
                      "%s: truncated: %llu bytes, a segment ends at %llu (still being written?)",
                      shown, (unsigned long long)size,
                      (unsigned long long)(ph.p_offset + ph.p_filesz));
            goto out;
        }
    }
out:
    close(fd);
    return rc;
}

/* ---- private copies ----------------------------------------------------------------- */

/* See os.h. */
int actr__os_copy_new(int in, const char *dst, const char *shown, actr_error_t *err)
{
    /* O_EXCL: never reuse a name another runtime (same data dir) or an
     * earlier crashed run may have mapped */
    int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
    if (fd < 0) {
        if (errno == EEXIST)
            return ACTR_EEXIST; /* err untouched: the caller tries another name */
        return actr__fail(err, -errno, "%s: cannot create %s: %s", shown, dst, strerror(errno));
    }
    int rc = 0;
    char buf[65536];
    for (;;) {
        ssize_t r = read(in, buf, sizeof(buf));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = actr__fail(err, -errno, "%s: cannot read: %s", shown, strerror(errno));
            break;
        }
        if (r == 0)
            break;
        for (ssize_t w = 0; w < r;) {
            ssize_t k = write(fd, buf + w, (size_t)(r - w));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                rc = actr__fail(err, -errno, "%s: cannot write %s: %s", shown, dst, strerror(errno));
                break;
            }
            w += k;
        }
        if (rc != 0)
            break;
    }
    if (close(fd) != 0 && rc == 0)
        rc = actr__fail(err, -errno, "%s: cannot write %s: %s", shown, dst, strerror(errno));
    if (rc != 0)
        unlink(dst);
    return rc;
}
