// Docker image references, split the way dockerd splits them: the only place that knows
// where a registry ends, a tag begins and a digest is.
#pragma once

#include <string>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::docker {

/// [registry[:port]/]repository[:tag][@sha256:digest], e.g.
/// "10.77.9.1:5000/dockmig/tiny:1@sha256:…". Names are kept as written (no "docker.io/library/").
struct ImageReference {
  std::string registry;    // "10.77.9.1:5000", "localhost"; "" = Docker Hub
  std::string repository;  // "dockmig/tiny", "busybox"
  std::string tag;         // "" when none was written
  std::string digest;      // "sha256:" and 64 hex digits; "" when none was written

  /// registry/repository, without tag or digest: POST /images/create's `fromImage`.
  std::string name() const;
  /// What a pull asks for: the digest when there is one (it names one image for good),
  /// else the tag, else "latest" as docker does.
  std::string pull_tag() const;
  /// name[:tag][@digest], as parsed.
  std::string text() const;
};

/// Splits `text`; an InvalidInput error says which part breaks Docker's rules.
Result<ImageReference> parse_image_reference(std::string_view text);

/// `NAME@IMAGE_ID` for an image of containerd's image store run as `reference`: there the
/// id is the digest of what a push sent (manifest or index), so that names the image in
/// NAME's registry even once its tag moved and dockerd lists no RepoDigests for it any
/// more (Docker 28.5, docs/testbed.md). Empty when `reference` or the id is not such.
std::string containerd_store_repo_digest(std::string_view reference, const std::string& image_id);

}  // namespace dockmig::docker
