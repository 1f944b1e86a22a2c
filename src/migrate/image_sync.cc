#include "migrate/image_sync.h"

#include <chrono>

#include "migrate/peer_message.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {

Result<std::string> supply_image(Session& session, const docker::EngineClient& engine, const std::string& image,
                                 PhaseReport& phase, Progress& progress, int zstd_level) {
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
  if (Status read = fields.status(); !read) return std::move(read.error());
  if (source == "peer") {
    Status sent = session.send_stream("image", phase, progress, zstd_level,
                                      [&](transfer::ByteSink& sink) { return engine.save_image(image, sink); });
    if (!sent) return std::move(sent.error());
  }
  return source;
}

namespace {

// The id `image` names here; "" when it names none.
std::string local_image_id(const docker::EngineClient& engine, const std::string& image) {
  Result<nlohmann::json> found = engine.inspect_image(image);
  if (!found) return "";
  auto id = found->find("Id");
  return id != found->end() && id->is_string() ? id->get<std::string>() : "";
}

bool have_image(const docker::EngineClient& engine, const std::string& image, const std::string& image_id) {
  std::string here = local_image_id(engine, image);
  return !here.empty() && (image_id.empty() || here == image_id);
}

}  // namespace

Status fetch_image(Session& session, const docker::EngineClient& engine, const std::string& image,
                   const std::filesystem::path& staging, const std::string& image_id) {
  std::string source = "cache";
  if (!have_image(engine, image, image_id)) {
    source = "registry";
    auto last_word = std::chrono::steady_clock::now();
    Status pulled = engine.pull_image(image, [&](const nlohmann::json&) {
      auto now = std::chrono::steady_clock::now();
      if (now - last_word < std::chrono::seconds(5)) return;
      last_word = now;
      session.send_message({{"type", "pulling"}}).ignore("the source notices a lost link on its next read");
    });
    if (!pulled || !have_image(engine, image, image_id)) source = "peer";
  }
  Status sent = session.send_message({{"type", "image"}, {"source", source}});
  if (!sent || source != "peer") return sent;
  std::filesystem::path blob = staging / "image.zst";
  Status received = session.receive_blob_to_file("image", blob);
  if (!received) return received;
  Result<transfer::FileSource> file = transfer::FileSource::open(blob);
  if (!file) return std::move(file.error());
  transfer::ZstdDecompressSource tar(*file);
  Status loaded = engine.load_image(tar);
  std::error_code ignored;
  std::filesystem::remove(blob, ignored);
  if (!loaded || have_image(engine, image, image_id)) return loaded;
  return make_error(ErrorCode::Conflict,
                    "`" + image + "` is " + local_image_id(engine, image) + " here even as the source sent it, but the "
                        "container runs " + image_id + ": the tag moved at the source after the container was made",
                    "give the container's image a tag of its own at the source (docker tag " + image_id + " NAME:TAG), "
                    "recreate the container from it, and migrate again");
}

}  // namespace dockmig::migrate
