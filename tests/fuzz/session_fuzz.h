// What the session fuzz targets share: a scratch dir for the process, and one run of an
// entry against a peer whose frames are the fuzzer's input.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>

#include "unit/migrate/peer_wire.h"

namespace dockmig::migrate::fuzzing {

class Scratch {
 public:
  explicit Scratch(const std::string& name)
      : root_(std::filesystem::temp_directory_path() / (name + "-" + std::to_string(getpid()))) {
    std::filesystem::create_directories(root_);
  }
  ~Scratch() {
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  const std::filesystem::path& root() const { return root_; }
  /// A fresh dir under the root, empty.
  std::filesystem::path fresh(const char* name) const {
    std::filesystem::path dir = root_ / name;
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
    std::filesystem::create_directories(dir, ignored);
    return dir;
  }

 private:
  std::filesystem::path root_;
};

/// Runs `entry` on a session whose peer sends a valid hello, then `wire`. An exception out
/// of the session code, one a catch-all contained, or an error that says nothing is the
/// bug these targets look for: abort, so libFuzzer reports it.
inline void serve_entry(std::span<const std::byte> wire, Status (*entry)(Session&)) {
  testing::Served served = testing::serve_from_peer(wire, [&](Session& session) {
    try {
      return entry(session);
    } catch (...) {
      std::abort();
    }
  });
  if (served.status) return;
  // Only the catch-all's own Internal error counts: a peer may put those words in a message
  // type, and the refusal that quotes it is right.
  const Error& error = served.status.error();
  bool contained = error.code == ErrorCode::Internal && error.message.find(": unexpected exception") != std::string::npos;
  if (error.message.empty() || contained) std::abort();
}

}  // namespace dockmig::migrate::fuzzing
