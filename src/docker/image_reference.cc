// Splits image references by the grammar of Docker's reference package (distribution's
// reference/regexp.go). The surprise it guards against: the last `:` is not always a tag.
// In "10.77.9.1:5000/tiny" it is a port, and in "tiny@sha256:…" it is the digest's; a pull
// that took either for a tag asked the registry for an image that does not exist.
// Hand-written checks, not regexes: the agent runs them on untrusted input.
#include "docker/image_reference.h"

namespace dockmig::docker {
namespace {

constexpr size_t kMaxNameLength = 255;  // reference.NameTotalLengthMax
constexpr size_t kMaxTagLength = 128;
constexpr std::string_view kSha256 = "sha256:";

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

Error not_a_reference(const std::string& why) {
  return make_error(ErrorCode::InvalidInput, "not an image reference: " + why,
                    "write it as [REGISTRY[:PORT]/]PATH[:TAG][@sha256:DIGEST], e.g. 10.77.9.1:5000/app:1");
}

// Lowercase letters and digits, separated by one `.`, one or two `_`, or any run of `-`.
bool valid_path_component(std::string_view part) {
  if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
  size_t i = 0;
  while (i < part.size()) {
    if (is_lower_alnum(part[i])) {
      ++i;
      continue;
    }
    size_t run = i;
    while (run < part.size() && !is_lower_alnum(part[run])) ++run;
    std::string_view separator = part.substr(i, run - i);
    bool dashes = separator.find_first_not_of('-') == std::string_view::npos;
    if (!(separator == "." || separator == "_" || separator == "__" || dashes)) return false;
    i = run;
  }
  return true;
}

// Dot-separated labels of letters, digits and inner `-`, then an optional :PORT.
bool valid_registry(std::string_view registry) {
  size_t colon = registry.find(':');
  std::string_view host = registry.substr(0, colon);
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    std::string_view label = host.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view port = registry.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  for (char c : port)
    if (!is_digit(c)) return false;
  return true;
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTagLength || !(is_alnum(tag.front()) || tag.front() == '_')) return false;
  for (char c : tag)
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
  return true;
}

bool valid_digest(std::string_view digest) {
  if (digest.size() != kSha256.size() + 64 || !digest.starts_with(kSha256)) return false;
  for (char c : digest.substr(kSha256.size()))
    if (!is_hex(c)) return false;
  return true;
}

// Docker's rule: the first component names a registry only when it has a `.` or a `:`, is
// "localhost", or has a capital letter (no repository path may).
bool names_registry(std::string_view first) {
  if (first == "localhost" || first.find_first_of(".:") != std::string_view::npos) return true;
  for (char c : first)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

Status split_name(std::string_view name, ImageReference& reference) {
  if (name.empty()) return not_a_reference("it has no repository name");
  if (name.size() > kMaxNameLength) return not_a_reference("its name is longer than 255 characters");
  size_t slash = name.find('/');
  if (slash != std::string_view::npos && names_registry(name.substr(0, slash))) {
    reference.registry = name.substr(0, slash);
    if (!valid_registry(reference.registry))
      return not_a_reference("the registry must be HOST or HOST:PORT with a port of up to 5 digits");
    name = name.substr(slash + 1);
  }
  reference.repository = name;
  for (size_t start = 0; start <= name.size();) {
    size_t next = name.find('/', start);
    std::string_view part = name.substr(start, next == std::string_view::npos ? std::string_view::npos : next - start);
    if (!valid_path_component(part))
      return not_a_reference("each part of the repository path must be lowercase letters and digits, "
                             "separated by `.`, `_`, `__` or dashes");
    if (next == std::string_view::npos) break;
    start = next + 1;
  }
  return {};
}

}  // namespace

std::string ImageReference::name() const { return registry.empty() ? repository : registry + "/" + repository; }

std::string ImageReference::pull_tag() const {
  if (!digest.empty()) return digest;
  return tag.empty() ? "latest" : tag;
}

std::string ImageReference::text() const {
  return name() + (tag.empty() ? "" : ":" + tag) + (digest.empty() ? "" : "@" + digest);
}

Result<ImageReference> parse_image_reference(std::string_view text) {
  ImageReference reference;
  if (size_t at = text.find('@'); at != std::string_view::npos) {
    reference.digest = text.substr(at + 1);
    if (!valid_digest(reference.digest))
      return not_a_reference("the digest must be sha256: and 64 lowercase hex digits");
    text = text.substr(0, at);
  }
  // A `:` after the last `/` starts the tag; one before it is the registry's port.
  size_t colon = text.rfind(':');
  size_t slash = text.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    reference.tag = text.substr(colon + 1);
    if (!valid_tag(reference.tag))
      return not_a_reference("the tag must be 1 to 128 letters, digits, `_`, `.` and `-`, "
                             "not starting with `.` or `-`");
    text = text.substr(0, colon);
  }
  if (Status split = split_name(text, reference); !split) return std::move(split.error());
  return reference;
}

std::string containerd_store_repo_digest(std::string_view reference, const std::string& image_id) {
  Result<ImageReference> parsed = parse_image_reference(reference);
  if (!parsed || !valid_digest(image_id)) return "";
  return parsed->name() + "@" + image_id;
}

}  // namespace dockmig::docker
