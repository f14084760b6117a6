/* actr/export.h — symbol visibility and common attributes for the public API. */
#ifndef ACTR_EXPORT_H
#define ACTR_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define ACTR_EXTERN __attribute__((visibility("default")))
#define ACTR_NODISCARD __attribute__((warn_unused_result))
#define ACTR_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ACTR_EXTERN
#define ACTR_NODISCARD
#define ACTR_PRINTF(a, b)
#endif

#endif
