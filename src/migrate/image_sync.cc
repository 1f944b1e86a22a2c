#include "migrate/image_sync.h"

#include <chrono>
#include <optional>

#include <spdlog/spdlog.h>

#include "docker/image_reference.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {

Result<std::string> supply_image(Session& session, const docker::EngineClient& engine, const std::string& image,
                                 PhaseReport& phase, Progress& progress, int zstd_level, bool* destination_attaches) {
  // A destination pulling a large image over a slow link says it is still at it, so
  // that this side's read timeout measures silence, not the pull's length.
  Result<nlohmann::json> answer = session.receive_message();
  while (answer && message_type(*answer) == "pulling") answer = session.receive_message();
  if (!answer) return std::move(answer.error());
  PeerMessage fields(*answer);
  if (fields.type() != "image")
    return make_error(ErrorCode::InvalidInput, "protocol: expected an `image` message, got `" +
                                                   message_type(*answer) + "`");
  std::string source = fields.string("source");
  bool attaches = fields.boolean_or("attached_volumes", false);
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (destination_attaches != nullptr) *destination_attaches = attaches;
  if (source == "peer") {
    Status sent = session.send_stream("image", phase, progress, zstd_level,
                                      [&](transfer::ByteSink& sink) { return engine.save_image(image, sink); });
    if (!sent) return std::move(sent.error());
  }
  return source;
}

namespace {

// dockerd lists one repo digest per repository an image was pulled from or pushed to; a
// list longer than this did not come from it.
constexpr size_t kMaxRepoDigests = 64;

// Docker keeps at most 127 layers in an image; a longer list did not come from it.
constexpr size_t kMaxImageLayers = 128;

// The id `image` names here; "" when it names none.
std::string local_image_id(const docker::EngineClient& engine, const std::string& image) {
  Result<nlohmann::json> found = engine.inspect_image(image);
  if (!found) return "";
  auto id = found->find("Id");
  return id != found->end() && id->is_string() ? id->get<std::string>() : "";
}

std::vector<std::string> layers_of(const nlohmann::json& image) {
  std::vector<std::string> layers;
  auto rootfs = image.find("RootFS");
  if (rootfs == image.end() || !rootfs->is_object()) return layers;
  auto listed = rootfs->find("Layers");
  if (listed == rootfs->end() || !listed->is_array()) return layers;
  for (const nlohmann::json& layer : *listed)
    if (layer.is_string()) layers.push_back(layer.get<std::string>());
  return layers;
}

// Whether `reference` names the wanted image here: by its id, or, in an image store that
// names images otherwise (WantedImage::layers), by the same layers.
bool names_image(const docker::EngineClient& engine, const std::string& reference, const WantedImage& wanted) {
  Result<nlohmann::json> found = engine.inspect_image(reference);
  if (!found || !found->is_object()) return false;
  auto id = found->find("Id");
  if (wanted.id.empty() || (id != found->end() && *id == wanted.id)) return true;
  return !wanted.layers.empty() && layers_of(*found) == wanted.layers;
}

// A pull that tells the source every 5 s that it is still at it.
Status pull_keeping_source_posted(Session& session, const docker::EngineClient& engine, const std::string& reference) {
  auto last_word = std::chrono::steady_clock::now();
  return engine.pull_image(reference, [&](const nlohmann::json&) {
    auto now = std::chrono::steady_clock::now();
    if (now - last_word < std::chrono::seconds(5)) return;
    last_word = now;
    session.send_message({{"type", "pulling"}}).ignore("the source notices a lost link on its next read");
  });
}

// Pulls by the container's reference, then by each repo digest: a tag that moved in the
// registry too still has the source's image under its digest. Returns the reference that
// names the wanted image here after a pull, or nullopt when no pull gave it.
std::optional<std::string> pull_wanted(Session& session, const docker::EngineClient& engine,
                                       const WantedImage& wanted) {
  std::vector<std::string> references{wanted.reference};
  if (!wanted.id.empty())
    for (const std::string& digest : wanted.repo_digests)
      if (digest != wanted.reference) references.push_back(digest);
  for (const std::string& reference : references) {
    Status pulled = pull_keeping_source_posted(session, engine, reference);
    if (!pulled) spdlog::info("pulling {}: {}", reference, pulled.error().message);
    if (pulled && names_image(engine, reference, wanted)) return reference;
  }
  return std::nullopt;
}

// An untagged image here that is the wanted one by its layers: a copy saved by id and
// loaded into the other image store, which names it by an id of its own.
std::optional<std::string> untagged_with_layers(const docker::EngineClient& engine, const WantedImage& wanted) {
  if (wanted.layers.empty()) return std::nullopt;
  Result<nlohmann::json> untagged = engine.get_json("/images/json?filters=" + docker::url_encode(R"({"dangling":["true"]})"));
  if (!untagged || !untagged->is_array()) return std::nullopt;
  for (const nlohmann::json& image : *untagged) {
    std::string id = image.is_object() ? image.value("Id", "") : "";
    if (!id.empty() && names_image(engine, id, wanted)) return id;
  }
  return std::nullopt;
}

// After a `docker load` of the source's copy: a copy saved by digest reference or by id is
// loaded without any name, so the id is what names it, in the other image store the id
// that store gave it.
Result<std::string> name_of_loaded(const docker::EngineClient& engine, const WantedImage& wanted) {
  if (names_image(engine, wanted.reference, wanted)) return wanted.reference;
  if (!wanted.id.empty() && names_image(engine, wanted.id, wanted)) return wanted.id;
  if (std::optional<std::string> loaded = untagged_with_layers(engine, wanted)) return *loaded;
  return make_error(ErrorCode::Conflict,
                    "`" + wanted.reference + "` is " + local_image_id(engine, wanted.reference) +
                        " here even as the source sent it, but the container runs " + wanted.id +
                        ": the tag moved at the source after the container was made",
                    "give the container's image a tag of its own at the source (docker tag " + wanted.id +
                        " NAME:TAG), recreate the container from it, and migrate again");
}

}  // namespace

Result<WantedImage> read_wanted_image(PeerMessage& fields) {
  WantedImage wanted{fields.string("image"), fields.string_or("image_id", ""),
                     fields.strings_or_empty("repo_digests"), fields.strings_or_empty("image_layers")};
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (wanted.reference.empty())
    return make_error(ErrorCode::InvalidInput, "protocol: " + fields.what() + " names no image");
  if (wanted.repo_digests.size() > kMaxRepoDigests)
    return make_error(ErrorCode::InvalidInput, "protocol: `repo_digests` of " + fields.what() + " has " +
                                                   std::to_string(wanted.repo_digests.size()) + " entries; at most " +
                                                   std::to_string(kMaxRepoDigests) + " are taken");
  if (wanted.layers.size() > kMaxImageLayers)
    return make_error(ErrorCode::InvalidInput, "protocol: `image_layers` of " + fields.what() + " has " +
                                                   std::to_string(wanted.layers.size()) + " entries; at most " +
                                                   std::to_string(kMaxImageLayers) + " are taken");
  for (size_t i = 0; i < wanted.repo_digests.size(); ++i) {
    Result<docker::ImageReference> digest = docker::parse_image_reference(wanted.repo_digests[i]);
    if (!digest || digest->digest.empty())
      return make_error(ErrorCode::InvalidInput, "protocol: `repo_digests[" + std::to_string(i) + "]` of " +
                                                     fields.what() + " is not NAME@sha256:DIGEST");
  }
  return wanted;
}

Result<std::string> fetch_image(Session& session, const docker::EngineClient& engine, const WantedImage& wanted,
                                const std::filesystem::path& staging) {
  std::string source = "cache";
  std::optional<std::string> here;
  if (names_image(engine, wanted.reference, wanted)) {
    here = wanted.reference;
  } else {
    source = "registry";
    here = pull_wanted(session, engine, wanted);
    if (!here) source = "peer";
  }
  Status sent = session.send_message({{"type", "image"}, {"source", source}, {"attached_volumes", true}});
  if (!sent) return std::move(sent.error());
  if (here) return *here;
  std::filesystem::path blob = staging / "image.zst";
  Status received = session.receive_blob_to_file("image", blob);
  if (!received) return std::move(received.error());
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource tar(*file);
  Status loaded = engine.load_image(tar);
  std::error_code ignored;
  std::filesystem::remove(blob, ignored);
  if (!loaded) return std::move(loaded.error());
  return name_of_loaded(engine, wanted);
}

}  // namespace dockmig::migrate
