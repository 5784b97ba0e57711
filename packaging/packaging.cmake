# Packaging: one Debian package, "ctim", built by CPack from a build tree.  Included last
# from the top CMakeLists.txt, once every module has declared its install() rules.
#
#   cmake -S . -B build-deb -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr
#   cmake --build build-deb -j2
#   cpack --config build-deb/CPackConfig.cmake -B build-deb/pkg    # build-deb/pkg/ctim_*.deb
#
# Contents (README.md, "Operations"): ctimd, pbxsim and the ctim tool in /usr/bin; libctim
# (.so, header, pkg-config file) in the library and include directories; the systemd units
# and the ctim system user (sysusers.d); the example configs, the Prometheus rules and the
# README under /usr/share/doc/ctim.  Nothing in /etc: the operator writes
# /etc/ctim/ctimd.yaml from the example (it carries password hashes, which a package must
# not ship).  Dependencies come from dpkg-shlibdeps.
include(GNUInstallDirs)

# The ctim command-line tool (client-tsp-shim/tools, issue 5) is an executable named ctim;
# its target name is not `ctim` (that is libctim), so it is found by its output name.
function(ctim_find_tool dir out)
    get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
    foreach(t ${targets})
        get_target_property(type ${t} TYPE)
        get_target_property(name ${t} OUTPUT_NAME)
        if(type STREQUAL "EXECUTABLE" AND name STREQUAL "ctim")
            set(${out} ${t} PARENT_SCOPE)
            return()
        endif()
    endforeach()
    get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
    foreach(d ${subdirs})
        ctim_find_tool(${d} found)
        if(found)
            set(${out} ${found} PARENT_SCOPE)
            return()
        endif()
    endforeach()
endfunction()
ctim_find_tool(${PROJECT_SOURCE_DIR} CTIM_TOOL_TARGET)
if(CTIM_TOOL_TARGET)
    install(TARGETS ${CTIM_TOOL_TARGET} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# Units under /usr/lib/systemd/system (bookworm's systemd reads it; nothing goes to /etc).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/ctimd.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/ctimd@.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/pbxsim.service
        DESTINATION lib/systemd/system)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/ctim.sysusers
        DESTINATION lib/sysusers.d RENAME ctim.conf)
file(GLOB CTIM_EXAMPLE_CONFIGS CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/deploy/config/*.yaml)
install(FILES ${CTIM_EXAMPLE_CONFIGS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/prometheus.yml
              ${PROJECT_SOURCE_DIR}/deploy/prometheus/ctim-alerts.yml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/prometheus)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
if(EXISTS ${PROJECT_SOURCE_DIR}/BENCHMARKS.md)
    install(FILES ${PROJECT_SOURCE_DIR}/BENCHMARKS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME ctim)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "ctim maintainers <ctim@localhost>" CACHE STRING
    "Maintainer field of the .deb")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "high-availability CTI manager for CSTA Phase III PBXs")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "high-availability CTI manager for CSTA Phase III PBXs
ctimd holds the CSTA link to a PBX and serves many applications at once: CSTA
applications as a multiplexer, and applications on libctim (included, with its
header and pkg-config file) and the ctim tool with server-list failover.
Also: pbxsim, a PBX simulator; systemd units; Prometheus rules.")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)             #  ctim_VERSION_ARCH.deb
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# libctim is in the package itself: dpkg-shlibdeps resolves the tool's dependency on it
# there, and the package declares the shared library it provides.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS_PRIVATE_DIRS ${CMAKE_BINARY_DIR}/client-tsp-shim)
# systemd-sysusers makes the ctim user; adduser's useradd where systemd is absent.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_CURRENT_LIST_DIR}/deb/postinst
                                       ${CMAKE_CURRENT_LIST_DIR}/deb/prerm
                                       ${CMAKE_CURRENT_LIST_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
