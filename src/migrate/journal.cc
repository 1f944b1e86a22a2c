// One file per migration and side, `<role>-<id>.json`, replaced whole on every change
// (base/atomic_file.h), so that a reader finds the entry as it was before or after a
// change, never between. Lock files (`<role>-<id>.lock`) sit beside the entries.
#include "migrate/journal.h"

#include <fcntl.h>
#include <sys/file.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>

#include "base/atomic_file.h"
#include "base/text_file.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;

std::string now_iso8601() {
  std::time_t seconds = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

constexpr const char* kStringFields[] = {"migration", "role",       "container",      "container_id",
                                         "peer",      "phase",      "decision",       "docker",
                                         "checkpoint", "started_at", "updated_at", "restart_policy"};

std::string* string_field(JournalEntry& entry, std::string_view key) {
  std::string* fields[] = {&entry.migration, &entry.role,   &entry.container, &entry.container_id,
                           &entry.peer,      &entry.phase,  &entry.decision,  &entry.docker,
                           &entry.checkpoint, &entry.started_at, &entry.updated_at, &entry.restart_policy};
  for (size_t i = 0; i < std::size(kStringFields); ++i)
    if (key == kStringFields[i]) return fields[i];
  return nullptr;
}

Result<JournalEntry> parse_entry_file(const std::filesystem::path& path) {
  Result<std::string> text = base::read_text_file(path);
  if (!text) return std::move(text.error());
  json object = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  Result<JournalEntry> entry = object.is_discarded()
                                   ? Result<JournalEntry>(make_error(ErrorCode::InvalidInput, "not valid JSON"))
                                   : journal_entry_from_json(object);
  if (!entry)
    return std::move(entry.error())
        .wrap("journal entry `" + path.string() + "`")
        .with_hint("a person must look at it: move it aside once the migration it names is settled by hand");
  return entry;
}

// A list of names that entries from before it lack.
Status read_names(const json& object, const char* key, std::vector<std::string>& names) {
  auto found = object.find(key);
  if (found == object.end()) return {};
  if (!found->is_array()) return make_error(ErrorCode::InvalidInput, std::string("`") + key + "` is not a list");
  for (const json& name : *found) {
    if (!name.is_string()) return make_error(ErrorCode::InvalidInput, std::string("`") + key + "` holds a non-string");
    names.push_back(name.get<std::string>());
  }
  return {};
}

}  // namespace

json to_json(const JournalEntry& entry) {
  JournalEntry copy = entry;
  json object = json::object();
  for (const char* key : kStringFields) object[key] = *string_field(copy, key);
  object["keep_source"] = entry.keep_source;
  object["tcp"] = tcp_mode_name(entry.tcp);
  object["volumes_made"] = entry.volumes_made;
  object["networks_made"] = entry.networks_made;
  return object;
}

Result<JournalEntry> journal_entry_from_json(const json& object) {
  if (!object.is_object()) return make_error(ErrorCode::InvalidInput, "not a JSON object");
  JournalEntry entry;
  for (const char* key : kStringFields) {
    auto found = object.find(key);
    if (found == object.end()) continue;
    if (!found->is_string()) return make_error(ErrorCode::InvalidInput, std::string("`") + key + "` is not a string");
    *string_field(entry, key) = found->get<std::string>();
  }
  auto keep = object.find("keep_source");
  if (keep != object.end() && !keep->is_boolean())
    return make_error(ErrorCode::InvalidInput, "`keep_source` is not a boolean");
  entry.keep_source = keep != object.end() && keep->get<bool>();
  auto tcp = object.find("tcp");  // absent in entries of a dockmig from before --tcp: close
  std::optional<TcpMode> mode = tcp == object.end() ? TcpMode::Close
                                : tcp->is_string()  ? parse_tcp_mode(tcp->get<std::string>())
                                                    : std::nullopt;
  if (!mode) return make_error(ErrorCode::InvalidInput, "`tcp` is neither \"close\" nor \"established\"");
  entry.tcp = *mode;
  for (auto [key, names] : {std::pair{"volumes_made", &entry.volumes_made}, std::pair{"networks_made", &entry.networks_made}})
    if (Status read = read_names(object, key, *names); !read) return std::move(read.error());
  if (entry.migration.empty() || entry.role.empty() || entry.phase.empty())
    return make_error(ErrorCode::InvalidInput, "it lacks `migration`, `role` or `phase`");
  return entry;
}

Journal Journal::in_state_dir(const std::filesystem::path& state_dir) { return Journal(state_dir / "journal"); }

std::filesystem::path Journal::path_of(const std::string& role, const std::string& migration) const {
  return dir_ / (role + "-" + migration + ".json");
}

Status Journal::write(JournalEntry& entry) const {
  entry.updated_at = now_iso8601();
  if (entry.started_at.empty()) entry.started_at = entry.updated_at;
  if (Status made = base::create_directories_durably(dir_); !made) return made;
  Status written = base::write_file_atomically(path_of(entry.role, entry.migration), to_json(entry).dump(2) + "\n");
  if (!written) return std::move(written.error()).wrap("journaling migration " + entry.migration);
  return {};
}

Result<std::optional<JournalEntry>> Journal::read(const std::string& role, const std::string& migration) const {
  std::filesystem::path path = path_of(role, migration);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::optional<JournalEntry>();
  Result<JournalEntry> entry = parse_entry_file(path);
  if (!entry) return std::move(entry.error());
  return std::optional<JournalEntry>(std::move(*entry));
}

JournalListing Journal::list(const std::string& role) const {
  JournalListing listing;
  std::error_code ec;
  std::filesystem::directory_iterator files(dir_, ec);
  if (ec) {
    if (ec != std::errc::no_such_file_or_directory)
      listing.unreadable.push_back(make_error(ErrorCode::Io, "cannot list `" + dir_.string() + "`: " + ec.message()));
    return listing;
  }
  for (const auto& file : files) {
    std::string name = file.path().filename().string();
    if (!name.starts_with(role + "-") || file.path().extension() != ".json") continue;
    Result<JournalEntry> entry = parse_entry_file(file.path());
    if (entry) listing.entries.push_back(std::move(*entry));
    else listing.unreadable.push_back(std::move(entry.error()));
  }
  return listing;
}

Status Journal::remove(const std::string& role, const std::string& migration) const {
  return base::remove_file_durably(path_of(role, migration));
}

void Journal::prune_decided(const std::string& role, int days) const {
  auto oldest = std::filesystem::file_time_type::clock::now() - std::chrono::hours(24 * days);
  for (const JournalEntry& entry : list(role).entries) {
    std::error_code ec;
    auto written = std::filesystem::last_write_time(path_of(role, entry.migration), ec);
    if (!ec && !entry.decision.empty() && written < oldest)
      remove(role, entry.migration).ignore("an old decided entry; the next start tries again");
  }
}

Result<std::optional<JournalLock>> JournalLock::try_acquire(const Journal& journal, const std::string& role,
                                                           const std::string& migration) {
  if (Status made = base::create_directories_durably(journal.dir()); !made) return std::move(made.error());
  std::filesystem::path path = journal.dir() / (role + "-" + migration + ".lock");
  base::UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!fd) return make_error(ErrorCode::Io, "cannot open `" + path.string() + "`: " + std::strerror(errno));
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return std::optional<JournalLock>();
    return make_error(ErrorCode::Io, "cannot lock `" + path.string() + "`: " + std::strerror(errno));
  }
  return std::optional<JournalLock>(JournalLock(std::move(fd), std::move(path)));
}

void JournalLock::remove_file() const {
  std::error_code ignored;
  std::filesystem::remove(path_, ignored);
}

}  // namespace dockmig::migrate
