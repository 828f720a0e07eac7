# Extra programs built from src/cmd/ (each helper appends its own).

# sealboxd: the daemon (monitor + front, one binary; see docs/api.md, docs/operations.md).
add_executable(sealboxd ${CMAKE_SOURCE_DIR}/src/cmd/sealboxd.c)
target_link_libraries(sealboxd PRIVATE sealbox_lib)
