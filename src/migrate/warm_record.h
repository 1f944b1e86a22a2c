// A preparation as the source keeps it, and its file form: a small binary record, because
// the snapshot's names are raw bytes (not necessarily UTF-8) that JSON text would mangle.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "dockmig/result.h"
#include "layers/upper_snapshot.h"

namespace dockmig::migrate {

struct WarmState {
  std::string destination;
  std::string warm_id;             // names the preparation at the destination
  layers::UpperSnapshot snapshot;  // the writable layer as sent
  std::filesystem::path work;      // holds the destination's signatures of large files
  uint64_t raw_bytes = 0;          // what the preparation sent of the layer
  std::string container_started_at;  // a restart since makes the preparation stale
  int64_t prepared_at = 0;           // unix seconds; set when the store keeps it
};

struct WarmRecord {
  std::string container_id;
  WarmState state;
};

/// The record as bytes: a magic, the fields (lengths and numbers little-endian), a checksum.
std::string encode_warm_record(const WarmRecord& record);
/// Refuses anything `encode_warm_record` did not write whole: a wrong magic, a short or
/// long file, a checksum that does not match.
Result<WarmRecord> decode_warm_record(std::string_view bytes);

}  // namespace dockmig::migrate
