# Extra programs built from src/cmd/ (each helper appends its own).

# sealboxd: the daemon (monitor + front, one binary; see docs/api.md, docs/operations.md).
add_executable(sealboxd ${CMAKE_SOURCE_DIR}/src/cmd/sealboxd.c)
target_link_libraries(sealboxd PRIVATE sealbox_lib)

# sb_no_sanitize(target): programs that run inside a sandbox are built WITHOUT ASan/UBSan
# (docs/development.md, sanitizer policy: LeakSanitizer cannot ptrace under our seccomp filter).
function(sb_no_sanitize tgt)
  get_target_property(opts ${tgt} COMPILE_OPTIONS)
  if(opts)
    list(REMOVE_ITEM opts ${SB_SAN_FLAGS} -O1)
    set_property(TARGET ${tgt} PROPERTY COMPILE_OPTIONS ${opts} -O2)
  endif()
  get_target_property(lopts ${tgt} LINK_OPTIONS)
  if(lopts)
    list(REMOVE_ITEM lopts ${SB_SAN_FLAGS})
    set_property(TARGET ${tgt} PROPERTY LINK_OPTIONS ${lopts})
  endif()
endfunction()

# sealbox-init: PID 1 of every jail sandbox. It links the few util/sandbox sources it needs
# directly (not libsealbox, which is sanitized in test builds), plus the KBS client's handshake
# (src/kbs/client.c) and the src/crypto wrappers it uses for the TEE key and the JWE. OpenSSL's
# libcrypto and jansson are linked statically: init runs from any image, which need not ship them.
set(SB_INIT_SOURCES sandbox/proto.c sandbox/cdh.c util/reader.c util/writer.c util/error.c util/encoding.c
    util/secmem.c kbs/client.c crypto/jwe.c crypto/jwk.c crypto/keys.c crypto/kdf.c crypto/sym.c
    crypto/hash.c crypto/pke.c crypto/tpm2.c)
list(TRANSFORM SB_INIT_SOURCES PREPEND ${CMAKE_SOURCE_DIR}/src/)
add_executable(sealbox-init ${CMAKE_SOURCE_DIR}/src/cmd/sealbox-init.c
               ${CMAKE_SOURCE_DIR}/src/cmd/init_secrets.c ${SB_INIT_SOURCES})
target_include_directories(sealbox-init PRIVATE ${CMAKE_SOURCE_DIR}/src ${JANSSON_INCLUDE_DIRS}
                           ${OPENSSL_INCLUDE_DIR})
find_library(SB_CRYPTO_STATIC NAMES libcrypto.a REQUIRED)
find_library(SB_JANSSON_STATIC NAMES libjansson.a REQUIRED)
target_link_libraries(sealbox-init PRIVATE ${SB_JANSSON_STATIC} ${SB_CRYPTO_STATIC} pthread dl)
sb_no_sanitize(sealbox-init)
add_dependencies(sealbox sealbox-init)

# sealbox-secret: the workload's helper, bind-mounted into sandboxes that have a KBS
# (docs/secrets.md "In the sandbox"). Static, so it runs in any image; no sanitizers (it runs
# inside, under the sandbox's seccomp filter).
add_executable(sealbox-secret ${CMAKE_SOURCE_DIR}/src/cmd/sealbox-secret.c
               ${CMAKE_SOURCE_DIR}/src/sandbox/cdh.c ${CMAKE_SOURCE_DIR}/src/sandbox/proto.c
               ${CMAKE_SOURCE_DIR}/src/util/reader.c ${CMAKE_SOURCE_DIR}/src/util/writer.c
               ${CMAKE_SOURCE_DIR}/src/util/error.c)
target_include_directories(sealbox-secret PRIVATE ${CMAKE_SOURCE_DIR}/src)
sb_no_sanitize(sealbox-secret)
target_link_options(sealbox-secret PRIVATE -static)
add_dependencies(sealbox sealbox-secret)

# The sandbox escape probes (tests/integration/probes/): built without sanitizers, run inside.
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/integration/probes.cmake)
  include(${CMAKE_SOURCE_DIR}/tests/integration/probes.cmake)
endif()

# The MCP gateway's test server (tests/mcp/).
if(EXISTS ${CMAKE_SOURCE_DIR}/tests/mcp/mcp.cmake)
  include(${CMAKE_SOURCE_DIR}/tests/mcp/mcp.cmake)
endif()
