# src/attester: the TPM 2.0 attester talks to the TPM through tss2 ESAPI (Debian libtss2-dev):
# esys for the commands, mu for (un)marshalling, tctildr to reach swtpm, mssim or a device,
# rc for readable TPM error codes.
pkg_check_modules(TSS2 REQUIRED IMPORTED_TARGET tss2-esys tss2-mu tss2-tctildr tss2-rc)
target_link_libraries(sealbox_lib PUBLIC PkgConfig::TSS2)
