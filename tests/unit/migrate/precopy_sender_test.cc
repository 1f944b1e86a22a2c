// The source's side of the frozen memory, against a destination played from bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <functional>

#include "migrate/memory_sync.h"
#include "unit/migrate/peer_wire.h"

namespace dockmig::migrate {
namespace {

using testing::Bytes;
using testing::frames_of;
using testing::serve_from_peer;
using testing::Served;

class FrozenMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) / ("frozen-memory-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    std::string pages(2 * memory::kPageSize, 'a');
    std::fill(pages.begin() + memory::kPageSize, pages.end(), 'b');
    std::ofstream(dir_ / "pages-1.img", std::ios::binary) << pages;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // The source, set up by `prepare`, sends its frozen memory to a destination that answers
  // `wire`; what it counted goes into `report`.
  Served send_frozen_with(const Bytes& wire, MemoryReport& report,
                          const std::function<void(PrecopySender&)>& prepare = {}) {
    return serve_from_peer(wire, [&](Session& session) {
      PrecopySender sender(session, 3);
      if (prepare) prepare(sender);
      PhaseReport phase;
      Progress quiet;
      Status sent = sender.skip_rounds();
      if (sent) sent = sender.send_frozen(dir_, phase, quiet, report);
      sender.count_returned(report);
      sender.count_coded(report);
      return sent;
    });
  }
  Served send_frozen_to(std::initializer_list<std::string_view> answers) {
    Bytes wire;
    for (std::string_view answer : answers) testing::append_message(wire, answer);
    MemoryReport report;
    return send_frozen_with(wire, report);
  }

  std::filesystem::path dir_;
};

size_t resend_blobs(const Bytes& reply) {
  size_t count = 0;
  for (const testing::ReplyFrame& frame : frames_of(reply))
    if (frame.payload.find(R"("name":"memory-resend")") != std::string::npos) ++count;
  return count;
}

TEST_F(FrozenMemoryTest, PagesAskedAgainInSeveralBatchesAreEachSent) {
  Served served = send_frozen_to({R"({"type":"memory-missing","indices":[0]})",
                                  R"({"type":"memory-missing","indices":[1]})", R"({"type":"memory-assembled"})"});
  ASSERT_TRUE(served.status) << served.status.error().describe();
  EXPECT_EQ(resend_blobs(served.reply), 2u);
}

TEST_F(FrozenMemoryTest, ADestinationThatKeepsAskingAgainIsRefused) {
  Served served = send_frozen_to({R"({"type":"memory-missing","indices":[0]})",
                                  R"({"type":"memory-missing","indices":[1]})",
                                  R"({"type":"memory-missing","indices":[0]})"});
  ASSERT_FALSE(served.status);
  EXPECT_EQ(served.status.error().code, ErrorCode::InvalidInput);
  EXPECT_NE(served.status.error().message.find("more pages than were sent"), std::string::npos)
      << served.status.error().message;
  EXPECT_EQ(resend_blobs(served.reply), 2u);
}

TEST_F(FrozenMemoryTest, APageNeverSentIsRefused) {
  Served served = send_frozen_to({R"({"type":"memory-missing","indices":[7]})"});
  ASSERT_FALSE(served.status);
  EXPECT_NE(served.status.error().message.find("never sent"), std::string::npos) << served.status.error().message;
}

TEST_F(FrozenMemoryTest, PagesTheDestinationHeldFromItsReturnCacheCrossAsReferences) {
  Bytes wire;
  testing::append_message(wire, R"({"type":"memory-missing","indices":[0]})");
  testing::append_message(wire, R"({"type":"memory-assembled"})");
  std::vector<std::byte> page_a(memory::kPageSize, std::byte{'a'}), page_z(memory::kPageSize, std::byte{'z'});
  MemoryReport report;
  Served served = send_frozen_with(wire, report, [&](PrecopySender& sender) {
    // Store entries 0 and 1: the checkpoint has the first, not the second.
    sender.hold_returned({memory::hash_page(memory::PageView(page_a.data(), memory::kPageSize)),
                          memory::hash_page(memory::PageView(page_z.data(), memory::kPageSize))});
  });
  ASSERT_TRUE(served.status) << served.status.error().describe();
  EXPECT_EQ(report.frozen_pages_known, 1u);
  EXPECT_EQ(report.frozen_pages_sent, 1u);
  EXPECT_EQ(report.return_cache_pages_offered, 2u);
  EXPECT_EQ(report.return_cache_pages_used, 1u);
  EXPECT_EQ(resend_blobs(served.reply), 1u);  // a damaged seeded page is sent from the checkpoint
}

// Without rounds the progress line's total is the images less what the destination holds,
// and about what the memory blob then carries.
TEST_F(FrozenMemoryTest, ExpectedBytesAreTheImagesLessTheHeldPages) {
  Bytes wire;
  testing::append_message(wire, R"({"type":"memory-assembled"})");
  std::vector<std::byte> page_a(memory::kPageSize, std::byte{'a'});
  uint64_t nothing_held = 0, one_held = 0;
  PhaseReport phase;
  Served served = serve_from_peer(wire, [&](Session& session) {
    PrecopySender sender(session, 3);
    nothing_held = sender.frozen_bytes_expected(dir_);
    sender.hold_returned({memory::hash_page(memory::PageView(page_a.data(), memory::kPageSize))});
    one_held = sender.frozen_bytes_expected(dir_);
    Progress quiet;
    MemoryReport report;
    Status sent = sender.skip_rounds();
    return sent ? sender.send_frozen(dir_, phase, quiet, report) : sent;
  });
  ASSERT_TRUE(served.status) << served.status.error().describe();
  EXPECT_EQ(nothing_held, 2 * memory::kPageSize);
  EXPECT_EQ(one_held, memory::kPageSize);
  EXPECT_GE(phase.raw_bytes, one_held);  // the one page 'b', and a few bytes of records
  EXPECT_LT(phase.raw_bytes, one_held + 64);
}

// The source's coded frozen memory, as a destination reads it: the same image, exactly.
TEST_F(FrozenMemoryTest, CodedPagesAssembleExactlyAtTheDestination) {
  std::string image(3 * memory::kPageSize, 'c');
  for (uint32_t i = 0, sum = 1 << 20; i < memory::kPageSize / 4; ++i, sum += 77 + i % 13)
    std::memcpy(image.data() + 4 * i, &sum, 4);  // the first page: growing words
  std::fill(image.begin() + memory::kPageSize, image.begin() + 2 * memory::kPageSize, '\0');
  std::ofstream(dir_ / "pages-1.img", std::ios::binary | std::ios::trunc) << image;
  Bytes answer;
  testing::append_message(answer, R"({"type":"memory-assembled"})");
  MemoryReport report;
  Served source = send_frozen_with(answer, report, [](PrecopySender& sender) { sender.code_pages(); });
  ASSERT_TRUE(source.status) << source.status.error().describe();
  EXPECT_EQ(report.frozen_pages_sent, 2u);
  EXPECT_EQ(report.pages_word_differences, 1u);

  Bytes wire;
  for (const testing::ReplyFrame& frame : frames_of(source.reply))
    testing::append_frame(wire, frame.kind, std::as_bytes(std::span(frame.payload)));
  std::filesystem::path at = dir_ / "destination";
  std::filesystem::create_directories(at / "images");
  Served destination = serve_from_peer(wire, [&](Session& session) -> Status {
    Result<MemoryReceiver> memory = MemoryReceiver::create(at);
    if (!memory) return std::move(memory.error());
    Result<bool> follows = memory->receive_rounds(session);
    if (!follows) return std::move(follows.error());
    return memory->receive_frozen(session, at / "images");
  });
  ASSERT_TRUE(destination.status) << destination.status.error().describe();
  std::ifstream assembled(at / "images" / "pages-1.img", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(assembled), {}), image);
}

}  // namespace
}  // namespace dockmig::migrate
