#!/bin/sh
# install-test.sh — ctest `install.pkgconfig`: install the build into a
# temporary prefix, then compile and run a small program against it through
# pkg-config, once linked to the shared library and once to the static one
# (which proves Requires.private/Libs.private are complete).
#
# usage: install-test.sh BUILD_DIR CC LIBDIR [SANITIZE]
set -eu
build=$1
cc=$2
libdir=$3
sanitize=${4:-}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/actr-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    echo "install-test: cmake --install failed" >&2
    exit 1
}

for f in include/actr.h include/actr/actor.h include/actr/msg.h "$libdir/libactr.a" \
    "$libdir/libactr.so" "$libdir/pkgconfig/actr.pc" bin/actr; do
    if [ ! -e "$tmp/prefix/$f" ]; then
        echo "install-test: missing $f in the install tree" >&2
        exit 1
    fi
done

cat >"$tmp/prog.c" <<'EOC'
#include <stdio.h>
#include <string.h>
#include <actr.h>

int main(void)
{
    actr_t *rt = NULL;
    int rc;

    if (strcmp(actr_version_string(), ACTR_VERSION_STRING) != 0) {
        fprintf(stderr, "version mismatch: library %s, headers %s\n", actr_version_string(),
                ACTR_VERSION_STRING);
        return 1;
    }
    rc = actr_open(&rt, NULL);
    if (rc != 0) {
        fprintf(stderr, "actr_open: %s\n", actr_strerror(rc));
        return 1;
    }
    actr_close(rt);
    printf("actr %s ok\n", actr_version_string());
    return 0;
}
EOC

export PKG_CONFIG_PATH="$tmp/prefix/$libdir/pkgconfig"
export LD_LIBRARY_PATH="$tmp/prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
pkg-config --exists --print-errors actr

flags=""
if [ -n "$sanitize" ]; then
    flags="-fsanitize=$sanitize"
fi

# Shared: the default `pkg-config --libs` link.
# shellcheck disable=SC2046,SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $flags -o "$tmp/prog-shared" "$tmp/prog.c" \
    $(pkg-config --cflags --libs actr)
"$tmp/prog-shared"

# Static: the archive plus everything `--static` says it needs.
# shellcheck disable=SC2046,SC2086
"$cc" -std=c11 -Wall -Wextra -Werror $flags -o "$tmp/prog-static" "$tmp/prog.c" \
    $(pkg-config --cflags actr) "$tmp/prefix/$libdir/libactr.a" \
    $(pkg-config --static --libs actr | sed 's/-lactr//')
"$tmp/prog-static"

echo "install-test: ok (prefix $tmp/prefix)"
