# kbs: the KBS client speaks HTTP(S) through libcurl (no hand-written HTTP).
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET libcurl)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::CURL)
