# api: sealboxd's HTTP server is libevent's evhttp, with TLS through bufferevent_openssl.
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent libevent_openssl)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::LIBEVENT OpenSSL::SSL)
