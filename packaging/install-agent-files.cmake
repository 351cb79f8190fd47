# Run by `cmake --install` and CPack for the agent component (packaging/CMakeLists.txt sets the
# FAULTLINE_* variables): the systemd unit and the example config, placed by the prefix of this
# install, which CPack sets to /usr whatever the build was configured with. As GNUInstallDirs
# and the FHS have it, the config of a /usr install is in /etc; of any other prefix, PREFIX/etc.
# The unit goes to PREFIX/lib/systemd/system, where systemd looks for /usr and /usr/local.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SYSCONFDIR /etc)
else()
  set(SYSCONFDIR ${CMAKE_INSTALL_PREFIX}/etc)
endif()
set(BINDIR ${CMAKE_INSTALL_PREFIX}/${FAULTLINE_BINDIR})
set(DOCDIR ${CMAKE_INSTALL_PREFIX}/${FAULTLINE_AGENT_DOCDIR})
set(unit ${FAULTLINE_PACKAGING_BINARY_DIR}/install/faultline-agent.service)
configure_file(${FAULTLINE_PACKAGING_SOURCE_DIR}/faultline-agent.service.in ${unit} @ONLY)
file(INSTALL DESTINATION ${CMAKE_INSTALL_PREFIX}/lib/systemd/system TYPE FILE FILES ${unit})
# The package's conffile: dpkg keeps a changed one on upgrade, and asks before replacing it.
file(INSTALL DESTINATION ${SYSCONFDIR}/faultline TYPE FILE
     FILES ${FAULTLINE_PACKAGING_SOURCE_DIR}/agent.yaml)
