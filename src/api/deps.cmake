# api: sealboxd's HTTP server is libevent's evhttp, with TLS through bufferevent_openssl.
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent libevent_openssl)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::LIBEVENT OpenSSL::SSL)
# GET /v1/openapi.yaml serves docs/api/openapi.yaml, embedded at build time (openapi_doc.c).
set_source_files_properties(${CMAKE_SOURCE_DIR}/src/api/openapi_doc.c PROPERTIES
  OBJECT_DEPENDS ${CMAKE_SOURCE_DIR}/docs/api/openapi.yaml
  COMPILE_DEFINITIONS "SB_OPENAPI_PATH=\"${CMAKE_SOURCE_DIR}/docs/api/openapi.yaml\"")
# The monitor answers sealbox-init's KBS requests on worker threads (monitor_relay.c).
find_package(Threads REQUIRED)
target_link_libraries(sealbox_lib PUBLIC Threads::Threads)
