# Install layout beyond the binary, and the Debian package (`cpack -G DEB` in the build tree).
# Included by the top-level CMakeLists.txt after the install(TARGETS) rule. The systemd unit and
# /etc/default file are in component `systemd`, left out of a plain `cmake --install` because
# their paths are absolute-system ones (/usr/bin in ExecStart, /etc/default); the package has them.
include(GNUInstallDirs)

set(NFCT_PACKAGE_NAME nf-conntrack-exporter)
set(NFCT_DATADIR ${CMAKE_INSTALL_DATADIR}/${NFCT_PACKAGE_NAME})

# Alert rules and dashboards: whatever alerts/ and dashboards/ hold when CMake runs.
file(GLOB NFCT_ALERT_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/alerts/*.yml)
file(GLOB NFCT_DASHBOARD_FILES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/dashboards/*.json)
if(NFCT_ALERT_FILES)
  install(FILES ${NFCT_ALERT_FILES} DESTINATION ${NFCT_DATADIR}/alerts)
endif()
if(NFCT_DASHBOARD_FILES)
  install(FILES ${NFCT_DASHBOARD_FILES} DESTINATION ${NFCT_DATADIR}/dashboards)
endif()
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/deployment.md
              ${PROJECT_SOURCE_DIR}/docs/notrack.md ${PROJECT_SOURCE_DIR}/CHANGELOG.md
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${NFCT_PACKAGE_NAME})
# The rules that exempt the scrape port from conntrack (docs/notrack.md): shipped disabled, as
# examples under /usr/share; nothing loads them until the operator does (postinst leaves the
# -notrack unit disabled).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/nftables/${NFCT_PACKAGE_NAME}-notrack.nft
              ${PROJECT_SOURCE_DIR}/deploy/nftables/${NFCT_PACKAGE_NAME}-accept-untracked.nft
        DESTINATION ${NFCT_DATADIR}/nftables)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/iptables/${NFCT_PACKAGE_NAME}-notrack.rules
        DESTINATION ${NFCT_DATADIR}/iptables)
install(PROGRAMS ${PROJECT_SOURCE_DIR}/deploy/iptables/${NFCT_PACKAGE_NAME}-notrack.sh
        DESTINATION ${NFCT_DATADIR}/iptables)
# Opt-in too: the drop-in the refused collector (BPF) needs under the shipped unit (docs/refused.md).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/refused.conf
        DESTINATION ${NFCT_DATADIR}/systemd)
# Debian policy 12.5: the license in machine-readable form at doc/<package>/copyright (the full
# Apache-2.0 text is LICENSE in the source; Debian systems have it in common-licenses).
install(FILES ${PROJECT_SOURCE_DIR}/deploy/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${NFCT_PACKAGE_NAME})

install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/${NFCT_PACKAGE_NAME}.service
              ${PROJECT_SOURCE_DIR}/deploy/systemd/${NFCT_PACKAGE_NAME}.socket
              ${PROJECT_SOURCE_DIR}/deploy/nftables/${NFCT_PACKAGE_NAME}-notrack.service
        DESTINATION lib/systemd/system COMPONENT systemd EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/${NFCT_PACKAGE_NAME}.default
        DESTINATION /etc/default RENAME ${NFCT_PACKAGE_NAME} COMPONENT systemd EXCLUDE_FROM_ALL)

set(CPACK_PACKAGE_NAME ${NFCT_PACKAGE_NAME})
set(CPACK_PACKAGE_VENDOR "nf_conntrack_exporter authors")
set(CPACK_RESOURCE_FILE_LICENSE ${PROJECT_SOURCE_DIR}/LICENSE)
set(CPACK_PACKAGE_CONTACT "nf_conntrack_exporter maintainers <maintainers@users.noreply.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Prometheus exporter for the Linux conntrack table (nf_conntrack)")
set(CPACK_PACKAGE_DESCRIPTION
    "Warns before and while the conntrack table fills and drops packets: entries, limit,\n\
buckets, timeouts, the kernel's drop counters, table-full kernel log lines and what fills\n\
the table, on /metrics (port 9725). Read-only: it never changes a sysctl or an entry.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# One package holding every component, `systemd` included (a monolithic install would skip
# EXCLUDE_FROM_ALL components).
set(CPACK_COMPONENTS_ALL Unspecified systemd)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Loaded with dlopen by the kmsg collector's journald source only, so dpkg-shlibdeps cannot see
# it; every systemd host has it.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS libsystemd0)
# The opt-in notrack rules (docs/notrack.md) are loaded with one of these.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "nftables | iptables")
# DT_RELR (exporter/CMakeLists.txt) needs glibc 2.36's loader; dpkg-shlibdeps does not see
# that version-only need (GLIBC_ABI_DT_RELR).
if(NFCT_LINKER_HAS_RELR)
  set(CPACK_DEBIAN_PACKAGE_DEPENDS "libc6 (>= 2.36)")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/deploy/debian/conffiles
    ${PROJECT_SOURCE_DIR}/deploy/debian/postinst
    ${PROJECT_SOURCE_DIR}/deploy/debian/prerm
    ${PROJECT_SOURCE_DIR}/deploy/debian/postrm)
include(CPack)
