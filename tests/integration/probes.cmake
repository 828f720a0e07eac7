# The sandbox escape probes: one program per category under tests/integration/probes/, built
# WITHOUT sanitizers (they run inside sandboxes, under seccomp: docs/development.md) into
# <build>/probes/, run by tests/integration/test_sandbox_escape.sh.
file(GLOB SB_PROBES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/integration/probes/probe_*.c)
foreach(p ${SB_PROBES})
  get_filename_component(name ${p} NAME_WE)
  add_executable(${name} ${p})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/integration/probes)
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/probes)
  sb_no_sanitize(${name})
  add_dependencies(sealbox ${name})
endforeach()
