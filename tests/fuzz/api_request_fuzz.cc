// libFuzzer: everything the HTTP API parses from a caller, and the token file. Besides
// "no crash, no hang": a body that parses must survive a round trip through its
// canonical JSON unchanged, or idempotent replays would compare the wrong things.
#include <cstdlib>
#include <string>
#include <string_view>

#include "agent/api_request.h"
#include "agent/tokens.h"

using namespace dockmig::agent;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  dockmig::Result<HandoffSpec> spec = parse_handoff_request(text);
  if (spec) {
    std::string canonical = to_json(*spec).dump();
    dockmig::Result<HandoffSpec> again = parse_handoff_request(canonical);
    if (!again || to_json(*again) != to_json(*spec)) std::abort();
  } else if (spec.error().message.empty()) {
    std::abort();
  }
  static_cast<void>(parse_prepare_request(text));
  static_cast<void>(parse_fleet_handoff_request(text));
  static_cast<void>(parse_token_file(text, "fuzz"));
  valid_image_ref(text);
  valid_container_ref(text);
  check_destination(text).ignore("only a crash matters");
  check_idempotency_key(text).ignore("only a crash matters");
  bearer_token(text);
  valid_handoff_id(text);
  return 0;
}
