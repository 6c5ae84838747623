/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * version — which lmm a program runs with: the version meson's project()
 * names, the same one lmm-version.h was generated from.
 */

#include "lmm.h"
#include "util.h"

#define STRINGIFY(x) #x
#define NUMBER(x) STRINGIFY(x)

_public_ const char *lmm_version(void) {
        return NUMBER(LMM_VERSION_MAJOR) "." NUMBER(LMM_VERSION_MINOR) "." NUMBER(
                LMM_VERSION_MICRO);
}
