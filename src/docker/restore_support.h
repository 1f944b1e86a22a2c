#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace dockmig::docker {

/// The major version of a dockerd's ServerVersion ("28.5.2+dfsg4" -> 28), if it has one.
std::optional<int> engine_major_version(std::string_view server_version);

/// Why the destination's dockerd (ServerVersion `destination`) cannot restore a checkpoint
/// made by the source's (`source`; "" when an older source did not say) into the container
/// that `create_request` (POST /containers/create) makes, or "" when it can.
std::string restore_blocker(std::string_view destination, std::string_view source,
                            const nlohmann::json& create_request);

}  // namespace dockmig::docker
