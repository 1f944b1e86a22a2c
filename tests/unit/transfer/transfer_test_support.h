// What the transfer tests share: a loopback connection pair, an in-memory sink, and a
// fixture with a scratch directory of its own.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "transfer/byte_stream.h"
#include "transfer/connection.h"

namespace dockmig::transfer::testing {

/// A connected loopback pair: {client, server}. connect() completes against the listen
/// backlog, so no thread is needed to set it up.
inline std::pair<Connection, Connection> connected_pair() {
  using std::chrono::milliseconds;
  Result<Listener> listener = Listener::listen("127.0.0.1", 0);
  EXPECT_TRUE(listener) << listener.error().message;
  Result<Connection> client = Connection::connect("127.0.0.1", listener->port(), milliseconds(5000));
  EXPECT_TRUE(client) << client.error().message;
  Result<std::optional<Connection>> server = listener->accept_for(milliseconds(5000));
  EXPECT_TRUE(server && server->has_value());
  return {std::move(*client), std::move(**server)};
}

/// `size` bytes that do not compress, the same for the same seed.
inline std::vector<std::byte> random_bytes(size_t size, unsigned seed = 1234) {
  std::mt19937 random(seed);
  std::vector<std::byte> bytes(size);
  for (std::byte& b : bytes) b = std::byte(random() & 0xff);
  return bytes;
}

class VectorSink : public ByteSink {
 public:
  Status write(std::span<const std::byte> data) override {
    bytes.insert(bytes.end(), data.begin(), data.end());
    return {};
  }
  Status finish() override {
    ++finished;
    return {};
  }
  std::vector<std::byte> bytes;
  int finished = 0;
};

/// A test with `dir_`, a directory of its own, removed afterwards.
class ScratchDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dockmig-test-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
};

}  // namespace dockmig::transfer::testing
