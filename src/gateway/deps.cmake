# gateway: argument patterns through PCRE2 (match limits against catastrophic backtracking),
# internationalized host names through libidn2 (UTS 46, as the WHATWG URL Standard).
pkg_check_modules(GW_DEPS REQUIRED IMPORTED_TARGET libpcre2-8 libidn2)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::GW_DEPS)
