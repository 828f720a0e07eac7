# verify: NVIDIA RIMs are signed XML (SWID tags with an enveloped XML signature); libxml2 parses
# them (network off, no DTD) and canonicalizes them (C14N 1.1) — no XML parser of our own.
pkg_check_modules(LIBXML2 REQUIRED IMPORTED_TARGET libxml-2.0)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::LIBXML2)
