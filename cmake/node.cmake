# cmake/node.cmake — end-to-end tests of the installed `actr` program, run as
# shell scripts (included from CMakeLists.txt).
#
# Every tests/integration/<name>.sh becomes the CTest entry
# integration.<name> (dashes turned into underscores; hello-plugin.sh is
# integration.hello_plugin), labelled `integration`, and is called as
#   <name>.sh BINARY_DIR SOURCE_DIR LIBDIR
# where LIBDIR is CMAKE_INSTALL_LIBDIR, so a script that installs the build
# (`cmake --install BINARY_DIR --prefix TMP`) finds TMP/LIBDIR/pkgconfig.
# The scripts need the whole build (they install it): run them after
# `cmake --build`, as ctest always is.

if(NOT ACTR_BUILD_TESTS)
    return()
endif()

find_program(ACTR_BASH bash)
if(NOT ACTR_BASH)
    message(WARNING "bash not found: tests/integration/*.sh (end-to-end tests) not registered")
    return()
endif()

file(GLOB ACTR_NODE_TESTS CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/integration/*.sh")
list(SORT ACTR_NODE_TESTS)
foreach(_script IN LISTS ACTR_NODE_TESTS)
    get_filename_component(_stem "${_script}" NAME_WE)
    string(REPLACE "-" "_" _name "${_stem}")
    add_test(NAME integration.${_name}
             COMMAND "${ACTR_BASH}" "${_script}"
                     "${PROJECT_BINARY_DIR}" "${PROJECT_SOURCE_DIR}" "${CMAKE_INSTALL_LIBDIR}")
    # Generous: the scripts bound each of their waits themselves; this only
    # catches a hang between them.
    set_tests_properties(integration.${_name} PROPERTIES LABELS integration TIMEOUT 600)
endforeach()
