# client: the HTTP client of the sealbox CLI for sealboxd's API is libcurl (Debian
# libcurl4-openssl-dev: OpenSSL TLS, unix sockets), not a parser of our own.
pkg_check_modules(LIBCURL REQUIRED IMPORTED_TARGET libcurl)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::LIBCURL)
