#include <gtest/gtest.h>

#include "migrate/image_sync.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

TEST(ReadWantedImage, TakesTheImagesLayers) {
  json message = {{"type", "prepare"},
                  {"image", "registry:5000/tiny:1"},
                  {"image_id", "sha256:aa"},
                  {"image_layers", json::array({"sha256:l1", "sha256:l2"})}};
  PeerMessage fields(message);
  Result<WantedImage> wanted = read_wanted_image(fields);
  ASSERT_TRUE(wanted) << wanted.error().message;
  EXPECT_EQ(wanted->layers, (std::vector<std::string>{"sha256:l1", "sha256:l2"}));
}

TEST(ReadWantedImage, AnOlderSourceSaysNoLayers) {
  json message = {{"type", "prepare"}, {"image", "tiny:1"}, {"image_id", "sha256:aa"}};
  PeerMessage fields(message);
  Result<WantedImage> wanted = read_wanted_image(fields);
  ASSERT_TRUE(wanted);
  EXPECT_TRUE(wanted->layers.empty());
}

TEST(ReadWantedImage, RefusesMoreLayersThanDockerKeeps) {
  json message = {{"type", "prepare"}, {"image", "tiny:1"}, {"image_layers", json::array()}};
  for (int i = 0; i < 129; ++i) message["image_layers"].push_back("sha256:l" + std::to_string(i));
  PeerMessage fields(message);
  EXPECT_FALSE(read_wanted_image(fields));
  json not_strings = {{"type", "prepare"}, {"image", "tiny:1"}, {"image_layers", json::array({1, 2})}};
  PeerMessage bad(not_strings);
  EXPECT_FALSE(read_wanted_image(bad));
}

}  // namespace
}  // namespace dockmig::migrate
