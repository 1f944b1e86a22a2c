// Both ends of the writable layer's transfers over a real session pair: what the source
// deleted or changed after the first transfer is deleted or changed at the destination,
// whatever bytes its name holds and however long the list of deletions.
#include "migrate/tree_sync.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <set>
#include <thread>

#include "migrate/upper_index.h"
#include "unit/migrate/session_pair.h"
#include "transfer/channel.h"
#include "unit/layers/layers_test_support.h"
#include "unit/transfer/transfer_test_support.h"

namespace dockmig::migrate {
namespace {

namespace fs = std::filesystem;
using layers::testing::read_file;
using layers::testing::write_file;

using testing::converse;
using testing::Ends;

layers::UpperSnapshot snapshot_of(const fs::path& dir) {
  Result<layers::UpperSnapshot> snapshot = layers::scan_upper_dir(dir);
  EXPECT_TRUE(snapshot) << snapshot.error().message;
  return snapshot ? std::move(*snapshot) : layers::UpperSnapshot{};
}

class TreeSyncTest : public transfer::testing::ScratchDirTest {
 protected:
  void SetUp() override {
    ScratchDirTest::SetUp();
    source_ = {dir_ / "source/upper", dir_ / "source/work", 3};
    destination_ = {dir_ / "destination/upper", dir_ / "destination/work", 3};
    for (const fs::path& dir : {source_.dir, source_.work, destination_.dir, destination_.work})
      fs::create_directories(dir);
  }

  /// The whole layer, then `change` on the source, then what changed: as a handoff after
  /// presync does. Returns the destination's status; the source's must be fine.
  Status transfer_whole_then_changes(const std::function<void()>& change) {
    Ends ends = converse(
        [&](Session& session) {
          layers::UpperSnapshot baseline = snapshot_of(source_.dir);
          Status sent = send_whole_tree(session, source_, phase_, progress_);
          if (!sent) return sent;
          change();
          return send_tree_changes(session, source_, baseline, snapshot_of(source_.dir), phase_, progress_);
        },
        [&](Session& session) {
          Status applied = receive_synced_tree(session, destination_, /*then_sign=*/true);
          if (applied) applied = receive_synced_tree(session, destination_, /*then_sign=*/true);
          return applied;
        });
    EXPECT_TRUE(ends.source) << ends.source.error().message;
    return ends.destination;
  }

  TreeSyncFiles source_, destination_;  // under dir_, set once SetUp made it
  PhaseReport phase_;
  Progress progress_;
};

TEST_F(TreeSyncTest, NamesThatAreNotUtf8AreDeletedAndChangedAtTheDestination) {
  write_file(source_.dir / "caf\xe9", "deleted after the first transfer");
  write_file(source_.dir / "line\nbreak", "deleted too");
  write_file(source_.dir / "d\xe9j\xe0/inner", "in a deleted directory");
  write_file(source_.dir / "na\xefve", "kept\n");
  const fs::path big = source_.dir / "gro\xdf";
  write_file(big, std::string(kDeltaMinBytes + 4096, 'b'));

  Status applied = transfer_whole_then_changes([&] {
    fs::remove(source_.dir / "caf\xe9");
    fs::remove(source_.dir / "line\nbreak");
    fs::remove_all(source_.dir / "d\xe9j\xe0");
    std::fstream(big, std::ios::in | std::ios::out | std::ios::binary).seekp(1 << 20) << "changed in place";
    write_file(source_.dir / "neu\xfc", "new");
  });

  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_TRUE(fs::exists(source_.work / "deltas" / "gro\xdf")) << "the large file did not travel as a delta";
  EXPECT_FALSE(fs::exists(destination_.dir / "caf\xe9"));
  EXPECT_FALSE(fs::exists(destination_.dir / "line\nbreak"));
  EXPECT_FALSE(fs::exists(destination_.dir / "d\xe9j\xe0"));
  EXPECT_EQ(read_file(destination_.dir / "na\xefve"), "kept\n");
  EXPECT_EQ(read_file(destination_.dir / "gro\xdf"), read_file(big));
  EXPECT_EQ(read_file(destination_.dir / "neu\xfc"), "new");
}

TEST_F(TreeSyncTest, AVolumeTreeCrossesUnderItsOwnHeaderAndBlobNames) {
  source_.tree = destination_.tree = "volume";
  write_file(source_.dir / "counter", "1");
  write_file(source_.dir / "deleted", "gone after presync");

  Status applied = transfer_whole_then_changes([&] {
    write_file(source_.dir / "counter", "22");
    fs::remove(source_.dir / "deleted");
  });

  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(read_file(destination_.dir / "counter"), "22");
  EXPECT_FALSE(fs::exists(destination_.dir / "deleted"));
  EXPECT_TRUE(fs::exists(destination_.work / "volume-changes.zst"));
}

// PostgreSQL's data directory is a volume's root, 0700 and owned by postgres: a tar of the
// volume's contents does not carry that, and CRIU refuses to restore a cwd whose mode
// changed. The mode and owner at the last transfer are what the destination keeps.
TEST_F(TreeSyncTest, TheTreesOwnDirectoryKeepsItsModeAndOwner) {
  if (!layers::testing::running_as_root()) GTEST_SKIP() << "chown needs root";
  source_.tree = destination_.tree = "volume";
  write_file(source_.dir / "PG_VERSION", "15\n");
  fs::permissions(destination_.dir, fs::perms(0755));
  ASSERT_EQ(::chown(source_.dir.c_str(), 101, 104), 0);
  fs::permissions(source_.dir, fs::perms(0750));

  Status applied = transfer_whole_then_changes([&] { fs::permissions(source_.dir, fs::perms(0700)); });

  ASSERT_TRUE(applied) << applied.error().message;
  struct stat st {};
  ASSERT_EQ(::stat(destination_.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 101u);
  EXPECT_EQ(st.st_gid, 104u);
}

std::set<std::string> files_under(const fs::path& dir) {
  std::set<std::string> files;
  for (const fs::directory_entry& entry : fs::recursive_directory_iterator(dir))
    if (entry.is_regular_file()) files.insert(fs::relative(entry.path(), dir).string());
  return files;
}

void rewrite_in_place(const fs::path& file, const std::string& text) {
  std::fstream(file, std::ios::in | std::ios::out | std::ios::binary).seekp(1 << 20) << text;
}

// Catch-up passes: after each, the destination signs only the large files the pass wrote
// (an older source, which does not ask, still gets all of them), and the source keeps the
// others' signatures, so a later pass sends a delta for a file the one before left alone.
class CatchUpSignaturesTest : public TreeSyncTest, public ::testing::WithParamInterface<bool> {};

TEST_P(CatchUpSignaturesTest, ThreePasses) {
  const bool asks = GetParam();
  source_.tree = destination_.tree = "volume";
  source_.changed_signatures_only = asks;
  SignedStamps stamps;
  destination_.signed_stamps = &stamps;
  const fs::path touched = source_.dir / "touched", untouched = source_.dir / "dir/untouched";
  write_file(touched, std::string(kDeltaMinBytes + 4096, 't'));
  write_file(untouched, std::string(kDeltaMinBytes + 4096, 'u'));
  std::set<std::string> signed_after_pass_2, kept_after_pass_2;
  Ends ends = converse(
      [&](Session& session) {
        layers::UpperSnapshot first = snapshot_of(source_.dir);
        Status sent = send_whole_tree(session, source_, phase_, progress_);
        rewrite_in_place(touched, "pass 2");
        write_file(source_.dir / "dir/small", "changes the directory's mtime");
        layers::UpperSnapshot second = snapshot_of(source_.dir);
        if (sent) sent = send_tree_changes(session, source_, first, second, phase_, progress_);
        signed_after_pass_2 = files_under(destination_.work / "signatures");
        kept_after_pass_2 = files_under(source_.work / "signatures");
        rewrite_in_place(untouched, "pass 3");
        if (sent) sent = send_tree_changes(session, source_, second, snapshot_of(source_.dir), phase_, progress_);
        return sent;
      },
      [&](Session& session) {
        Status applied;
        for (int pass = 0; pass < 3 && applied; ++pass) applied = receive_synced_tree(session, destination_, true);
        return applied;
      });

  ASSERT_TRUE(ends.source) << ends.source.error().message;
  ASSERT_TRUE(ends.destination) << ends.destination.error().message;
  std::set<std::string> both = {"dir/untouched", "touched"};
  EXPECT_EQ(signed_after_pass_2, asks ? std::set<std::string>{"touched"} : both);
  EXPECT_EQ(kept_after_pass_2, both);
  EXPECT_TRUE(fs::exists(source_.work / "deltas/dir/untouched")) << "the file left alone in pass 2 went whole";
  EXPECT_EQ(read_file(destination_.dir / "touched"), read_file(touched));
  EXPECT_EQ(read_file(destination_.dir / "dir/untouched"), read_file(untouched));
  EXPECT_EQ(stamps.size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(SourceAsksOrNot, CatchUpSignaturesTest, ::testing::Bool());

TEST_F(TreeSyncTest, AReceiverOfAVolumeRefusesTheWritableLayer) {
  destination_.tree = "volume";
  write_file(source_.dir / "file", "x");
  Ends ends = converse([&](Session& session) { return send_whole_tree(session, source_, phase_, progress_); },
                       [&](Session& session) { return receive_synced_tree(session, destination_, true); });
  ASSERT_FALSE(ends.destination);
  EXPECT_FALSE(fs::exists(destination_.dir / "file"));
}

TEST_F(TreeSyncTest, DeletedListLargerThanAFrameIsApplied) {
  const std::string prefix = "many/" + std::string(200, 'n');
  constexpr int kFiles = 6000;
  for (int i = 0; i < kFiles; ++i) write_file(source_.dir / (prefix + std::to_string(i)), "");
  write_file(source_.dir / "kept", "kept");
  ASSERT_GT(kFiles * prefix.size(), transfer::kMaxFrame);

  Status applied = transfer_whole_then_changes([&] {
    for (int i = 0; i < kFiles; ++i) fs::remove(source_.dir / (prefix + std::to_string(i)));
  });

  ASSERT_TRUE(applied) << applied.error().message;
  ASSERT_TRUE(fs::is_directory(destination_.dir / "many"));
  EXPECT_TRUE(fs::is_empty(destination_.dir / "many"));
  EXPECT_EQ(read_file(destination_.dir / "kept"), "kept");
}

TEST_F(TreeSyncTest, IndexThatClimbsOutOfTheLayerIsRefusedAndTouchesNothing) {
  write_file(dir_ / "destination/outside", "not the container's");
  Ends ends = converse(
      [&](Session& session) {
        Status sent = session.send_message({{"type", "upper"}, {"whole", false}});
        if (sent) sent = session.send_stream("upper-index", phase_, progress_, 3, [](transfer::ByteSink& sink) {
          return write_upper_index({{"../outside"}, {}}, sink);
        });
        return sent;
      },
      [&](Session& session) { return receive_synced_tree(session, destination_, /*then_sign=*/true); });

  ASSERT_FALSE(ends.destination);
  EXPECT_EQ(ends.destination.error().code, ErrorCode::InvalidInput);
  EXPECT_EQ(ends.destination.error().message,
            "protocol: the `upper-index` blob names the path `../outside`, which climbs out of the container's layer");
  EXPECT_EQ(read_file(dir_ / "destination/outside"), "not the container's");
}

}  // namespace
}  // namespace dockmig::migrate
