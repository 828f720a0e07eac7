# The gateway's test MCP server (tests/mcp/mcp_testserver.c): it runs inside sandboxes, so it is
# built without sanitizers like sealbox-init.
add_executable(mcp_testserver ${CMAKE_SOURCE_DIR}/tests/mcp/mcp_testserver.c)
target_link_libraries(mcp_testserver PRIVATE PkgConfig::JANSSON)
sb_no_sanitize(mcp_testserver)
add_dependencies(sealbox mcp_testserver)
