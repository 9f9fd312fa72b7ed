# Installation and the Debian package (CPack's DEB generator):
#   cmake --build build && cmake --install build --prefix /usr   (a plain install)
#   (cd build && cpack -G DEB)                                     build/sanhe_*.deb
# Maintainer scripts, copyright and changelog: ops/debian/. README.md,
# "Debian package"; ops/RUNBOOK.md, "Install".
include(GNUInstallDirs)

set(SANHE_PACKAGED_PROGRAMS sanhe-engine sanhe-counter sanhe-bureau)
foreach(t ${SANHE_PACKAGED_PROGRAMS})
  if(TARGET ${t})
    install(TARGETS ${t} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()
install(FILES ops/sanhe-engine.service ops/sanhe-backup.service ops/sanhe-backup.timer
        DESTINATION lib/systemd/system)
install(PROGRAMS ops/sanhe-backup.sh DESTINATION lib/sanhe RENAME sanhe-backup)
install(PROGRAMS ops/certs.sh DESTINATION lib/sanhe RENAME sanhe-certs)
# The configuration the unit reads, a conffile: every key, documented.
install(FILES ops/sanhe-engine.conf.example DESTINATION /etc/sanhe RENAME sanhe-engine.conf)
install(FILES README.md ops/RUNBOOK.md ops/debian/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian wants the changelog compressed (gzip -n: no time stamp, reproducible);
# a native package's is changelog.gz.
set(SANHE_CHANGELOG_GZ ${CMAKE_BINARY_DIR}/changelog.gz)
add_custom_command(OUTPUT ${SANHE_CHANGELOG_GZ}
  COMMAND gzip -9nc ${CMAKE_SOURCE_DIR}/ops/debian/changelog > ${SANHE_CHANGELOG_GZ}
  DEPENDS ${CMAKE_SOURCE_DIR}/ops/debian/changelog)
add_custom_target(sanhe_changelog ALL DEPENDS ${SANHE_CHANGELOG_GZ})
install(FILES ${SANHE_CHANGELOG_GZ} DESTINATION ${CMAKE_INSTALL_DOCDIR})

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sanhe)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "sanhe operations <ops@sanhe.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "real-time settlement engine for medical bills")
set(CPACK_PACKAGE_DESCRIPTION
    "sanhe settles a medical bill at the counter in one pass across the\ncooperative medical insurance, the subsidy for entitled persons and\nmedical assistance, in integer fen, over TLS 1.3, on an LMDB ledger with\ngroup commit. This package holds the engine, the counter and bureau\ncommand lines, the systemd units and the example configuration.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION misc)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, openssl")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "prometheus")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/ops/debian/postinst ${CMAKE_SOURCE_DIR}/ops/debian/prerm
    ${CMAKE_SOURCE_DIR}/ops/debian/postrm ${CMAKE_SOURCE_DIR}/ops/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_SET_DESTDIR OFF)
include(CPack)
