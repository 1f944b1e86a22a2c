# Sourced by tools/test.sh and tools/demo: with ccache installed (tools/setup.sh installs
# it), builds go through it, the fuzzers' clang build included (it inherits this
# environment). Paths under the repo count relative to it, so a fresh clone anywhere hits
# what another clone compiled. Needs `repo` set to the checkout.
if command -v ccache >/dev/null; then
  export CMAKE_C_COMPILER_LAUNCHER=${CMAKE_C_COMPILER_LAUNCHER:-ccache}
  export CMAKE_CXX_COMPILER_LAUNCHER=${CMAKE_CXX_COMPILER_LAUNCHER:-ccache}
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$repo} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
