# Shipping checks (issue 7), included from tests/CMakeLists.txt: ctimd's systemd notify
# protocol, the units (systemd-analyze verify), the Prometheus rules (promtool) and a real
# Prometheus scraping ctimd, and the .deb CPack builds.  Label integration; each takes
# seconds.  A check whose tool is missing (not installed by deploy/install-deps.sh test)
# exits 77 and CTest reports it skipped.

# ship_syscall_check runs pbxsim and ctimd under strace and holds what they call to the
# units' SystemCallFilter= (a filtered call fails with EPERM under systemd).

# C tests (tests/integration/ship_*_test.c): pbxsim and ctimd started by the test.
file(GLOB SHIP_TESTS CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/integration/ship_*_test.c)
foreach(t ${SHIP_TESTS})
    get_filename_component(name ${t} NAME_WE)
    add_executable(${name} ${t})
    target_link_libraries(${name} PRIVATE ctim_test_support PkgConfig::CMOCKA)
    target_compile_options(${name} PRIVATE ${CTIM_WARNINGS})
    target_compile_definitions(${name} PRIVATE CTIM_CTIMD="$<TARGET_FILE:ctimd>"
                               CTIM_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
    add_dependencies(${name} ctimd)
    add_test(NAME ${name} COMMAND ${name})
    set_tests_properties(${name} PROPERTIES LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77)
endforeach()

set(SHIP_SCRIPTS ${CMAKE_CURRENT_SOURCE_DIR}/integration)
add_test(NAME ship_systemd_verify
         COMMAND ${SHIP_SCRIPTS}/ship_systemd_verify.sh ${PROJECT_SOURCE_DIR}/deploy/systemd
                 $<TARGET_FILE:ctimd> $<TARGET_FILE:pbxsim>)
add_test(NAME ship_syscall_check
         COMMAND ${SHIP_SCRIPTS}/ship_syscall_check.sh ${PROJECT_SOURCE_DIR}/deploy/systemd
                 $<TARGET_FILE:ctimd> $<TARGET_FILE:pbxsim>)
add_test(NAME ship_promtool_check
         COMMAND ${SHIP_SCRIPTS}/ship_promtool_check.sh ${PROJECT_SOURCE_DIR}/deploy/prometheus)
add_test(NAME ship_deb_check
         COMMAND ${SHIP_SCRIPTS}/ship_deb_check.sh ${PROJECT_BINARY_DIR})
# Every shipped config checks, and the pair's and the three nodes' files make one cluster.
add_test(NAME ship_config_check
         COMMAND ${SHIP_SCRIPTS}/ship_config_check.sh $<TARGET_FILE:ctimd>
                 ${PROJECT_SOURCE_DIR}/deploy/config)
set_tests_properties(ship_systemd_verify ship_syscall_check ship_promtool_check ship_deb_check
                     ship_config_check
                     PROPERTIES
                     LABELS integration TIMEOUT 60 SKIP_RETURN_CODE 77)
# deploy/demo.sh --ci on this tree (no packages, no build): pbxsim, a pair, the ctim tool,
# calls, kill -9 of the primary, a call after the failover; then a run stopped by SIGINT.
# About 5 s; it needs the three programs built.
add_test(NAME ship_demo_check
         COMMAND ${SHIP_SCRIPTS}/ship_demo_check.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(ship_demo_check PROPERTIES LABELS integration TIMEOUT 120)
