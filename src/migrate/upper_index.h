// What a transfer of the writable layer's changes lists besides the changed entries
// themselves: the paths deleted since the baseline and the large files sent as deltas;
// or, from a destination, its listing of a tree it holds already (`<tree>-listing`).
// A path is bytes (a name need not be UTF-8 and may hold a newline), and the list grows
// with the layer, so it travels as the blob `upper-index` (docs/protocol.md), never in a
// JSON message: JSON text would replace invalid bytes, and a message must fit one frame.
#pragma once

#include <string>
#include <vector>

#include "dockmig/result.h"
#include "layers/upper_snapshot.h"
#include "migrate/upper_deltas.h"
#include "transfer/byte_stream.h"

namespace dockmig::migrate {

struct UpperIndex {
  std::vector<std::string> deleted;  // relative to the upper dir
  std::vector<DeltaEntry> deltas;
  /// A destination's listing of a tree it holds already (a volume a container left
  /// there): each entry's type and mode, owner, size and mtime; inode and ctime are 0.
  layers::UpperSnapshot listed{};
};

/// The listing of `snapshot`, as an UpperIndex's `listed` carries it.
layers::UpperSnapshot listing_of(const layers::UpperSnapshot& snapshot);

/// Writes `index` in the upper-index format into `out`, then finishes `out`.
Status write_upper_index(const UpperIndex& index, transfer::ByteSink& out);

/// Reads an upper-index stream to its end. Refuses a malformed stream, and any path that
/// could reach outside the layer or is not as a source writes it: empty, absolute, with
/// an empty, `.` or `..` component, with a NUL byte, or longer than PATH_MAX.
Result<UpperIndex> read_upper_index(transfer::ByteSource& in);

}  // namespace dockmig::migrate
