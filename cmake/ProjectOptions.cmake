# Warnings, hardening and sanitizers as INTERFACE targets, never global flags.
add_library(mtasts_warnings INTERFACE)
target_compile_options(mtasts_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wnull-dereference -Wimplicit-fallthrough)
if(MTASTS_WERROR)
  target_compile_options(mtasts_warnings INTERFACE -Werror)
endif()

add_library(mtasts_hardening INTERFACE)
target_compile_options(mtasts_hardening INTERFACE
  -fstack-protector-strong -fstack-clash-protection -fcf-protection -D_GLIBCXX_ASSERTIONS)
# _FORTIFY_SOURCE needs optimisation, and its checked libc wrappers hide accesses from ASan.
if(NOT MTASTS_SANITIZE)
  target_compile_options(mtasts_hardening INTERFACE $<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
endif()
target_link_options(mtasts_hardening INTERFACE -Wl,-z,relro -Wl,-z,now -pie)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

add_library(mtasts_sanitizers INTERFACE)
if(MTASTS_SANITIZE)
  target_compile_options(mtasts_sanitizers INTERFACE
    -fsanitize=${MTASTS_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(mtasts_sanitizers INTERFACE -fsanitize=${MTASTS_SANITIZE})
endif()
if(MTASTS_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "MTASTS_FUZZ needs clang: cmake -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Every library gets coverage instrumentation; only fuzz executables link the driver.
  target_compile_options(mtasts_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

# mtasts_options: what every target of this project links.
add_library(mtasts_options INTERFACE)
target_link_libraries(mtasts_options INTERFACE mtasts_warnings mtasts_hardening mtasts_sanitizers)
target_compile_definitions(mtasts_options INTERFACE MTASTS_VERSION="${PROJECT_VERSION}")
