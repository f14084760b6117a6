/* actr/version.h — library version. */
#ifndef ACTR_VERSION_H
#define ACTR_VERSION_H

#include "actr/export.h"

#define ACTR_VERSION_MAJOR 0
#define ACTR_VERSION_MINOR 1
#define ACTR_VERSION_PATCH 0
#define ACTR_VERSION_HEX                                                                   \
    ((ACTR_VERSION_MAJOR << 16) | (ACTR_VERSION_MINOR << 8) | ACTR_VERSION_PATCH)
#define ACTR_VERSION_STRING "0.1.0"

/** The version of the library actually linked, as ACTR_VERSION_HEX. */
ACTR_EXTERN unsigned actr_version(void);
/** The version of the library actually linked, as "MAJOR.MINOR.PATCH". Static string. */
ACTR_EXTERN const char *actr_version_string(void);

#endif
