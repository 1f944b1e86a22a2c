// The host's IPv4 neighbour (ARP) table, through rtnetlink.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::hostnet {

using MacAddress = std::array<std::uint8_t, 6>;

/// Parses "02:42:ac:11:00:02".
std::optional<MacAddress> parse_mac(std::string_view text);

/// Sets `ipv4` to `mac`, reachable, on every interface where this host already has a
/// non-permanent entry for it (one waiting for an ARP answer, say), and returns how many
/// it set. Where there is none, the next packet resolves the address at once anyway.
Result<int> learn_neighbor(const std::string& ipv4, const MacAddress& mac);

}  // namespace dockmig::hostnet
