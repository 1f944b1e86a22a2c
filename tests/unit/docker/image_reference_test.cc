#include "docker/image_reference.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dockmig::docker {
namespace {

const std::string kDigest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

ImageReference parsed(const std::string& text) {
  Result<ImageReference> reference = parse_image_reference(text);
  EXPECT_TRUE(reference) << text << ": " << (reference ? "" : reference.error().message);
  return reference ? *reference : ImageReference{};
}

// A reference, then how it splits and what a pull asks for.
struct Split {
  std::string text, registry, repository, tag, digest, pull_tag;
};

TEST(ParseImageReference, SplitsRegistryPathTagAndDigestAsDockerDoes) {
  std::vector<Split> cases{
      {"busybox", "", "busybox", "", "", "latest"},
      {"10.77.9.1:5000/dockmig/tiny", "10.77.9.1:5000", "dockmig/tiny", "", "", "latest"},  // a port, not a tag
      {"10.77.9.1:5000/dockmig/tiny:1", "10.77.9.1:5000", "dockmig/tiny", "1", "", "1"},
      {"10.77.9.1:5000/dockmig/tiny@" + kDigest, "10.77.9.1:5000", "dockmig/tiny", "", kDigest, kDigest},
      {"busybox:1.36@" + kDigest, "", "busybox", "1.36", kDigest, kDigest},  // the digest wins
  };
  for (const Split& expected : cases) {
    ImageReference reference = parsed(expected.text);
    EXPECT_EQ(reference.registry, expected.registry) << expected.text;
    EXPECT_EQ(reference.repository, expected.repository) << expected.text;
    EXPECT_EQ(reference.tag, expected.tag) << expected.text;
    EXPECT_EQ(reference.digest, expected.digest) << expected.text;
    EXPECT_EQ(reference.pull_tag(), expected.pull_tag) << expected.text;
    EXPECT_EQ(reference.name(), expected.registry.empty() ? expected.repository
                                                          : expected.registry + "/" + expected.repository);
  }
}

TEST(ParseImageReference, FirstComponentIsARegistryOnlyByDockersRule) {
  EXPECT_EQ(parsed("localhost/app").registry, "localhost");
  EXPECT_EQ(parsed("registry.example.com/a/b/c:v1.2-rc_3").registry, "registry.example.com");
  EXPECT_EQ(parsed("Registry/app").registry, "Registry");
  ImageReference hub = parsed("library/busybox:1.36");
  EXPECT_EQ(hub.registry, "");
  EXPECT_EQ(hub.repository, "library/busybox");
}

TEST(ParseImageReference, TextRoundTrips) {
  std::vector<std::string> texts{"busybox", "a/b:c", "localhost:5000/x_y__z/a-b---c.d:t", "r.io/app@" + kDigest};
  for (const std::string& text : texts)
    EXPECT_EQ(parsed(text).text(), text);
}

TEST(ParseImageReference, RefusesWhatDockerRefuses) {
  std::vector<std::string> texts{"", "UPPER", "a//b", "a:", ":tag", "a@sha256:12", "a@" + kDigest.substr(0, 70) + "G",
                                 "a@md5:0123", "-a", "a/../b", "a b", "reg:99999999/a", "a..b", "a___b", "a/-b",
                                 "reg..io/a", "-reg.io/a", "a:-tag", "a:" + std::string(129, 't'),
                                 std::string(256, 'a'), "@" + kDigest};
  for (const std::string& text : texts)
    EXPECT_FALSE(parse_image_reference(text)) << text;
}

TEST(ParseImageReference, ErrorSaysWhichPartIsWrong) {
  Result<ImageReference> bad_tag = parse_image_reference("app:-x");
  ASSERT_FALSE(bad_tag);
  EXPECT_NE(bad_tag.error().message.find("tag"), std::string::npos) << bad_tag.error().message;
  Result<ImageReference> bad_digest = parse_image_reference("app@sha256:12");
  ASSERT_FALSE(bad_digest);
  EXPECT_NE(bad_digest.error().message.find("digest"), std::string::npos) << bad_digest.error().message;
}

TEST(ContainerdStoreRepoDigest, NamesTheIdInTheReferencesRepository) {
  EXPECT_EQ(containerd_store_repo_digest("10.77.9.1:5000/dockmig/app:moving", kDigest),
            "10.77.9.1:5000/dockmig/app@" + kDigest);
  EXPECT_EQ(containerd_store_repo_digest("r.io/app:1@" + kDigest, kDigest), "r.io/app@" + kDigest);
}

TEST(ContainerdStoreRepoDigest, EmptyWithoutAReferenceOrADigestId) {
  EXPECT_EQ(containerd_store_repo_digest("UPPER:1", kDigest), "");
  EXPECT_EQ(containerd_store_repo_digest("r.io/app:1", "sha256:12"), "");
  EXPECT_EQ(containerd_store_repo_digest("r.io/app:1", ""), "");
}

}  // namespace
}  // namespace dockmig::docker
