/* openapi_doc: docs/api/openapi.yaml compiled into the front, so GET /v1/openapi.yaml serves
 * exactly the document of the build (the build rebuilds this file when the document changes). */
#include <stddef.h>
#include <stdint.h>

#include "front_int.h"

#ifndef SB_OPENAPI_PATH /* src/api/deps.cmake defines the absolute path */
#define SB_OPENAPI_PATH "docs/api/openapi.yaml"
#endif

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".globl sb_front_openapi_yaml\n"
        ".type sb_front_openapi_yaml, @object\n"
        "sb_front_openapi_yaml:\n"
        ".incbin \"" SB_OPENAPI_PATH "\"\n"
        "sb_front_openapi_yaml_end:\n"
        ".byte 0\n"
        ".balign 8\n"
        ".globl sb_front_openapi_yaml_bytes\n"
        "sb_front_openapi_yaml_bytes:\n"
        ".quad sb_front_openapi_yaml_end - sb_front_openapi_yaml\n"
        ".previous\n");

extern const uint64_t sb_front_openapi_yaml_bytes; /* computed by the assembler */

size_t sb_front_openapi_yaml_size(void) { return (size_t)sb_front_openapi_yaml_bytes; }
