# Doxygen API docs from the public headers and docs/*.md. Any warning (an
# undocumented public symbol among them) fails the build: WARN_AS_ERROR.
find_package(Doxygen)
if(DOXYGEN_FOUND)
  file(GLOB _port_incs LIST_DIRECTORIES true ${PROJECT_SOURCE_DIR}/ports/*/include)
  list(JOIN _port_incs " " HVCORE_DOXY_PORT_INCLUDES)
  set(HVCORE_DOXY_OUT ${CMAKE_BINARY_DIR}/docs)
  configure_file(${PROJECT_SOURCE_DIR}/docs/Doxyfile.in ${CMAKE_BINARY_DIR}/Doxyfile @ONLY)
  add_custom_target(docs
    COMMAND ${DOXYGEN_EXECUTABLE} ${CMAKE_BINARY_DIR}/Doxyfile
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
    COMMENT "Doxygen: API docs in ${HVCORE_DOXY_OUT}/html"
    VERBATIM)
endif()
