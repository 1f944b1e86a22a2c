# Installation for an operator (docs/install.md): `cmake --install` puts the binary, the
# systemd unit of the agent, its default config file, man pages made from --help, and the
# docs in place; `cpack -G DEB` in the build dir makes dockmig_VERSION_ARCH.deb of the same.
include(GNUInstallDirs)

# Relative to the prefix: systemd reads units from /usr/lib/systemd/system (a package) and
# /usr/local/lib/systemd/system (`cmake --install` with the default prefix) alike.
set(DOCKMIG_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING "Where the systemd unit goes, under the prefix")
# The config file, certificates and token file are the host's, not the prefix's: the unit
# and agent.conf name these paths.
set(DOCKMIG_CONFIG_DIR /etc/dockmig)

install(TARGETS dockmig RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# The unit names the binary by the prefix it is installed under, which is cpack's (/usr)
# for the package and CMAKE_INSTALL_PREFIX's for `cmake --install`: so it is made then.
set(DOCKMIG_UNIT_FILE ${CMAKE_BINARY_DIR}/packaging/dockmig-agent.service)
install(CODE "
  set(DOCKMIG_BINARY \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/dockmig\")
  set(DOCKMIG_DOCDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DOCDIR}\")
  configure_file(\"${CMAKE_CURRENT_LIST_DIR}/dockmig-agent.service.in\" \"${DOCKMIG_UNIT_FILE}\" @ONLY)")
install(FILES ${DOCKMIG_UNIT_FILE} DESTINATION ${DOCKMIG_SYSTEMD_UNIT_DIR})

# The default config: in the package a conffile (dpkg keeps the operator's edits); by
# `cmake --install` only where there is none yet.
install(CODE "
  if(EXISTS \"\$ENV{DESTDIR}${DOCKMIG_CONFIG_DIR}/agent.conf\")
    message(STATUS \"Keeping: \$ENV{DESTDIR}${DOCKMIG_CONFIG_DIR}/agent.conf\")
  else()
    file(INSTALL \"${CMAKE_CURRENT_LIST_DIR}/agent.conf\" DESTINATION \"${DOCKMIG_CONFIG_DIR}\"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endif()")

# Debian's place for the license: the copyright file names it (the full text is the
# host's /usr/share/common-licenses/Apache-2.0; LICENSE in the source tree).
install(FILES ${CMAKE_CURRENT_LIST_DIR}/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES README.md docs/install.md docs/api.md docs/openapi.yaml docs/design.md docs/protocol.md
        docs/reliability.md docs/error-handling.md docs/fleet.md docs/container.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})

find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(DOCKMIG_MAN_DIR ${CMAKE_BINARY_DIR}/man)
  add_custom_command(OUTPUT ${DOCKMIG_MAN_DIR}/dockmig.1.gz
    COMMAND sh ${CMAKE_CURRENT_LIST_DIR}/make-man-pages $<TARGET_FILE:dockmig> ${PROJECT_VERSION} ${DOCKMIG_MAN_DIR}
    DEPENDS dockmig ${CMAKE_CURRENT_LIST_DIR}/make-man-pages
    COMMENT "Man pages from dockmig --help (help2man)")
  add_custom_target(man ALL DEPENDS ${DOCKMIG_MAN_DIR}/dockmig.1.gz)
  install(DIRECTORY ${DOCKMIG_MAN_DIR}/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 FILES_MATCHING PATTERN "*.1.gz")
else()
  message(STATUS "help2man not found: no man pages (apt-get install help2man); `dockmig COMMAND --help` says the same")
endif()

# ---- the Debian package -----------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME dockmig)
# The package's Maintainer: whoever builds and ships the package, who answers for it.
set(DOCKMIG_PACKAGE_CONTACT "unset: set DOCKMIG_PACKAGE_CONTACT when building the package"
    CACHE STRING "The .deb's Maintainer field, NAME <EMAIL> of whoever builds and ships the package")
set(CPACK_PACKAGE_CONTACT "${DOCKMIG_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "live migration of running Docker containers between edge hosts")
# CPack puts the summary first and indents these lines (an empty one becomes ` .`).
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "dockmig moves a running Docker container to another host's agent with CRIU, sending
only what the destination cannot get elsewhere. This package has the dockmig command,
the agent's systemd unit (dockmig-agent.service, options in /etc/dockmig/agent.conf),
man pages and docs.

Checkpoint and restore need CRIU 4.2 or newer on the host, the CRIU that dockerd's
runc runs (Debian forky's criu; bookworm's 3.17 and trixie's 4.1 fail on current
kernels): /usr/share/doc/dockmig/install.md says how.")
if(DOCKMIG_FAULT_POINTS)
  string(APPEND CPACK_DEBIAN_PACKAGE_DESCRIPTION "

This build has fault points compiled in (DOCKMIG_FAULT_POINTS): for tests only.")
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)   # dockmig_VERSION_ARCH.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Not a Depends on criu: no Debian release this is built on has a CRIU that works (above).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "docker.io | docker-ce")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "criu (>= 4.2)")
find_program(DPKG_SHLIBDEPS dpkg-shlibdeps)
if(DPKG_SHLIBDEPS)
  set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)   # Depends: the libraries the binary links
else()
  message(STATUS "dpkg-shlibdeps not found: the .deb will have no Depends (apt-get install dpkg-dev)")
endif()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${CMAKE_CURRENT_LIST_DIR}/debian/conffiles ${CMAKE_CURRENT_LIST_DIR}/debian/postinst
  ${CMAKE_CURRENT_LIST_DIR}/debian/prerm ${CMAKE_CURRENT_LIST_DIR}/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# /etc/dockmig is outside the prefix: staged under DESTDIR, with the prefix /usr.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
include(CPack)
