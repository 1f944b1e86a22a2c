#pragma once

#include <cstdint>
#include <string_view>

#include "dockmig/migration.h"

namespace dockmig::migrate {

/// What a migration tells its watcher as it goes. The migration never prints; the CLI's
/// terminal printer and the agent's event stream are implementations (ninja's Status).
class Progress {
 public:
  virtual ~Progress() = default;
  virtual void phase_started(std::string_view /*phase*/) {}
  /// Bytes of payload handled so far in the current phase, before compression.
  virtual void bytes_moved(std::string_view /*phase*/, uint64_t /*raw_bytes*/) {}
  /// The raw bytes the current phase will handle in all, when known before it starts.
  virtual void bytes_expected(std::string_view /*phase*/, uint64_t /*raw_bytes*/) {}
  virtual void phase_finished(const PhaseReport& /*phase*/) {}
  /// A pass over the volumes before the freeze ended: 1 the whole data, then catch-up passes.
  virtual void volume_pass_finished(size_t /*number*/, const VolumePass& /*pass*/) {}
};

}  // namespace dockmig::migrate
