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
  # The instrumentation calls __sanitizer_cov_* hooks. Every sanitizer runtime defines them;
  # without one, the executables that do not link the driver (*_fuzz_replay, the daemon, the
  # unit tests) take them from libFuzzer's runtime without main(). A link library, not a link
  # option, so that it comes after the objects that need it; in the *_fuzz binaries the
  # driver (-fsanitize=fuzzer, linked first) already defines all of them.
  if(NOT MTASTS_SANITIZE)
    set(fuzzer_no_main "libclang_rt.fuzzer_no_main-${CMAKE_SYSTEM_PROCESSOR}.a")
    execute_process(COMMAND ${CMAKE_CXX_COMPILER} -print-file-name=${fuzzer_no_main}
                    OUTPUT_VARIABLE fuzzer_no_main_path OUTPUT_STRIP_TRAILING_WHITESPACE)
    if(NOT IS_ABSOLUTE "${fuzzer_no_main_path}" OR NOT EXISTS "${fuzzer_no_main_path}")
      message(FATAL_ERROR "MTASTS_FUZZ without MTASTS_SANITIZE needs ${fuzzer_no_main} "
                          "(Debian: libclang-rt-14-dev)")
    endif()
    target_link_libraries(mtasts_sanitizers INTERFACE ${fuzzer_no_main_path})
  endif()
endif()

# mtasts_options: what every target of this project links.
add_library(mtasts_options INTERFACE)
target_link_libraries(mtasts_options INTERFACE mtasts_warnings mtasts_hardening mtasts_sanitizers)
target_compile_definitions(mtasts_options INTERFACE MTASTS_VERSION="${PROJECT_VERSION}")
