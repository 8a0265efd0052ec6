# BPF programs compiled into the exporter: clang -target bpf → an object → `bpftool gen
# skeleton` → a header embedding the object, which user-space code includes. The BPF side is
# compiled with its own fixed flags (never the presets' sanitizer or hardening flags, which are
# meaningless for -target bpf) and against a hand-written CO-RE header in the source tree, so the
# build machine's kernel does not matter. Used by collectors/refused/CMakeLists.txt.
find_program(NFCT_BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(NFCT_BPFTOOL NAMES bpftool PATHS /usr/sbin /sbin)
pkg_check_modules(LIBBPF REQUIRED IMPORTED_TARGET libbpf)
if(NOT NFCT_BPF_CLANG OR NOT NFCT_BPFTOOL)
  message(FATAL_ERROR "the refused collector needs clang and bpftool to build its BPF program: "
                      "scripts/install-deps.sh build installs them")
endif()

# The kernel's name for the architecture: bpf_tracing.h picks the register layout from it.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set(NFCT_BPF_ARCH x86)
elseif(CMAKE_SYSTEM_PROCESSOR MATCHES "^(aarch64|arm64)$")
  set(NFCT_BPF_ARCH arm64)
else()
  set(NFCT_BPF_ARCH ${CMAKE_SYSTEM_PROCESSOR})
endif()

# nfct_bpf_skeleton(<target> <source.bpf.c> <name> DEPENDS <headers...>): builds
# ${CMAKE_CURRENT_BINARY_DIR}/bpf/<name>.skel.h (struct <name>, <name>__open() ...) and makes
# <target> depend on it with that directory on its include path.
function(nfct_bpf_skeleton target source name)
  cmake_parse_arguments(ARG "" "" "DEPENDS" ${ARGN})
  set(dir ${CMAKE_CURRENT_BINARY_DIR}/bpf)
  set(object ${dir}/${name}.bpf.o)
  set(skeleton ${dir}/${name}.skel.h)
  set(includes)
  foreach(include ${LIBBPF_INCLUDE_DIRS})
    list(APPEND includes -I${include})
  endforeach()
  add_custom_command(
    OUTPUT ${object}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${NFCT_BPF_CLANG} -g -O2 -Wall -Werror -target bpf -D__TARGET_ARCH_${NFCT_BPF_ARCH}
            -I${PROJECT_SOURCE_DIR} ${includes} -c ${source} -o ${object}
    DEPENDS ${source} ${ARG_DEPENDS}
    COMMENT "BPF object ${name}.bpf.o"
    VERBATIM)
  add_custom_command(
    OUTPUT ${skeleton}
    COMMAND sh -c "\"$0\" gen skeleton \"$1\" name \"$2\" > \"$3\"" ${NFCT_BPFTOOL} ${object}
            ${name} ${skeleton}.tmp
    COMMAND ${CMAKE_COMMAND} -E rename ${skeleton}.tmp ${skeleton}
    DEPENDS ${object}
    COMMENT "BPF skeleton ${name}.skel.h"
    VERBATIM)
  add_custom_target(${name}_skeleton DEPENDS ${skeleton})
  add_dependencies(${target} ${name}_skeleton)
  target_include_directories(${target} PRIVATE ${dir})
endfunction()
