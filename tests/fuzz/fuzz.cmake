# libFuzzer targets: the agent protocol's frame decoding, the message handling of a
# destination's and of a source's session, and what the HTTP API parses.
# They need clang, so they live in a build of their own:
#   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DDOCKMIG_FUZZ=ON -DDOCKMIG_BUILD_TESTS=OFF
# There each gets a ctest (label `fuzz`) that runs it for a bounded time. The ordinary
# (GCC) build registers the same tests plus `fuzz_build`, which makes that clang build
# under its own binary dir first. That build takes some 10 minutes of both cores on a
# machine where ccache holds none of it, so it runs niced, beside the bed tests, which
# mostly wait (tools/test.sh). The GCC build also replays each target's corpus through
# the same entry point with the unit tests (fuzz_replay_NAME, label unit): what the
# fuzzers once found is checked on every run, in well under a second.
# tests/fuzz/corpus/NAME holds the hand-written seeds, and in found/ what fuzz runs reached
# beyond them, reduced to a covering set; to add a longer run's finds:
#   build/fuzz/dockmig_fuzz_NAME -max_total_time=600 -max_len=32768 NEW tests/fuzz/corpus/NAME
#   build/fuzz/dockmig_fuzz_NAME -set_cover_merge=1 MERGED tests/fuzz/corpus/NAME NEW
# then put MERGED's files that are not seeds into found/.
set(DOCKMIG_FUZZERS frame_decoder api_request destination_session source_session)
set(DOCKMIG_FUZZ_SECONDS 20 CACHE STRING "How long each fuzz test runs")

# dockmig_fuzz_test(NAME BINARY [FIXTURE]): runs a fuzzer on its seeds for a bounded time;
# what it finds new goes to a corpus dir in the build tree, kept between runs.
function(dockmig_fuzz_test name binary)
  set(corpus ${CMAKE_BINARY_DIR}/fuzz-corpus/${name})
  file(MAKE_DIRECTORY ${corpus})
  # Niced, as they run beside the bed tests; through `nice`, ctest does not look for a
  # binary that fuzz_build makes later.
  add_test(NAME fuzz_${name} COMMAND nice -n 10 ${binary} -max_total_time=${DOCKMIG_FUZZ_SECONDS} -max_len=32768
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 ${corpus} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
  math(EXPR limit "${DOCKMIG_FUZZ_SECONDS} * 3 + 60")
  set_tests_properties(fuzz_${name} PROPERTIES LABELS fuzz TIMEOUT ${limit})
  if(ARGC GREATER 2)
    set_tests_properties(fuzz_${name} PROPERTIES FIXTURES_REQUIRED ${ARGV2})
  endif()
endfunction()

if(DOCKMIG_FUZZ)
  enable_testing()
  foreach(name ${DOCKMIG_FUZZERS})
    add_executable(dockmig_fuzz_${name} tests/fuzz/${name}_fuzz.cc)
    target_include_directories(dockmig_fuzz_${name} PRIVATE src tests)
    target_link_libraries(dockmig_fuzz_${name} PRIVATE dockmig_core)
    target_link_options(dockmig_fuzz_${name} PRIVATE -fsanitize=fuzzer)
    dockmig_fuzz_test(${name} $<TARGET_FILE:dockmig_fuzz_${name}>)
  endforeach()
  list(TRANSFORM DOCKMIG_FUZZERS PREPEND dockmig_fuzz_ OUTPUT_VARIABLE fuzz_targets)
  add_custom_target(fuzzers DEPENDS ${fuzz_targets})
elseif(DOCKMIG_BUILD_TESTS)
  find_program(DOCKMIG_CLANGXX NAMES clang++ clang++-14)
  if(DOCKMIG_CLANGXX)
    set(fuzz_dir ${CMAKE_BINARY_DIR}/fuzz)
    add_test(NAME fuzz_build COMMAND nice -n 10 sh -c
      "${CMAKE_COMMAND} -S ${CMAKE_SOURCE_DIR} -B ${fuzz_dir} -DCMAKE_CXX_COMPILER=${DOCKMIG_CLANGXX} \
       -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDOCKMIG_FUZZ=ON -DDOCKMIG_BUILD_TESTS=OFF >/dev/null && \
       ${CMAKE_COMMAND} --build ${fuzz_dir} --target fuzzers -j$(nproc)")
    set_tests_properties(fuzz_build PROPERTIES LABELS fuzz FIXTURES_SETUP fuzz_build TIMEOUT 3600)
    foreach(name ${DOCKMIG_FUZZERS})
      dockmig_fuzz_test(${name} ${fuzz_dir}/dockmig_fuzz_${name} fuzz_build)
    endforeach()
  else()
    message(STATUS "clang++ not found: the fuzz tests are left out (tools/setup.sh installs clang)")
  endif()
  foreach(name ${DOCKMIG_FUZZERS})
    add_executable(dockmig_fuzz_replay_${name} tests/fuzz/${name}_fuzz.cc tests/fuzz/replay_main.cc)
    target_include_directories(dockmig_fuzz_replay_${name} PRIVATE src tests)
    target_link_libraries(dockmig_fuzz_replay_${name} PRIVATE dockmig_core)
    add_test(NAME fuzz_replay_${name} COMMAND dockmig_fuzz_replay_${name} ${CMAKE_SOURCE_DIR}/tests/fuzz/corpus/${name})
    set_tests_properties(fuzz_replay_${name} PROPERTIES LABELS unit TIMEOUT 120)
  endforeach()
endif()
