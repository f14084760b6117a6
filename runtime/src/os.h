/* os.h — the platform layer of runtime/src: the few operations whose code
 * depends on the operating system or its binary format, declared here and
 * implemented in runtime/src/os-<platform>.c (os-linux.c: Linux, ELF). The
 * rest of runtime/src reaches platform specifics only through these.
 *
 * Error reporting follows the plugin loader's convention: a function that
 * takes an actr_error_t fills it (code, and a one-line message that starts
 * with `shown`, the path as the user gave it) whenever it returns non-zero,
 * unless its comment says otherwise. err may be NULL.
 */
#ifndef ACTR_SRC_OS_H
#define ACTR_SRC_OS_H

#include "actr/errno.h"

/** Check, before dlopen sees it, that `file` is a complete shared object
 *  that this process could load. On Linux: an ELF file of this runtime's
 *  class (32/64-bit), byte order and machine, of type ET_DYN, with program
 *  headers, whose program and section header tables and every PT_LOAD
 *  segment lie inside the file (so a file still being written, or cut short,
 *  is named as truncated instead of getting dlopen's "file too short").
 *  Reads the file only; `file` is opened, `shown` is what messages name.
 *  Returns 0, or
 *   - ACTR_ENOENT / -errno: cannot open or stat it ("<shown>: cannot open: ..."),
 *   - ACTR_EABI: not a loadable shared object of this machine; the message
 *     says why: "not a shared object (empty file | no ELF header | ELF type
 *     EXEC/REL/CORE...)", "built for 32-bit/64-bit/the other byte order/ELF
 *     machine N", "not a loadable shared object (no program headers)",
 *     "truncated: N bytes, ..." or "cannot read program header N". */
int actr__os_check_shared_object(const char *shown, const char *file, actr_error_t *err);

/** Create `dst` exclusively (O_EXCL, mode 0700, close-on-exec) and copy the
 *  rest of the open file `in` into it (read from its current offset to EOF).
 *  Returns 0 (dst is complete and closed), or
 *   - ACTR_EEXIST: dst already exists; nothing was created and err is NOT
 *     written, so the caller may try another name,
 *   - -errno: dst could not be created ("<shown>: cannot create <dst>: ..."),
 *     `in` could not be read ("<shown>: cannot read: ...") or dst could not
 *     be written or closed ("<shown>: cannot write <dst>: ..."); in the last
 *     two cases the partial dst has been removed. */
int actr__os_copy_new(int in, const char *dst, const char *shown, actr_error_t *err);

#endif
