// The source side of memory pre-copy (memory_sync.h). The first round reads all of the
// container's memory; later rounds read what may have changed since (memory/
// container_memory.h: the pages written, where the kernel can track writes, else all of
// it), leaving out those written again before it reads them. Each round sends the pages
// whose content the destination does not hold yet.
#include <algorithm>
#include <chrono>
#include <thread>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "base/byte_units.h"
#include "checkpoint/pagemap_image.h"
#include "faults/fault_points.h"
#include "memory/page_records.h"
#include "memory/container_memory.h"
#include "migrate/memory_sync.h"
#include "migrate/peer_message.h"
#include "migrate/round_rule.h"

namespace dockmig::migrate {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kRateSampleBytes = 256 * 1024;   // rounds smaller than this measure no rate
constexpr uint64_t kFreezeRoundQueue = 64 * 1024;   // the most the round during the freeze keeps queued

uint64_t page_key(int pid, uint64_t vaddr) { return (static_cast<uint64_t>(pid) << 36) ^ (vaddr / memory::kPageSize); }

// Bytes per second on the link: the best a large round achieved; 0 if none was large.
double link_rate(const std::vector<PrecopyRound>& rounds) {
  double rate = 0;
  for (const PrecopyRound& round : rounds)
    if (round.wire_bytes >= kRateSampleBytes && round.seconds > 0) rate = std::max(rate, round.wire_bytes / round.seconds);
  return rate;
}

// With writes tracked, the next round is known before it is sent: the pages written since
// the last one read. Of those, about as many as the last round left for later are written
// all the time: no round sends them usefully, they cross after the freeze. The rest, the
// next round's useful part, is weighed; its bytes on the wire are estimated at the last
// round's compression, which after the first round is that of pages written again and again.
std::optional<std::string> stop_by_pages_written(const std::vector<PrecopyRound>& rounds, uint64_t written,
                                                 double rate, double target_seconds) {
  if (rounds.size() < 2) return std::nullopt;
  const PrecopyRound& last = rounds.back();
  std::string round = "round " + std::to_string(rounds.size());
  uint64_t hot = std::min(written, last.pages_deferred);
  uint64_t useful = written - hot;
  std::string hot_text = hot == 0 ? "" : " (and " + std::to_string(hot) + " written all the time, for after the freeze)";
  double wire_per_raw = last.raw_bytes > 0 ? static_cast<double>(last.wire_bytes) / last.raw_bytes : 1.0;
  double next_wire = useful * memory::kPageSize * wire_per_raw;
  if (std::optional<double> seconds = crosses_within(next_wire, rate, target_seconds))
    return "converged: the " + std::to_string(useful) + " pages written during " + round + hot_text +
           " would cross in " + seconds_text(*seconds);
  if (!shrinks_enough(useful, last.pages_read))
    return "not converging: the container wrote " + std::to_string(useful) + " pages during " + round + hot_text +
           ", which read " + std::to_string(last.pages_read) + ": another round would send almost as much again";
  return std::nullopt;
}

// Without tracking, only the rounds sent so far tell: the last one against the one before.
std::optional<std::string> stop_by_last_rounds(const std::vector<PrecopyRound>& rounds, double rate,
                                               double target_seconds) {
  if (rounds.size() < 2) return std::nullopt;
  const PrecopyRound& last = rounds.back();
  if (std::optional<double> seconds = crosses_within(last.wire_bytes, rate, target_seconds))
    return "converged: " + base::human_bytes(last.wire_bytes) + " a round would cross in " + seconds_text(*seconds);
  const PrecopyRound& before = rounds[rounds.size() - 2];
  if (!shrinks_enough(last.raw_bytes, before.raw_bytes))
    return "not converging: the container writes memory about as fast as the link carries it (" +
           base::human_bytes(last.raw_bytes) + " changed in round " + std::to_string(rounds.size()) + " after " +
           base::human_bytes(before.raw_bytes) + " in the round before)";
  return std::nullopt;
}

}  // namespace

bool is_page_image(const std::string& file_name) {
  return file_name.starts_with("pages-") && file_name.ends_with(".img");
}

std::vector<std::string> page_images(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (is_page_image(entry.path().filename().string())) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> precopy_stop_reason(const std::vector<PrecopyRound>& rounds, double target_seconds,
                                               std::optional<uint64_t> pages_written_since, size_t max_rounds) {
  if (rounds.empty()) return std::nullopt;
  if (rounds.back().wire_bytes < kSmallRoundBytes)
    return "converged: the last round sent " + std::to_string(rounds.back().wire_bytes) + " bytes";
  double rate = link_rate(rounds);
  std::optional<std::string> reason = pages_written_since
                                          ? stop_by_pages_written(rounds, *pages_written_since, rate, target_seconds)
                                          : stop_by_last_rounds(rounds, rate, target_seconds);
  if (reason) return reason;
  if (rounds.size() >= max_rounds) return "reached the limit of " + std::to_string(max_rounds) + " rounds";
  return std::nullopt;
}

uint32_t PrecopySender::hold(const memory::PageHash& hash) { return held_.add(hash); }

void PrecopySender::hold_returned(const std::vector<memory::PageHash>& hashes) {
  for (const memory::PageHash& hash : hashes) hold(hash);
  returned_used_.assign(held_.size(), false);
}

void PrecopySender::note_returned(uint32_t index) {
  if (index < returned_used_.size()) returned_used_[index] = true;
}

void PrecopySender::count_coded(MemoryReport& report) const {
  report.pages_word_differences = encoder_ ? encoder_->word_difference_pages() : 0;
}

json PrecopySender::pages_message(json message) const {
  if (encoder_) message["coded"] = true;
  return message;
}

Status PrecopySender::write_page(transfer::ByteSink& sink, memory::PageView page) {
  if (!encoder_) return sink.write(page);
  coded_.clear();
  encoder_->encode(page, coded_);
  return sink.write(coded_);
}

void PrecopySender::count_returned(MemoryReport& report) const {
  report.return_cache_pages_offered = returned_used_.size();
  report.return_cache_pages_used = std::count(returned_used_.begin(), returned_used_.end(), true);
}

Status PrecopySender::run_rounds(int init_pid, double target_seconds, PhaseReport& phase, Progress& progress,
                                 MemoryReport& report) {
  report.mode = "pre-copy";
  memory::ContainerMemory& memory = tracked_.emplace(init_pid, memory::best_tracking());
  for (;;) {
    PrecopyRound round;
    Status sent = run_round(memory, report.rounds.size() + 1, phase, progress, round);
    report.tracking = memory.tracking_used();
    if (!sent) {
      tracked_.reset();
      return sent;
    }
    report.rounds.push_back(round);
    std::optional<uint64_t> written = memory.pages_written_since();
    if (std::optional<std::string> reason = precopy_stop_reason(report.rounds, target_seconds, written)) {
      report.stop_reason = *reason;
      pages_after_rounds_ = written.value_or(round.pages_sent);
      return {};
    }
  }
}

void PrecopySender::stop_tracking() {
  if (!tracked_) return;
  freeze_round_due_ = true;
  freeze_pages_ = tracked_->written_since_last_round();
  tracked_.reset();  // before the freeze: CRIU dumps the processes as they were
}

Status PrecopySender::skip_rounds() { return end_rounds(); }

Status PrecopySender::end_rounds() {
  if (rounds_ended_) return {};
  rounds_ended_ = true;
  return session_.send_message({{"type", "precopy-end"}, {"memory", true}});
}

Status PrecopySender::run_freeze_round(const std::atomic<bool>& dump_ended, PhaseReport& phase, Progress& progress,
                                       MemoryReport& report) {
  // Even with nothing to read (no writes seen, or none tracked) the round runs: it tells the
  // destination the freeze began, and it costs one message beside the dump.
  if (!freeze_round_due_ || rounds_ended_) return {};
  Clock::time_point begin = Clock::now();
  FreezeRound& round = report.freeze_round = {};
  uint64_t wire_before = session_.wire_bytes(phase.name);
  uint64_t raw_before = phase.raw_bytes;
  json message = {{"type", "pages"}, {"round", report.rounds.size() + 1}, {"frozen", true}};
  Status sent = session_.send_message(pages_message(std::move(message)));
  if (!sent) return sent;
  DOCKMIG_FAULT_POINT("source.freeze-round-sending", [this] { session_.cut(); });
  sent = session_.send_stream("pages", phase, progress, zstd_level_, [&](transfer::ByteSink& sink) -> Status {
    memory::ScanStats stats;
    auto visit = [&](const memory::PageAddress&, memory::PageView page) -> Status {
      if (memory::is_zero_page(page)) return {};
      memory::PageHash hash = memory::hash_page(page);
      if (held_.find(hash)) {
        ++round.pages_unchanged;
        return {};
      }
      // Paced to the link: bytes still queued when the dump ends would hold back the
      // checkpoint's images, and with them the restore's start. What the dump's end finds
      // unsent crosses with the images instead, while the restore begins.
      while (session_.unacknowledged_bytes() > kFreezeRoundQueue && !dump_ended.load(std::memory_order_acquire))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (dump_ended.load(std::memory_order_acquire)) return make_error(ErrorCode::Interrupted, "the dump ended");
      ++round.pages_sent;
      hold(hash);
      return write_page(sink, page);
    };
    Status read = memory::read_pages(freeze_pages_, visit, stats);
    round.pages_read = stats.pages_read;
    round.cut_short = !read && read.error().code == ErrorCode::Interrupted;
    if (!read && !round.cut_short) return std::move(read.error()).wrap("the pre-copy round during the freeze");
    return sink.finish();
  });
  if (sent) sent = expect_stored(round.pages_sent, "the round during the freeze");
  if (!sent) return sent;
  round.ran = true;
  if (pages_after_rounds_) *pages_after_rounds_ -= std::min(*pages_after_rounds_, round.pages_read);
  round.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  round.raw_bytes = phase.raw_bytes - raw_before;
  round.wire_bytes = session_.wire_bytes(phase.name) - wire_before;
  return {};
}

Status PrecopySender::run_round(memory::ContainerMemory& memory, size_t number, PhaseReport& phase,
                                Progress& progress, PrecopyRound& round) {
  Clock::time_point begin = Clock::now();
  spdlog::debug("pre-copy round {} begins", number);
  uint64_t wire_before = session_.wire_bytes("precopy");
  uint64_t raw_before = phase.raw_bytes;
  Status sent = session_.send_message(pages_message({{"type", "pages"}, {"round", number}}));
  if (!sent) return sent;
  sent = session_.send_stream("pages", phase, progress, zstd_level_, [&](transfer::ByteSink& sink) -> Status {
    memory::RoundRead read;
    auto visit = [&](const memory::PageAddress& at, memory::PageView page) -> Status {
      if (memory::is_zero_page(page)) return {};
      memory::PageHash hash = memory::hash_page(page);
      bool read_before = !read_before_.insert(page_key(at.pid, at.vaddr));
      if (std::optional<uint32_t> held = held_.find(hash)) {
        note_returned(*held);
        ++round.pages_unchanged;
        return {};
      }
      // Every page a round read is held by now: a new content here is a page written since.
      if (read_before) ++round.pages_redirtied;
      ++round.pages_sent;
      hold(hash);
      return write_page(sink, page);
    };
    Status read_all = memory.read_round(visit, read);
    round.pages_read = read.scan.pages_read;
    round.pages_deferred = read.scan.pages_skipped;
    round.stopped_seconds = read.longest_stop.count();
    if (!read_all) return std::move(read_all.error()).wrap("pre-copy round " + std::to_string(number));
    return sink.finish();
  });
  if (sent) sent = expect_stored(round.pages_sent, "round " + std::to_string(number));
  if (!sent) return sent;
  round.seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  round.raw_bytes = phase.raw_bytes - raw_before;
  round.wire_bytes = session_.wire_bytes("precopy") - wire_before;
  return {};
}

Status PrecopySender::expect_stored(uint64_t pages_sent, const std::string& round) {
  Result<json> stored = session_.expect("pages-stored");
  if (!stored) return std::move(stored.error());
  PeerMessage fields(*stored);
  uint64_t pages = fields.count("pages");
  if (Status read = fields.status(); !read) return read;
  if (pages != pages_sent)
    return make_error(ErrorCode::Internal, "the destination stored " + std::to_string(pages) + " pages of " + round +
                                               ", not " + std::to_string(pages_sent));
  return {};
}

uint64_t PrecopySender::frozen_bytes_expected(const fs::path& images_dir) const {
  uint64_t images = 0;
  for (const std::string& name : page_images(images_dir)) {
    std::error_code ec;
    uintmax_t size = fs::file_size(images_dir / name, ec);
    if (!ec) images += size;
  }
  uint64_t held = held_.size() * memory::kPageSize;
  uint64_t expected = pages_after_rounds_ ? *pages_after_rounds_ * memory::kPageSize : images - std::min(images, held);
  return std::min(expected, images);
}

Status PrecopySender::send_frozen(const fs::path& images_dir, PhaseReport& phase, Progress& progress,
                                  MemoryReport& report) {
  std::vector<std::string> images = page_images(images_dir);
  checkpoint::LazyPageFlags lazy;
  if (defer_) {
    Result<checkpoint::LazyPageFlags> flags = checkpoint::lazy_pages_of(images_dir);
    if (!flags) return std::move(flags.error()).wrap("finding the pages to leave for post-copy");
    lazy = std::move(*flags);
  }
  json listed = json::array();
  for (const std::string& name : images) {
    std::error_code ec;
    uintmax_t size = fs::file_size(images_dir / name, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot read the size of `" + (images_dir / name).string() + "`");
    listed.push_back({{"name", name}, {"pages", size / memory::kPageSize}});
  }
  json header = pages_message({{"type", "memory"}, {"images", listed}});
  if (defer_) header["deferred"] = true;
  Status sent = session_.send_message(header);
  if (!sent) return sent;
  json digests = json::array();
  sent = session_.send_stream("memory", phase, progress, zstd_level_, [&](transfer::ByteSink& sink) -> Status {
    memory::PageRecordWriter records(sink, encoder_ ? &*encoder_ : nullptr);
    for (const std::string& name : images) {
      auto flags = lazy.find(name);
      Result<memory::PageHash> digest =
          encode_image(images_dir / name, flags == lazy.end() ? nullptr : &flags->second, records, report);
      if (!digest) return std::move(digest.error());
      digests.push_back(memory::to_hex(*digest));
    }
    return sink.finish();
  });
  if (sent) sent = session_.send_message({{"type", "memory-digests"}, {"digests", digests}});
  if (!sent) return sent;
  // Pages of its store that failed their hash come back as requests, a batch at a time;
  // each page at most once, so a hostile destination cannot keep the source frozen.
  size_t asked_again = 0;
  while (true) {
    Result<json> answer = session_.receive_message();
    if (!answer) return std::move(answer.error());
    PeerMessage fields(*answer);
    std::string type = fields.type();
    const json& indices = fields.list_or_empty("indices");
    if (Status read = fields.status(); !read) return read;
    if (type == "memory-assembled") return {};
    if (type != "memory-missing")
      return make_error(ErrorCode::InvalidInput, "protocol: expected `memory-assembled`, got `" + type + "`");
    if (indices.size() > kMissingPerMessage)
      return make_error(ErrorCode::InvalidInput, "protocol: `memory-missing` asks for " +
                                                     std::to_string(indices.size()) + " pages; at most " +
                                                     std::to_string(kMissingPerMessage) + " at a time");
    asked_again += indices.size();
    if (asked_again > held_.size())
      return make_error(ErrorCode::InvalidInput, "protocol: the destination asked again for more pages than were sent");
    sent = resend(images_dir, images, indices, phase, progress, report);
    if (!sent) return sent;
  }
}

// One page image as records against what the destination holds; returns its digest.
// With `deferrable` (post-copy), those of its pages the destination lacks stay here,
// named by their hash; the digest counts them as zero pages, as the destination's image
// holds them until it fetches them.
Result<memory::PageHash> PrecopySender::encode_image(const fs::path& image, const std::vector<bool>* deferrable,
                                                     memory::PageRecordWriter& records, MemoryReport& report) {
  static const std::byte kZeros[memory::kPageSize] = {};
  memory::StreamDigest digest;
  uint64_t index = 0;
  Status encoded = memory::for_each_page_of_file(image, [&](memory::PageView page) -> Status {
    bool may_defer = deferrable && index < deferrable->size() && (*deferrable)[index];
    ++index;
    bool zero = memory::is_zero_page(page);
    memory::PageHash hash = zero ? memory::PageHash{} : memory::hash_page(page);
    std::optional<uint32_t> held = zero ? std::nullopt : held_.find(hash);
    bool deferred = !zero && !held && may_defer;
    digest.update(deferred ? memory::PageView(kZeros, memory::kPageSize) : page);
    if (zero) {
      ++report.frozen_pages_zero;
      return records.zero();
    }
    if (held) {
      note_returned(*held);
      ++report.frozen_pages_known;
      return records.known(*held);
    }
    if (deferred) {
      ++report.postcopy.pages_deferred;
      return records.deferred(hash);
    }
    ++report.frozen_pages_sent;
    hold(hash);
    return records.literal(page);
  });
  if (encoded) encoded = records.flush();
  if (!encoded) return std::move(encoded.error());
  return digest.digest();
}

// The destination found pages of its store damaged: send those contents again, in the
// order asked, from the checkpoint's own images.
Status PrecopySender::resend(const fs::path& images_dir, const std::vector<std::string>& images, const json& indices,
                             PhaseReport& phase, Progress& progress, MemoryReport& report) {
  std::unordered_map<memory::PageHash, std::vector<std::byte>, memory::PageHashHasher> wanted;
  std::vector<memory::PageHash> order;
  for (const json& index : indices) {
    if (!index.is_number_unsigned() || index.get<uint64_t>() >= held_.size())
      return make_error(ErrorCode::InvalidInput, "the destination asked again for page " + index.dump() +
                                                     ", which was never sent");
    order.push_back(held_.at(index.get<uint32_t>()));
    wanted.emplace(order.back(), std::vector<std::byte>());
  }
  for (const std::string& name : images) {
    Status scanned = memory::for_each_page_of_file(images_dir / name, [&](memory::PageView page) -> Status {
      if (auto it = wanted.find(memory::hash_page(page)); it != wanted.end() && it->second.empty())
        it->second.assign(page.begin(), page.end());
      return {};
    });
    if (!scanned) return scanned;
  }
  return session_.send_stream("memory-resend", phase, progress, zstd_level_, [&](transfer::ByteSink& sink) -> Status {
    for (const memory::PageHash& hash : order) {
      const std::vector<std::byte>& page = wanted[hash];
      if (page.empty())
        return make_error(ErrorCode::Internal, "page " + memory::to_hex(hash) + " the destination asked for "
                                               "is not in this checkpoint");
      Status written = sink.write(page);
      if (!written) return written;
      ++report.frozen_pages_resent;
    }
    return sink.finish();
  });
}

}  // namespace dockmig::migrate
