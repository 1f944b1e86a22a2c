// Bind-mounted directories copied with --copy-bind land at the destination in directories
// its agent makes for the migration, `<state_dir>/binds/<migration>/<n>`: never a path the
// source names, so a peer cannot have the destination write where it chooses, and never
// a directory that was there before. The prepare's `copied_binds` names each copied bind
// mount by its target in the container; the destination points that mount of the create
// body at its directory, which volume_sync.h then fills like a volume's.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "dockmig/result.h"
#include "migrate/create_policy.h"
#include "migrate/mounts.h"
#include "migrate/peer_message.h"

namespace dockmig::migrate {

/// Where copied bind mounts go: beside the staging dir in the agent's state dir (not in
/// it: the staging dir is emptied at each agent start).
std::filesystem::path copied_binds_root(const std::filesystem::path& staging_root);

/// The prepare's `copied_binds`: the targets of the copied bind mounts, in the order
/// their trees cross (after the volumes).
nlohmann::json copied_binds_json(const std::vector<MovedVolume>& binds);

class BindCopies {
 public:
  /// Reads the prepare's `copied_binds` (at most kMaxVolumes distinct targets, each the
  /// target of a bind mount of `create`) and points each such mount of `create` at its
  /// directory under `dir` (the migration's, under copied_binds_root). Nothing is made yet.
  static Result<BindCopies> claim(PeerMessage& prepare, nlohmann::json& create, std::filesystem::path dir);

  /// Makes the directories, before the source freezes anything; refused when the
  /// migration's directory exists already: dockmig never writes into one it did not make.
  Status make();
  /// `policy`, also letting the create body bind these directories.
  CreatePolicy allowing(CreatePolicy policy) const;
  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }
  /// After a failure: removes what make() made, with what was copied into it.
  void remove_made() const;

 private:
  std::filesystem::path dir_;
  std::vector<std::filesystem::path> dirs_;
  bool made_ = false;
};

/// At an agent's start, for a migration that did not commit: removes its copies.
void remove_copied_binds(const std::filesystem::path& staging_root, const std::string& migration);

}  // namespace dockmig::migrate
