#include "docker/writable_layer.h"

#include <gtest/gtest.h>

namespace dockmig::docker {
namespace {

using nlohmann::json;

constexpr const char* kRoot = "/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots";

TEST(WritableDirOfMount, TakesTheUpperdirOfAnOverlay) {
  std::string out = std::string("mount -t overlay overlay / -o workdir=") + kRoot + "/11/work,upperdir=" + kRoot +
                    "/11/fs,lowerdir=" + kRoot + "/10/fs:" + kRoot + "/1/fs,index=off\n";
  EXPECT_EQ(writable_dir_of_mount(out), std::string(kRoot) + "/11/fs");
}

TEST(WritableDirOfMount, TakesTheSourceOfABindMount) {
  EXPECT_EQ(writable_dir_of_mount(std::string("mount -t bind ") + kRoot + "/3/fs / -o rbind,rw\n"),
            std::string(kRoot) + "/3/fs");
}

TEST(WritableDirOfMount, FindsNothingInOtherOutput) {
  EXPECT_EQ(writable_dir_of_mount(""), "");
  EXPECT_EQ(writable_dir_of_mount("ctr: snapshot does not exist: not found\n"), "");
  EXPECT_EQ(writable_dir_of_mount("mount -t overlay overlay / -o lowerdir=/a:/b\n"), "");  // a view: read-only
  EXPECT_EQ(writable_dir_of_mount("mount -t tmpfs tmpfs / -o size=1m\n"), "");
}

TEST(ContainerdStore, IsToldByTheDriverType) {
  EXPECT_TRUE(is_containerd_store(
      {{"Driver", "overlayfs"}, {"DriverStatus", json::array({json::array({"driver-type", "io.containerd.snapshotter.v1"})})}}));
  EXPECT_FALSE(is_containerd_store(
      {{"Driver", "overlay2"}, {"DriverStatus", json::array({json::array({"Backing Filesystem", "extfs"})})}}));
  EXPECT_FALSE(is_containerd_store({{"Driver", "overlay2"}, {"DriverStatus", nullptr}}));
}

TEST(StorageDriver, Overlay2AndTheOverlayfsSnapshotterAreSupported) {
  EXPECT_TRUE(is_supported_storage_driver("overlay2"));
  EXPECT_TRUE(is_supported_storage_driver("overlayfs"));
  EXPECT_FALSE(is_supported_storage_driver("vfs"));
  EXPECT_FALSE(is_supported_storage_driver("native"));
}

TEST(WritableLayerDir, Overlay2GivesItsUpperDir) {
  ContainerInfo container;
  container.id = "c1";
  container.storage_driver = "overlay2";
  container.upper_dir = "/var/lib/docker/overlay2/abc/diff";
  DaemonInfo daemon;
  daemon.storage_driver = "overlay2";
  Result<std::string> dir = writable_layer_dir(daemon, container);
  ASSERT_TRUE(dir);
  EXPECT_EQ(*dir, container.upper_dir);
  container.storage_driver = "vfs";
  EXPECT_FALSE(writable_layer_dir(daemon, container));
}

TEST(DaemonInfo, NamesItsStore) {
  DaemonInfo overlay2;
  overlay2.storage_driver = "overlay2";
  EXPECT_EQ(overlay2.store_name(), "overlay2 graph driver");
  DaemonInfo containerd;
  containerd.storage_driver = "overlayfs";
  containerd.containerd = ContainerdStore{"/run/containerd/containerd.sock", "moby"};
  EXPECT_EQ(containerd.store_name(), "containerd image store (overlayfs snapshotter)");
}

}  // namespace
}  // namespace dockmig::docker
