# plugins.cmake — service plugins: the shipped ones (plugins/<name>/<name>.c
# -> ${CMAKE_BINARY_DIR}/plugins/<name>.so, installed to
# ${CMAKE_INSTALL_LIBDIR}/actr/plugins) and the test-only ones
# (tests/plugins/<name>.c -> ${CMAKE_BINARY_DIR}/tests/plugins/<name>.so).
#
# Every plugin is built the way an out-of-tree plugin is: against the public
# headers only (runtime/include), linked against no actr library, and with
# -Wl,--no-undefined, which proves the ABI rule that a plugin reaches the
# runtime only through the function table in its context.
#
# Sanitizer builds: gcc links its sanitizer runtimes (libasan, libubsan,
# libtsan) into shared objects too when -fsanitize=... is on the link line,
# so --no-undefined still passes. clang does not (it expects the executable
# to provide the runtime), so with clang and a sanitizer the flag is dropped:
# the undefined __asan_*/__ubsan_* references are resolved by the test
# binary at dlopen time.

set(ACTR_PLUGIN_NO_UNDEFINED ON)
if(ACTR_SANITIZE AND CMAKE_C_COMPILER_ID MATCHES "Clang")
    set(ACTR_PLUGIN_NO_UNDEFINED OFF)
endif()

set(ACTR_PLUGIN_TARGETS "")

# actr_add_plugin(<target> <output-name> <output-dir> <source>)
function(actr_add_plugin target name outdir src)
    add_library(${target} MODULE "${src}")
    set_target_properties(${target} PROPERTIES
        PREFIX ""
        SUFFIX ".so"
        OUTPUT_NAME ${name}
        LIBRARY_OUTPUT_DIRECTORY "${outdir}"
        C_VISIBILITY_PRESET hidden)
    # runtime/include only: no internal header, no dependency's header
    target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/runtime/include")
    if(ACTR_PLUGIN_NO_UNDEFINED)
        target_link_options(${target} PRIVATE -Wl,--no-undefined)
    endif()
    set(ACTR_PLUGIN_TARGETS ${ACTR_PLUGIN_TARGETS} ${target} PARENT_SCOPE)
endfunction()

# ---- shipped plugins ----------------------------------------------------------
file(GLOB _actr_plugin_dirs LIST_DIRECTORIES true CONFIGURE_DEPENDS
     "${PROJECT_SOURCE_DIR}/plugins/*")
set(ACTR_SHIPPED_PLUGINS "")
foreach(_dir IN LISTS _actr_plugin_dirs)
    get_filename_component(_name "${_dir}" NAME)
    if(IS_DIRECTORY "${_dir}" AND EXISTS "${_dir}/${_name}.c")
        actr_add_plugin(plugin_${_name} ${_name} "${PROJECT_BINARY_DIR}/plugins"
                        "${_dir}/${_name}.c")
        list(APPEND ACTR_SHIPPED_PLUGINS plugin_${_name})
    endif()
endforeach()
if(ACTR_SHIPPED_PLUGINS)
    install(TARGETS ${ACTR_SHIPPED_PLUGINS}
            LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/actr/plugins)
endif()

# ---- test-only plugins ----------------------------------------------------------
if(ACTR_BUILD_TESTS)
    file(GLOB _actr_test_plugins CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/plugins/*.c")
    foreach(_file IN LISTS _actr_test_plugins)
        get_filename_component(_name "${_file}" NAME_WE)
        actr_add_plugin(testplugin_${_name} ${_name} "${PROJECT_BINARY_DIR}/tests/plugins"
                        "${_file}")
    endforeach()
    if(TARGET actr_tests AND ACTR_PLUGIN_TARGETS)
        add_dependencies(actr_tests ${ACTR_PLUGIN_TARGETS})
    endif()
endif()

# ---- benchmark plugins (tests/bench/plugins/<name>.c ->
# ${CMAKE_BINARY_DIR}/tests/bench/plugins/<name>.so), used by bench_hotswap,
# which gets their directory as ACTR_BENCH_PLUGIN_DIR ----------------------------
if(ACTR_BUILD_BENCH)
    file(GLOB _actr_bench_plugins CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/bench/plugins/*.c")
    foreach(_file IN LISTS _actr_bench_plugins)
        get_filename_component(_name "${_file}" NAME_WE)
        actr_add_plugin(benchplugin_${_name} ${_name} "${PROJECT_BINARY_DIR}/tests/bench/plugins"
                        "${_file}")
        if(TARGET bench_hotswap)
            add_dependencies(bench_hotswap benchplugin_${_name})
        endif()
    endforeach()
    if(TARGET bench_hotswap)
        target_compile_definitions(bench_hotswap PRIVATE
            ACTR_BENCH_PLUGIN_DIR="${PROJECT_BINARY_DIR}/tests/bench/plugins")
    endif()
endif()
