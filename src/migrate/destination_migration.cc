// The destination side of a live migration. Every blob is streamed to a staging file and
// applied only once its checksum has been verified, so a corrupted or cut transfer never
// touches the container. Until the source says "commit", any failure or a lost connection
// removes the container made here: the source then resumes its own, and there is never a
// second running copy.
#include "migrate/destination_migration.h"

#include <fstream>
#include <regex>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/exception_boundary.h"
#include "checkpoint/docker_checkpoint.h"
#include "checkpoint/dump.h"
#include "checkpoint/lazy_page_server.h"
#include "checkpoint/lazy_pages.h"
#include "checkpoint/lent_runc_config.h"
#include "checkpoint/masked_mounts.h"
#include "docker/container_info.h"
#include "docker/daemon_settings.h"
#include "checkpoint/early_restore.h"
#include "docker/restore_support.h"
#include "docker/writable_layer.h"
#include "faults/fault_points.h"
#include "layers/upper_tar.h"
#include "migrate/attached_volumes.h"
#include "migrate/bind_copies.h"
#include "migrate/image_sync.h"
#include "migrate/link_resume.h"
#include "migrate/memory_sync.h"
#include "migrate/network_setup.h"
#include "migrate/ownership.h"
#include "migrate/peer_message.h"
#include "migrate/postcopy.h"
#include "migrate/restore_choice.h"
#include "migrate/tree_sync.h"
#include "migrate/volume_sync.h"
#include "migrate/warm_store.h"
#include "transfer/file_stream.h"
#include "transfer/zstd_stream.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

constexpr std::chrono::milliseconds kNoFillLimit = std::chrono::hours(24);

bool valid_container_name(const std::string& name) {
  static const std::regex kName("[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}");
  return std::regex_match(name, kName);
}

// A Docker container id: 64 lowercase hex digits.
bool valid_container_id(const std::string& id) {
  static const std::regex kId("[0-9a-f]{64}");
  return std::regex_match(id, kId);
}

bool valid_migration_id(const std::string& id) {
  static const std::regex kId("[0-9a-f]{16}");
  return std::regex_match(id, kId);
}

// A preparation's writable layer, kept as its verified blob until the handoff.
std::filesystem::path warm_dir(const DestinationContext& context, const std::string& warm_id) {
  return context.staging_root / "warm" / warm_id;
}

// A preparation's time-to-live here: the shorter of this agent's and its source's, which
// the warm message gave and serve_warm kept in the dir's `ttl` file.
// A preparation still arriving (its `upper` is there until serve_warm ends) may take
// longer than a short TTL: it gets the default one, after which only a crash's leftover
// can still be there.
std::chrono::seconds warm_ttl(const DestinationContext& context, const std::filesystem::path& dir) {
  std::error_code ec;
  if (std::filesystem::exists(dir / "upper", ec)) return std::max(context.prepare_ttl, kWarmTtl);
  std::ifstream in(dir / "ttl");
  long long source_ttl = 0;
  if (in >> source_ttl && source_ttl > 0) return std::min(context.prepare_ttl, std::chrono::seconds(source_ttl));
  return context.prepare_ttl;
}

void keep_warm_ttl(const std::filesystem::path& dir, uint64_t source_ttl) {
  if (source_ttl == 0) return;
  std::ofstream(dir / "ttl") << source_ttl << "\n";
}

// Serves a preparation: the image, and for a container its writable layer, which is
// unpacked only to sign its large files and then kept as the blob.
Status serve_warm(Session& session, const DestinationContext& context, const json& request) {
  PeerMessage fields(request);
  std::string warm_id = fields.string_or("warm", "");
  Result<WantedImage> image = read_wanted_image(fields);
  if (!image) return std::move(image.error());
  if (!(warm_id.empty() || valid_migration_id(warm_id)))
    return make_error(ErrorCode::InvalidInput, "malformed warm message from the source");
  drop_expired_preparations(context);
  std::filesystem::path dir = warm_dir(context, warm_id.empty() ? "image-only" : warm_id);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir / "upper", ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
  Result<std::string> fetched = fetch_image(session, context.engine, *image, dir);
  Status done = fetched ? Status() : Status(std::move(fetched.error()));
  if (done && !warm_id.empty()) done = receive_synced_tree(session, {dir / "upper", dir, 3}, /*then_sign=*/true);
  std::filesystem::remove_all(dir / "upper", ec);
  if (!done || warm_id.empty()) std::filesystem::remove_all(dir, ec);
  else keep_warm_ttl(dir, fields.count_or("ttl_seconds", 0));
  return done;
}

json criu_share_message(const checkpoint::CriuLogTimes& log, std::chrono::system_clock::time_point call_started,
                        std::chrono::system_clock::time_point call_ended) {
  json share = {{"seconds", log.seconds}, {"hooks_seconds", log.hooks_seconds}};
  if (std::optional<checkpoint::AroundCriu> around = checkpoint::around_criu(log, call_started, call_ended)) {
    share["docker_before_seconds"] = around->before_seconds;
    share["docker_after_seconds"] = around->after_seconds;
  }
  return share;
}

class DestinationMigration {
 public:
  DestinationMigration(Session& session, const DestinationContext& context)
      : session_(session), context_(context) {}

  // An exception from a step fails the migration like an error does: the container made
  // here is removed.
  Status run(const json& prepare) {
    enter("prepare");
    Status step = base::contain_exceptions("the migration from " + session_.peer(), [&] { return run_steps(prepare); });
    std::error_code ignored;
    std::filesystem::remove_all(staging_, ignored);
    if (!pages_dir_.empty()) std::filesystem::remove_all(pages_dir_, ignored);
    if (!warm_id_.empty()) std::filesystem::remove_all(warm_dir(context_, warm_id_), ignored);
    early_.reset();  // a restore still waiting for its memory fails before anything is undone
    release_arrivals();
    IncomingEnd end = step || committed_ ? IncomingEnd::Committed : abandon();
    retire_page_server();
    if (context_.watch) context_.watch->ended(phase_, end);
    return step;
  }

 private:
  Status run_steps(const json& prepare) {
    Status step = accept(prepare);
    if (step) step = at("image", &DestinationMigration::ensure_image);
    if (step) step = at("create", &DestinationMigration::create);
    if (step) step = at("presync", &DestinationMigration::presync);
    if (step) step = at("finalsync", &DestinationMigration::final_sync);
    if (step && !fleet_source_.empty()) step = at("swap", &DestinationMigration::take_over);
    if (step) step = at("restore", &DestinationMigration::restore);
    if (step) step = at("commit", &DestinationMigration::commit);
    return step;
  }

  // Each step after the prepare begins at a fault point of its name.
  Status at(const char* name, Status (DestinationMigration::*step)()) {
    enter(name);
    DOCKMIG_FAULT_POINT(std::string("destination.before-") + name, [this] { session_.cut(); });
    return (this->*step)();
  }

  void enter(const char* phase) {
    if (context_.watch) context_.watch->phase_changed(phase_, phase);
    phase_ = phase;
  }

  Status accept(const json& prepare) {
    PeerMessage fields(prepare);
    id_ = fields.string("migration");
    name_ = fields.string("name");
    checkpoint_ = fields.string("checkpoint");
    warm_id_ = fields.string_or("warm", "");
    create_request_ = fields.object("create");
    source_criu_ = fields.string_or("criu_version", "");
    source_docker_ = fields.string_or("docker_version", "");
    std::optional<TcpMode> tcp = parse_tcp_mode(fields.string_or("tcp", "close"));
    if (!tcp) return make_error(ErrorCode::InvalidInput, "the source's prepare asks for an unknown `tcp` mode");
    tcp_ = *tcp;
    std::optional<RestoreMode> restore = parse_restore_mode(fields.string_or("restore", "eager"));
    if (!restore || *restore == RestoreMode::Auto)  // a source sends auto as lazy with lazy_min_bytes
      return make_error(ErrorCode::InvalidInput, "the source's prepare asks for an unknown `restore` mode");
    choose_restore_mode(*restore);
    postcopy_asked_ = fields.boolean_or("postcopy", false);
    lazy_min_bytes_ = fields.count_or("lazy_min_bytes", 0);
    source_takes_held_pages_ = fields.boolean_or("return_cache", false);
    source_sends_volume_passes_ = fields.boolean_or("volume_passes", false);
    source_takes_volume_return_ = fields.boolean_or("volume_return", false);
    resume_token_ = fields.string_or("resume", "");
    source_container_ = fields.string_or("source_container", "");
    const json& expected = fields.object_or_empty("expected");
    Result<WantedImage> image = read_wanted_image(fields);
    if (!image) return std::move(image.error());
    image_ = std::move(*image);
    Result<std::vector<VolumeSpec>> volumes = read_volume_specs(fields);
    if (!volumes) return std::move(volumes.error());
    Result<std::vector<AttachedVolume>> attached = read_attached_volumes(fields);
    if (!attached) return std::move(attached.error());
    if (Status distinct = distinct_volume_names(*volumes, *attached); !distinct) return distinct;
    Result<std::vector<NetworkSpec>> networks = read_network_specs(fields);
    if (!networks) return std::move(networks.error());
    if (!valid_migration_id(id_) || !valid_container_name(name_) || checkpoint_ != "dockmig-" + id_ ||
        !(resume_token_.empty() || valid_resume_token(resume_token_)) ||
        !(source_container_.empty() || valid_container_id(source_container_)) ||
        !(warm_id_.empty() || valid_migration_id(warm_id_)))
      return make_error(ErrorCode::InvalidInput, "malformed prepare message from the source");
    std::error_code ec;
    Result<BindCopies> binds = BindCopies::claim(
        fields, create_request_, std::filesystem::weakly_canonical(copied_binds_root(context_.staging_root), ec) / id_);
    if (!binds) return std::move(binds.error());
    binds_.emplace(std::move(*binds));
    // In use from now: the sweep of expired preparations leaves it alone for a while.
    if (!warm_id_.empty()) {
      std::error_code ignored;
      std::filesystem::last_write_time(warm_dir(context_, warm_id_), std::filesystem::file_time_type::clock::now(),
                                       ignored);
    }
    if (Status sized = read_expected(expected); !sized) return sized;
    if (Status owned = read_ownership(fields.object_or_empty("ownership")); !owned) return owned;
    // Before anything is made here, and before the source freezes its container.
    if (Status allowed = refuse_violations(check_create(create_request_, binds_->allowing(context_.policy))); !allowed)
      return allowed;
    // A retry right after its source was interrupted: the earlier session may still wait
    // for that source, holding the name (docs/protocol.md, "A retry supersedes ...").
    if (Status superseded = link_resumes().supersede(source_container_, session_.peer_name(), id_, kSupersedeSettle);
        !superseded)
      return superseded;
    if (context_.engine.inspect_container(name_))
      return make_error(ErrorCode::Conflict, "a container named `" + name_ + "` already exists here",
                        "remove it on the destination, or migrate with --name NEW_NAME");
    in_ledger_ = true;
    if (Status begun = context_.ledger.begin(id_, name_, session_.peer(), tcp_); !begun) return begun;
    if (Status made = binds_->make(); !made) return made;
    if (Status found = check_bind_sources(create_request_); !found) return found;
    staging_ = context_.staging_root / id_;
    volumes_.emplace(std::move(*volumes), binds_->dirs(), staging_,
                     HeldVolumeRule{context_.left_volumes, name_, return_image_key(image_.layers, image_.id),
                                    source_takes_volume_return_});
    if (Status free = volumes_->check(context_.engine); !free) return free;
    attached_.emplace(std::move(*attached));
    if (Status reachable = attached_->check(context_.engine); !reachable) return reachable;
    networks_.emplace(std::move(*networks));
    if (Status joinable = networks_->check(context_.engine, create_request_); !joinable) return joinable;
    if (tcp_ == TcpMode::Established)
      if (Status kept = networks_->check_addresses_kept(); !kept) return kept;
    std::filesystem::create_directories(staging_, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create staging dir `" + staging_.string() + "`: " + ec.message());
    return check_daemon();
  }

  // Refused here, before the source freezes anything, rather than at the restore.
  Status check_daemon() {
    Result<docker::DaemonInfo> daemon = context_.engine.info();
    if (!daemon) return std::move(daemon.error());
    if (!daemon->experimental)
      return make_error(ErrorCode::Unsupported, "the destination's dockerd runs without experimental features, "
                                                "which restoring from a checkpoint needs",
                        "start dockerd there with --experimental (see `dockmig doctor`)");
    if (!docker::is_supported_storage_driver(daemon->storage_driver))
      return make_error(ErrorCode::Unsupported, "the destination's dockerd uses the " + daemon->store_name() +
                                                    "; dockmig needs overlay2 or containerd's overlayfs snapshotter");
    if (std::string why = docker::restore_blocker(daemon->server_version, source_docker_, create_request_);
        !why.empty())
      return make_error(ErrorCode::Unsupported, why,
                        "migrate it to a host with Docker 26 or older; this host can still be a source "
                        "(docs/design.md, \"Docker releases\")");
    if (Status found = docker::check_writable_layer_access(*daemon); !found) return found;
    docker_root_ = daemon->root_dir;
    daemon_ = std::move(*daemon);
    return check_resources();
  }

  // A source in a fleet commits through the service's record; this side must be able to.
  Status read_ownership(const json& ownership) {
    if (ownership.empty()) return {};
    PeerMessage fields(ownership, "prepare's ownership");
    std::string service = fields.string("service");
    fleet_source_ = fields.string("host");
    source_revision_ = static_cast<int64_t>(fields.count_or("revision", 0));
    if (Status read = fields.status(); !read) return read;
    if (service != name_ || fleet_source_.empty() || source_revision_ <= 0)
      return make_error(ErrorCode::InvalidInput, "malformed ownership in the prepare message from the source");
    if (!context_.ownership)
      return make_error(ErrorCode::Unsupported, "the source commits handoffs through the fleet's ownership record, "
                                                "but this agent runs without --etcd",
                        "start the destination's agent with --etcd too (docs/fleet.md)");
    return {};
  }

  // The commit point: from here on the record names this host, so the source will not
  // resume, and this copy must run (docs/fleet.md, "The commit rule").
  Status take_over() {
    Result<int64_t> revision = context_.ownership->take_over(name_, fleet_source_, source_revision_, id_);
    if (!revision && revision.error().code == kSwapOutcomeUnknown) return keep_in_doubt(std::move(revision.error()));
    if (!revision) return std::move(revision.error());
    owned_revision_ = *revision;
    spdlog::info("migration {}: the fleet's record of `{}` names this host now (revision {})", id_, name_, *revision);
    DOCKMIG_FAULT_POINT("destination.after-swap", [this] { session_.cut(); });
    return {};
  }

  // The swap may have been applied, so the record may name this host: neither remove the
  // copy (none would run) nor restore (two might). The container and its checkpoint stay,
  // the ledger undecided, and the agent's next start settles it by the record.
  Status keep_in_doubt(Error unknown) {
    swap_in_doubt_ = true;
    unknown.detail += std::string(unknown.detail.empty() ? "" : "; ") +
                      "the container and its checkpoint stay here, undecided: this agent's next start keeps "
                      "and starts the copy if the record names this host, and removes it otherwise";
    return unknown;
  }

  // The restore failed after the swap: the record goes back, so that the source may resume.
  // If even that fails, this host still owns the service: the container and its checkpoint
  // stay for the agent's next start, and the source stays checkpointed.
  Status hand_back(Error failed) {
    Status given = context_.ownership->hand_back(name_, fleet_source_, owned_revision_, id_);
    if (given) {
      owned_revision_ = 0;
      return failed;
    }
    failed.detail += "handing the service back failed too (" + given.error().describe() +
                     "): the record still names this host, so the source stays checkpointed";
    return failed;
  }

  Status read_expected(const json& expected) {
    PeerMessage fields(expected, "prepare's expected");
    expected_.upper = fields.count_or("upper_bytes", 0);
    expected_.volumes = fields.count_or("volume_bytes", 0);
    expected_.memory = fields.count_or("memory_bytes", 0);
    expected_.image = fields.count_or("image_bytes", 0);
    if (Status read = fields.status(); !read) return read;
    spdlog::info("migration {} of `{}` from {}: expects {} bytes of writable layer, {} of memory, image {} ({} bytes)",
                 id_, name_, session_.peer(), expected_.upper, expected_.memory, image_.reference, expected_.image);
    return {};
  }

  // What arrives: blobs and pages staged, then the writable layer and the checkpoint's
  // images under dockerd's root, and the image unless it is here.
  Status check_resources() {
    if (context_.criu) {
      if (Status criu = context_.criu->check(source_criu_); !criu) return criu;
    }
    bool image_here = static_cast<bool>(context_.engine.inspect_image(image_.id.empty() ? image_.reference : image_.id));
    uint64_t state = expected_.upper + expected_.volumes + expected_.memory;
    std::filesystem::path in_memory = context_.memory_root.empty() ? context_.memory_root : context_.memory_root / id_;
    pages_dir_ = choose_memory_staging(in_memory, staging_, expected_.memory);
    uint64_t staged = pages_dir_ == staging_ ? state : expected_.upper + expected_.volumes;
    if (Status room = check_free_space({{staging_, staged}, {docker_root_, state + (image_here ? 0 : expected_.image)}});
        !room)
      return room;
    spdlog::debug("migration {}: pages staged in `{}`", id_, pages_dir_.string());
    std::error_code ec;
    std::filesystem::create_directories(pages_dir_, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create `" + pages_dir_.string() + "`: " + ec.message());
    return {};
  }

  // The container is made from the reference that names the source's image here, which
  // is not its own when its tag points elsewhere: then a repo digest or the id.
  Status ensure_image() {
    Result<std::string> here = fetch_image(session_, context_.engine, image_, staging_);
    if (!here) return std::move(here.error());
    create_request_["Image"] = *here;
    return {};
  }

  Status create() {
    auto volume_made = [this](const std::string& name) { return context_.ledger.note_volume(id_, name); };
    auto network_made = [this](const std::string& name) { return context_.ledger.note_network(id_, name); };
    if (Status made = volumes_->create(context_.engine, volume_made); !made) return made;
    if (Status made = attached_->create(context_.engine, volume_made); !made) return made;
    if (Status made = networks_->create_networks(context_.engine, create_request_, network_made); !made) return made;
    Result<std::string> id = context_.engine.create_container(name_, create_request_);
    if (!id) return std::move(id.error());
    container_id_ = *id;
    Status noted = context_.ledger.note_container(id_, container_id_);
    if (noted) noted = networks_->connect_rest(context_.engine, container_id_);
    if (!noted) return noted;
    Result<json> inspect = context_.engine.inspect_container(container_id_);
    if (!inspect) return std::move(inspect.error());
    Result<docker::ContainerInfo> info = docker::parse_container(*inspect);
    if (!info) return std::move(info.error());
    Result<std::string> upper = docker::writable_layer_dir(daemon_, *info);
    if (!upper) return std::move(upper.error());
    upper_dir_ = *upper;
    Result<MemoryReceiver> memory = MemoryReceiver::create(pages_dir_);
    if (!memory) return std::move(memory.error());
    memory_.emplace(std::move(*memory));
    json created = {{"type", "created"}, {"id", container_id_}, {"warm", !warm_blob().empty()}, {"pages", true},
                    {"page_coding", true}, {"tcp", tcp_mode_name(tcp_)}, {"copied_binds", true},
                    {"restore", restore_mode_name(restore_)},
                    {"volume_passes", source_sends_volume_passes_}};
    if (!restore_fallback_.empty()) created["restore_fallback"] = restore_fallback_;
    if (postcopy_asked_) {
      created["postcopy"] = lazy_restore_blocker().empty();
      if (!lazy_restore_blocker().empty()) created["postcopy_refusal"] = lazy_restore_blocker();
    }
    Result<pid_t> dockerd = docker::socket_peer_pid(context_.engine.socket_path());
    std::string masks_refusal =
        dockerd ? checkpoint::restore_mask_refusal(*dockerd)
                : "cannot tell which process its dockerd is: " + dockerd.error().describe();
    early_refusal_ = checkpoint::early_restore_refusal(dockerd ? *dockerd : 0);
    if (!early_refusal_.empty()) spdlog::info("migration {}: the restore waits for the memory: {}", id_, early_refusal_);
    created["masks"] = masks_refusal.empty();
    if (!masks_refusal.empty()) created["masks_refusal"] = masks_refusal;
    if (source_takes_volume_return_) created["volumes_held"] = volumes_->held_names();
    if (source_takes_held_pages_) {
      held_pages_ = seed_from_return_cache();
      created["held_pages"] = held_pages_.size();
    }
    if (!resume_token_.empty()) created["resume"] = true;
    Status sent = session_.send_message(created);
    // Numbering starts after `created`, on both sides (docs/protocol.md).
    if (sent && !resume_token_.empty()) session_.resume_as_destination(id_, resume_token_, source_container_);
    return sent;
  }

  // The container left this host before: its pages from then, in the page store already.
  // A cache that cannot be read costs only the bytes it would have saved.
  std::vector<memory::PageHash> seed_from_return_cache() {
    if (!context_.return_cache || image_.id.empty()) return {};
    Result<std::vector<memory::PageHash>> held = memory_->seed_from(*context_.return_cache, {name_, return_image_key(image_.layers, image_.id)});
    if (!held) {
      spdlog::warn("migration {}: the return cache was not used: {}", id_, held.error().describe());
      return {};
    }
    if (!held->empty()) spdlog::info("migration {}: {} pages of `{}` held from its last stay here", id_, held->size(), name_);
    return std::move(*held);
  }

  // After a preparation the layer as it was then is here already: apply it, then the
  // changes since.
  Status presync() {
    std::filesystem::path warm = warm_blob();
    if (!warm.empty()) {
      Status applied = extract_blob(warm, upper_dir_);
      if (!applied) return applied;
    }
    Status received = receive_synced_tree(session_, sync_files(), /*then_sign=*/true);
    if (received) received = volumes_->receive(session_, /*then_sign=*/true);
    if (received && source_sends_volume_passes_) received = volumes_->receive_passes(session_);
    // Where the source's pre-copy begins: its bytes count there.
    if (received && !held_pages_.empty()) received = send_held_pages(session_, std::exchange(held_pages_, {}));
    if (!received) return received;
    // From a round sent during the freeze, or `precopy-end`, on, the source may have frozen
    // the container for this session: a retry must not supersede it.
    Result<bool> pages_follow = memory_->receive_rounds(session_, [this] { source_freezes(); });
    if (!pages_follow) return std::move(pages_follow.error());
    source_freezes();
    pages_follow_ = *pages_follow;
    return {};
  }

  void source_freezes() {
    link_resumes().pass_freeze(id_);
    hold_arrivals();
  }

  // From the freeze on, clients that try this host wait for the restore instead of
  // meeting a closed port; a host that cannot hold them only loses that.
  void hold_arrivals() {
    if (arrivals_held_) return;
    arrivals_held_ = true;
    std::vector<hostnet::HeldPort> ports = ports_to_hold(create_request_);
    if (ports.empty()) return;
    Result<std::unique_ptr<hostnet::ArrivalHold>> hold = hostnet::ArrivalHold::start(id_, ports);
    if (hold) arrivals_ = std::move(*hold);
    else spdlog::warn("migration {}: clients that arrive during the restore meet a closed port: {}", id_,
                      hold.error().describe());
  }

  void release_arrivals() {
    if (!arrivals_) return;
    held_packets_ = arrivals_->release();
    arrivals_.reset();
    if (held_packets_) spdlog::info("migration {}: {} packets arrived during the restore and went on after it", id_, held_packets_);
  }

  Status final_sync() {
    Status applied = receive_synced_tree(session_, sync_files(), /*then_sign=*/false);
    if (applied) applied = volumes_->receive(session_, /*then_sign=*/false);
    if (!applied) return applied;
    Result<std::filesystem::path> images = receive_blob("checkpoint");
    if (!images) return std::move(images.error());
    std::filesystem::path target = checkpoint::checkpoint_dir(docker_root_, container_id_, checkpoint_);
    std::error_code ec;
    std::filesystem::create_directories(target, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot create `" + target.string() + "`: " + ec.message());
    Status staged = extract_blob(*images, target);
    if (staged && pages_follow_)
      staged = memory_->receive_frozen(session_, target, [this](uint64_t bytes) { start_restore_early(bytes); });
    if (staged && memory_->deferring()) staged = expect_postcopy(target);
    if (!staged) return staged;
    return session_.send_message({{"type", "staged"}});
  }

  // The source left pages behind: only a lazy restore, fetching them, can run this copy.
  Status expect_postcopy(const std::filesystem::path& images_dir) {
    if (!postcopy_asked_ || !lazy_restore_blocker().empty())
      return make_error(ErrorCode::InvalidInput, "protocol: the source left pages behind, which this host cannot fetch");
    restore_ = RestoreMode::Lazy;
    restore_decided_ = true;
    remote_ = std::make_unique<RemotePages>(session_, images_dir, memory_->assembled_dir(), staging_,
                                            memory_->take_deferred());
    return {};
  }

  TreeSyncFiles sync_files() const { return {upper_dir_, staging_, 3}; }

  std::filesystem::path warm_blob() const {
    if (warm_id_.empty()) return {};
    std::filesystem::path blob = warm_dir(context_, warm_id_) / "upper.zst";
    return std::filesystem::exists(blob) ? blob : std::filesystem::path();
  }

  // Lazy only where this host can; the source hears which, and why not.
  void choose_restore_mode(RestoreMode asked) {
    restore_ = RestoreMode::Eager;
    if (asked != RestoreMode::Lazy) return;
    restore_fallback_ = lazy_restore_blocker();
    if (restore_fallback_.empty()) restore_ = RestoreMode::Lazy;
    else spdlog::warn("migration {}: restoring eagerly, not lazily: {}", id_, restore_fallback_);
  }

  // Asked once: `criu check` takes a while.
  const std::string& lazy_restore_blocker() {
    if (!lazy_blocker_)
      lazy_blocker_ = context_.criu ? checkpoint::host_lazy_restore_blocker(context_.criu->binary())
                                    : "no CRIU is configured on the destination";
    return *lazy_blocker_;
  }

  // With a threshold (the source's --restore auto), lazy only for a memory that reaches it.
  void apply_lazy_threshold(uint64_t image_bytes) {
    restore_decided_ = true;
    if (restore_ != RestoreMode::Lazy || lazy_min_bytes_ == 0) return;
    RestoreChoice choice = choose_restore(image_bytes, lazy_min_bytes_);
    restore_ = choice.mode;
    restore_choice_ = std::move(choice.why);
    spdlog::info("migration {}: restoring {}: {}", id_, restore_mode_name(restore_), restore_choice_);
  }

  // A daemon that does not start costs the lazy restore, not the migration; after
  // post-copy it costs the migration, since pages are missing here.
  Status start_lazy_pages() {
    if (restore_ != RestoreMode::Lazy) return {};
    Result<checkpoint::LazyPagesDaemon> daemon = remote_ ? start_remote_lazy_pages() : checkpoint::LazyPagesDaemon::start(
        context_.criu->binary(), checkpoint::checkpoint_dir(docker_root_, container_id_, checkpoint_),
        checkpoint::lazy_work_dir(docker_root_, container_id_));
    if (!daemon && remote_) return std::move(daemon.error()).wrap("post-copy restore");
    if (daemon) {
      lazy_.emplace(std::move(*daemon));
      DOCKMIG_FAULT_POINT("destination.lazy-daemon-started");
      return {};
    }
    restore_ = RestoreMode::Eager;
    restore_fallback_ = daemon.error().describe();
    spdlog::warn("migration {}: restoring eagerly, not lazily: {}", id_, restore_fallback_);
    return {};
  }

  // The daemon asks this agent for every lazy page: from the assembled images, or from
  // the source for the pages left there.
  Result<checkpoint::LazyPagesDaemon> start_remote_lazy_pages() {
    Result<std::unique_ptr<checkpoint::LazyPageServer>> server = checkpoint::LazyPageServer::start(
        [this](uint64_t task, uint64_t vaddr, uint64_t pages, std::span<std::byte> out) {
          Result<uint64_t> read = remote_->read(task, vaddr, pages, out);
          // Never none, never wrong: without the source the copy cannot run, so it goes
          // (restoring or running), and the source resumes from its checkpoint.
          if (!read) checkpoint::kill_container_processes(container_id_);
          return read;
        });
    if (!server) return std::move(server.error());
    page_server_ = std::move(*server);
    Result<checkpoint::LazyPagesDaemon> daemon = checkpoint::LazyPagesDaemon::start_remote(
        context_.criu->binary(), checkpoint::checkpoint_dir(docker_root_, container_id_, checkpoint_),
        checkpoint::lazy_work_dir(docker_root_, container_id_), page_server_->daemon_end(), page_server_->own_end());
    page_server_->close_daemon_end();
    return daemon;
  }

  // After a failure, once the container is gone: a fetch still waiting for the link fails
  // at once, and the server goes before the pages it reads.
  void retire_page_server() {
    if (!page_server_) return;
    if (remote_->fetching()) session_.cut();
    page_server_.reset();
  }

  // Never none: until every page is in, the source's checkpoint is the only whole copy, so
  // nothing commits before; a fill that fails kills this copy and the source resumes.
  Status finish_lazy_restore() {
    if (!lazy_) return {};
    DOCKMIG_FAULT_POINT("destination.before-lazy-fill-wait");
    // Post-copy's fill takes as long as the link needs: only one that stopped is given up.
    std::chrono::milliseconds limit = remote_ ? kNoFillLimit : checkpoint::kLazyFillTimeout;
    Result<checkpoint::LazyFill> filled = checkpoint::finish_lazy_restore(
        context_.engine, docker_root_, container_id_, checkpoint_, *lazy_, limit, [this] { return fill_stopped(); });
    lazy_.reset();
    if (!filled) return std::move(filled.error());
    lazy_fill_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - restored_at_).count();
    lazy_pages_ = filled->pages_copied;
    if (!remote_) return {};
    spdlog::info("migration {}: every page left at the source is here", id_);
    return remote_->send_message(remote_->done_message());
  }

  // Why post-copy's fill cannot go on, or "": its page server stopped, or no page came
  // from the source for as long as a local fill may take in all.
  std::string fill_stopped() const {
    if (!page_server_) return {};
    if (std::string failure = page_server_->failure(); !failure.empty()) return failure;
    if (remote_->idle_for() < checkpoint::kLazyFillTimeout) return {};
    return "no page came from the source for " + std::to_string(checkpoint::kLazyFillTimeout.count()) + " s";
  }

  // For the report's split of the restore: CRIU's own part, the rest is Docker's. Read
  // before a lazy restore's work dir goes.
  void add_criu_share(json& restored, const json& inspect, std::chrono::system_clock::time_point call_started,
                      std::chrono::system_clock::time_point call_ended) const {
    Result<checkpoint::CriuRestoreTimes> criu = checkpoint::criu_restore_times(
        inspect["State"].value("Pid", 0),
        lazy_ ? lazy_->work_dir() : checkpoint::restore_work_dir(docker_root_, container_id_));
    if (criu) restored["criu"] = criu_share_message(criu->log, call_started, call_ended);
  }

  // An eager restore starts as soon as the page images are named: Docker's part and
  // CRIU's until the memory run while the pages still cross (checkpoint/early_restore.h).
  void start_restore_early(uint64_t image_bytes) {
    if (memory_->deferring()) return;  // lazy, once the pages left behind are known
    apply_lazy_threshold(image_bytes);
    if (restore_ != RestoreMode::Eager || !early_refusal_.empty()) return;
    Result<std::unique_ptr<checkpoint::EarlyRestore>> started =
        checkpoint::EarlyRestore::start(context_.engine, docker_root_, container_id_, checkpoint_, tcp_);
    if (started) early_ = std::move(*started);
    else spdlog::warn("migration {}: the restore waits for the memory: {}", id_, started.error().describe());
  }

  Status restore() {
    if (!restore_decided_)
      apply_lazy_threshold(page_image_bytes(checkpoint::checkpoint_dir(docker_root_, container_id_, checkpoint_)));
    if (Status started = start_lazy_pages(); !started) return started;
    auto call_started = std::chrono::system_clock::now();
    Result<json> inspect = early_ ? early_->finish()
                                  : checkpoint::restore_container(context_.engine, docker_root_, container_id_,
                                                                  checkpoint_, tcp_, lazy_ ? &*lazy_ : nullptr);
    auto call_ended = std::chrono::system_clock::now();
    if (remote_) remote_->restore_ended();
    release_arrivals();
    double started_early = 0;
    if (early_) {
      call_started = early_->call_started();
      started_early = early_->seconds_before_open();
      early_.reset();
    }
    restored_at_ = std::chrono::steady_clock::now();
    json restored = {{"type", "restored"}, {"restore", restore_mode_name(restore_)}};
    if (!restore_choice_.empty()) restored["restore_choice"] = restore_choice_;
    if (started_early > 0) restored["started_early_seconds"] = started_early;
    if (held_packets_ > 0) restored["held_packets"] = held_packets_;
    if (inspect) add_criu_share(restored, *inspect, call_started, call_ended);
    Status runs = inspect ? Status() : Status(std::move(inspect.error()));
    if (runs && !docker::is_running(*inspect))
      runs = make_error(ErrorCode::ToolFailed, "the restored container `" + name_ + "` is not running: " +
                                                   (*inspect)["State"].value("Error", std::string("no error given")));
    if (!runs) lazy_.reset();  // its daemon has nothing to serve
    if (runs && owned_revision_) runs = finish_lazy_restore();
    if (!runs) return owned_revision_ ? hand_back(std::move(runs.error())) : runs;
    if (owned_revision_) {
      // Committed by the swap already: durable before anyone hears of it.
      if (Status decided = context_.ledger.decide(id_, "committed", false); !decided) return decided;
      committed_ = true;
      DOCKMIG_FAULT_POINT("destination.before-restored-reply", [this] { session_.cut(); });
    }
    Status told = remote_ ? remote_->send_message(restored) : session_.send_message(restored);
    if (!told && committed_) told.ignore("the record names this host; the source reads it before it would resume");
    if (committed_) return {};
    // Post-copy: the source serves pages until every one is here, and commits only then.
    if (told && remote_) told = finish_lazy_restore();
    return told;
  }

  Status commit() {
    if (committed_) {
      forget_left_volumes();
      return confirm_to_source();
    }
    Result<json> commit = session_.expect("commit");
    if (!commit) return std::move(commit.error());
    // The copy may have stopped since `restored` (a dockerd restarted without live-restore
    // stops it): committing then would leave no copy running. Refused, the source resumes.
    if (Status filled = finish_lazy_restore(); !filled) return filled;
    if (Status runs = still_running(); !runs) return runs;
    // Durable before the source hears it: from here on no restart may remove this copy.
    Status decided = context_.ledger.decide(id_, "committed", /*container_removed=*/false);
    if (!decided) return decided;
    committed_ = true;
    forget_left_volumes();
    DOCKMIG_FAULT_POINT("destination.before-committed-reply", [this] { session_.cut(); });
    Status sent = session_.send_message(committed_message());
    sent.ignore("the container runs here now; the source asks for the state if it missed this");
    return {};
  }

  // The container uses its volumes here again: none of them is a left one any more.
  void forget_left_volumes() {
    if (!context_.left_volumes || !volumes_) return;
    Status forgotten = context_.left_volumes->forget(volumes_->volume_names());
    if (!forgotten) spdlog::warn("migration {}: {}", id_, forgotten.error().describe());
  }

  // After the swap the commit is done; the source's word only ends its wait.
  Status confirm_to_source() {
    Result<json> commit = session_.expect("commit");
    Status confirmed = commit ? session_.send_message(committed_message()) : Status(std::move(commit.error()));
    if (!confirmed) spdlog::info("migration {}: the source did not confirm ({}); the copy runs here all the same",
                                 id_, confirmed.error().message);
    return {};
  }

  json committed_message() const {
    json committed = {{"type", "committed"}};
    if (restore_ == RestoreMode::Lazy) committed["lazy"] = {{"fill_seconds", lazy_fill_seconds_}, {"pages", lazy_pages_}};
    return committed;
  }

  Status still_running() {
    Result<json> inspect = context_.engine.inspect_container(container_id_);
    if (!inspect) return std::move(inspect.error()).wrap("before the commit");
    if (docker::is_running(*inspect)) return {};
    return make_error(ErrorCode::ToolFailed, "the restored container `" + name_ + "` stopped before the commit",
                      "see the destination's dockerd log; the source runs on");
  }

  // A container that cannot be removed now stays in the ledger, and the next agent start
  // retries (recover_interrupted). Returns how the migration ended.
  IncomingEnd abandon() {
    bool superseded = link_resumes().superseded(id_);
    if (!in_ledger_ || owned_revision_ || swap_in_doubt_)
      return superseded ? IncomingEnd::Superseded : IncomingEnd::Failed;
    bool removed = container_id_.empty() || context_.engine.remove_container(container_id_, /*force=*/true);
    if (removed && volumes_) volumes_->remove_created(context_.engine);
    if (removed && attached_) attached_->remove_created(context_.engine);
    if (removed && networks_) networks_->remove_created(context_.engine);
    if (removed && binds_) binds_->remove_made();
    Status decided = context_.ledger.decide(id_, "aborted", removed);
    if (!decided) spdlog::warn("{}; a source asking how it ended is still told `aborted` until this agent stops",
                               decided.error().describe());
    if (superseded) return IncomingEnd::Superseded;
    return removed ? IncomingEnd::RolledBack : IncomingEnd::Failed;
  }

  Result<std::filesystem::path> receive_blob(const std::string& name) {
    std::filesystem::path path = staging_ / (name + ".zst");
    Status received = session_.receive_blob_to_file(name, path);
    if (!received) return std::move(received.error());
    return path;
  }

  Session& session_;
  const DestinationContext& context_;
  std::string id_, name_, checkpoint_, warm_id_, source_criu_, source_docker_;
  WantedImage image_;
  struct {
    uint64_t upper = 0, volumes = 0, memory = 0, image = 0;
  } expected_;
  json create_request_;
  std::filesystem::path staging_;
  std::filesystem::path pages_dir_;  // the page store and the images assembled from it
  std::string container_id_, upper_dir_, docker_root_;
  docker::DaemonInfo daemon_;
  std::optional<VolumeReceiver> volumes_;  // from the prepare on
  std::optional<AttachedVolumeSetup> attached_;
  std::optional<BindCopies> binds_;        // from the prepare on
  std::optional<NetworkReceiver> networks_;  // from the prepare on
  std::optional<MemoryReceiver> memory_;
  TcpMode tcp_ = TcpMode::Close;  // the source's dump and so this restore
  RestoreMode restore_ = RestoreMode::Eager;  // what this host does: lazy only when asked and able
  std::string restore_fallback_;              // why not lazy when the source asked for it
  uint64_t lazy_min_bytes_ = 0;               // with the source's auto: lazy only from this memory on
  std::string restore_choice_;                // and which that made it, and why
  std::optional<checkpoint::LazyPagesDaemon> lazy_;  // from the lazy restore until every page is in
  bool postcopy_asked_ = false;                      // the source may leave pages behind
  std::optional<std::string> lazy_blocker_;          // why this host cannot restore lazily, once asked
  std::unique_ptr<RemotePages> remote_;              // post-copy: the pages, here or still at the source
  std::unique_ptr<checkpoint::LazyPageServer> page_server_;  // serves them to the daemon (goes before remote_)
  bool restore_decided_ = false;                      // eager or lazy, by the threshold
  std::string early_refusal_;                         // why the restore cannot start before the memory
  std::unique_ptr<checkpoint::EarlyRestore> early_;   // started before the memory was in
  std::unique_ptr<hostnet::ArrivalHold> arrivals_;    // from the source's freeze until the restore ends
  bool arrivals_held_ = false;
  uint64_t held_packets_ = 0;
  std::chrono::steady_clock::time_point restored_at_;
  double lazy_fill_seconds_ = 0;
  uint64_t lazy_pages_ = 0;
  std::vector<memory::PageHash> held_pages_;  // seeded from the return cache, named to the source in presync
  std::string resume_token_;  // the prepare's: a lost link may resume (link_resume.h)
  std::string source_container_;  // the prepare's: the source's container id (absent from older sources)
  bool source_takes_volume_return_ = false;  // the prepare said "volume_return": it reads "volumes_held"
  bool source_takes_held_pages_ = false;  // the prepare said "return_cache": the source reads "held-pages"
  bool source_sends_volume_passes_ = false;  // the prepare said "volume_passes": catch-up passes may follow
  bool pages_follow_ = false;  // the checkpoint's page images come apart from it (pre-copy)
  bool in_ledger_ = false;  // a refused prepare must not overwrite how another migration of its id ended
  bool committed_ = false;
  std::string phase_;  // the step under way, as the context's watch was told
  std::string fleet_source_;     // the source's name in the fleet, when it commits through the record
  int64_t source_revision_ = 0;  // the record's revision as the source claimed it
  int64_t owned_revision_ = 0;   // after the swap, while the record names this host
  bool swap_in_doubt_ = false;   // the swap's outcome could not be learned: the record may name this host
};

}  // namespace

namespace {

// The record names this host: the swap happened, so this copy must run.
Status keep_owned_copy(const DestinationContext& context, const JournalEntry& entry) {
  Result<json> inspect = context.engine.inspect_container(entry.container_id);
  if (inspect && !docker::is_running(*inspect)) {
    Result<docker::DaemonInfo> daemon = context.engine.info();
    if (!daemon) return std::move(daemon.error());
    inspect = checkpoint::restore_container(context.engine, daemon->root_dir, entry.container_id,
                                            "dockmig-" + entry.migration, entry.tcp);
  }
  if (!inspect)
    return std::move(inspect.error()).wrap("the fleet's record names this host for `" + entry.container +
                                           "` (migration " + entry.migration + "), but starting its copy failed");
  spdlog::info("`{}` runs here: the fleet's record names this host (migration {})", entry.container, entry.migration);
  return context.ledger.decide(entry.migration, "committed", /*container_removed=*/false);
}

// With a fleet the record decides an undecided migration; true when it did.
bool settled_by_record(const DestinationContext& context, const JournalEntry& entry) {
  if (!context.ownership || !entry.decision.empty() || entry.container_id.empty()) return false;
  Result<std::string> owner = context.ownership->owner(entry.container);
  switch (decide_reconcile(owner ? std::optional<std::string>(*owner) : std::nullopt, context.ownership->host())) {
    case ReconcileDecision::Remove:
      return false;
    case ReconcileDecision::Undecided:
      spdlog::error("migration {} of `{}` stays in doubt, its container kept: {}", entry.migration, entry.container,
                    owner.error().describe());
      return true;
    case ReconcileDecision::KeepOrStart:
      break;
  }
  Status kept = keep_owned_copy(context, entry);
  if (!kept) spdlog::error("{}", kept.error().describe());
  return true;
}

// The volumes and networks made for an interrupted migration, once its container is gone.
void remove_made(const docker::EngineClient& engine, const JournalEntry& entry) {
  auto forget = [&](const Status& removed, const char* kind, const std::string& name) {
    if (removed || removed.error().code == ErrorCode::NotFound) return;
    spdlog::warn("{}; remove {} `{}` by hand (made for interrupted migration {})", removed.error().describe(), kind,
                 name, entry.migration);
  };
  for (const std::string& name : entry.networks_made) forget(engine.remove_network(name), "network", name);
  for (const std::string& name : entry.volumes_made) forget(engine.remove_volume(name), "volume", name);
}

// A migration that the agent's death interrupted before it committed: its container goes
// (also one an earlier abort failed to remove), then what was made for it, and it ends
// aborted.
Status settle_interrupted(const DestinationContext& context, const JournalEntry& entry) {
  if (entry.decision == "committed" || (!entry.decision.empty() && entry.container_id.empty())) return {};
  if (settled_by_record(context, entry)) return {};
  if (!entry.container_id.empty()) {
    std::string container = entry.container_id.substr(0, 12);
    // A lazy restore's daemon runs detached from the agent; its pidfile goes with the
    // container. Its processes go first: without the daemon they would run on zero pages.
    if (Result<docker::DaemonInfo> daemon = context.engine.info(); daemon) {
      std::filesystem::path work_dir = checkpoint::lazy_work_dir(daemon->root_dir, entry.container_id);
      if (std::filesystem::exists(work_dir)) checkpoint::kill_container_processes(entry.container_id);
      checkpoint::end_left_daemon(work_dir);
    }
    Status removed = context.engine.remove_container(entry.container_id, /*force=*/true);
    if (!removed && removed.error().code != ErrorCode::NotFound)
      return std::move(removed.error()).wrap("removing container " + container + " left by interrupted migration " +
                                             entry.migration);
    spdlog::info("removed container {} left by interrupted migration {}", container, entry.migration);
  }
  remove_made(context.engine, entry);
  remove_copied_binds(context.staging_root, entry.migration);
  return context.ledger.decide(entry.migration, "aborted", /*container_removed=*/true);
}

}  // namespace

// Preparations kept past their time-to-live: the source has dropped its side of them.
void drop_expired_preparations(const DestinationContext& context) {
  std::error_code ec;
  auto now = std::filesystem::file_time_type::clock::now();
  for (const auto& entry : std::filesystem::directory_iterator(context.staging_root / "warm", ec)) {
    if (entry.last_write_time(ec) >= now - warm_ttl(context, entry.path())) continue;
    spdlog::info("preparation {} dropped: unused for its time-to-live", entry.path().filename().string());
    std::filesystem::remove_all(entry.path(), ec);
  }
}

Status recover_interrupted(const DestinationContext& context) {
  for (const JournalEntry& entry : context.ledger.entries())
    if (Status settled = settle_interrupted(context, entry); !settled) return settled;
  std::error_code ec;
  std::filesystem::create_directories(context.staging_root, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + context.staging_root.string() + "`: " + ec.message());
  // A dump interrupted while runc.conf named its page server would break every later dump.
  if (Status repaired = checkpoint::repair_runc_criu_config(); !repaired) return repaired;
  // Rules of a hold whose agent was killed pass packets by now, but would queue them again
  // once another hold took their queue.
  if (Status dropped = hostnet::drop_stale_holds(); !dropped)
    spdlog::warn("the rules of an earlier agent's arrival holds stay: {}", dropped.error().describe());
  // Staged blobs of interrupted migrations; each live migration makes its own dir.
  // Preparations stay (a source may still hand off on one) until they expire.
  for (const auto& entry : std::filesystem::directory_iterator(context.staging_root))
    if (entry.path().filename() != "warm")
      std::filesystem::remove_all(entry.path(), ec);
  drop_expired_preparations(context);
  if (!context.memory_root.empty())
    for (const auto& entry : std::filesystem::directory_iterator(context.memory_root, ec)) std::filesystem::remove_all(entry.path(), ec);
  return {};
}

namespace {

Status serve_first_message(Session& session, const DestinationContext& context) {
  Result<json> first = session.receive_message();
  if (!first) return std::move(first.error());
  PeerMessage first_fields(*first, "the first message");
  std::string type = first_fields.type();
  if (Status read = first_fields.status(); !read) return read;
  if (type == "status") {
    PeerMessage fields(*first);
    std::string id = fields.string("migration");
    if (Status read = fields.status(); !read) return read;
    return session.send_message({{"type", "status"}, {"state", context.ledger.get(id)}});
  }
  if (type == "resume") {
    PeerMessage fields(*first);
    std::string id = fields.string("migration");
    std::string token = fields.string("token");
    if (Status read = fields.status(); !read) return read;
    return session.offer_for_resume(id, token);
  }
  if (type == "warm") return serve_warm(session, context, *first);
  if (type == "prepare") return DestinationMigration(session, context).run(*first);
  return make_error(ErrorCode::InvalidInput, "protocol: unexpected first message `" + type + "`");
}

}  // namespace

Status serve_session(Session& session, const DestinationContext& context) {
  Status served = base::contain_exceptions("serving " + session.peer(), [&] { return serve_first_message(session, context); });
  if (!served) session.abort(served.error());
  return served;
}

}  // namespace dockmig::migrate
