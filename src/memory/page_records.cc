#include "memory/page_records.h"

#include <array>
#include <cstring>

namespace dockmig::memory {
namespace {

constexpr uint32_t kMaxLiteralRun = 256;

void put_u32(std::vector<std::byte>& out, uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::byte>(value >> (8 * i)));
}

uint32_t get_u32(const std::byte* in) {
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value |= static_cast<uint32_t>(in[i]) << (8 * i);
  return value;
}

char run_tag(PageRecordWriter::Run run) {
  switch (run) {
    case PageRecordWriter::Run::Zero: return 'Z';
    case PageRecordWriter::Run::Known: return 'K';
    case PageRecordWriter::Run::Deferred: return 'D';
    default: return 'L';
  }
}

Error bad_stream(const std::string& why) {
  return make_error(ErrorCode::InvalidInput, "malformed page stream: " + why);
}

}  // namespace

Status PageRecordVisitor::deferred(const PageHash&) {
  return bad_stream("a deferred page where every page must come along");
}

Status PageRecordWriter::start(Run run) {
  if (run_ != run) {
    Status flushed = flush();
    if (!flushed) return flushed;
    run_ = run;
  }
  return {};
}

Status PageRecordWriter::zero() {
  Status started = start(Run::Zero);
  if (started) ++count_;
  return started;
}

Status PageRecordWriter::known(uint32_t index) {
  if (run_ == Run::Known && index == first_ + count_) {
    ++count_;
    return {};
  }
  Status flushed = flush();
  if (!flushed) return flushed;
  run_ = Run::Known;
  first_ = index;
  count_ = 1;
  return {};
}

Status PageRecordWriter::literal(PageView page) {
  Status started = start(Run::Literal);
  if (!started) return started;
  if (encoder_) encoder_->encode(page, literals_);
  else literals_.insert(literals_.end(), page.begin(), page.end());
  if (++count_ == kMaxLiteralRun) return flush();
  return {};
}

Status PageRecordWriter::deferred(const PageHash& hash) {
  Status started = start(Run::Deferred);
  if (!started) return started;
  std::array<std::byte, kPageHashBytes> bytes = hash_bytes(hash);
  literals_.insert(literals_.end(), bytes.begin(), bytes.end());
  if (++count_ == kMaxLiteralRun) return flush();
  return {};
}

Status PageRecordWriter::flush() {
  if (run_ == Run::None || count_ == 0) {
    run_ = Run::None;
    return {};
  }
  std::vector<std::byte> header;
  header.push_back(static_cast<std::byte>(run_tag(run_)));
  if (run_ == Run::Known) put_u32(header, first_);
  put_u32(header, count_);
  Status written = out_.write(header);
  if (written && (run_ == Run::Literal || run_ == Run::Deferred)) written = out_.write(literals_);
  literals_.clear();
  run_ = Run::None;
  count_ = 0;
  return written;
}

Result<bool> read_exact(transfer::ByteSource& in, std::span<std::byte> buffer) {
  size_t have = 0;
  while (have < buffer.size()) {
    Result<size_t> got = in.read(buffer.subspan(have));
    if (!got) return std::move(got.error());
    if (*got == 0) {
      if (have == 0) return false;
      return bad_stream("cut in the middle of a record");
    }
    have += *got;
  }
  return true;
}

Result<bool> read_page(transfer::ByteSource& in, bool coded, std::span<std::byte, kPageSize> page) {
  if (!coded) return read_exact(in, page);
  std::array<std::byte, kCodedPageSize> buffer;
  Result<bool> got = read_exact(in, buffer);
  if (!got || !*got) return got;
  if (Status decoded = decode_page(buffer, page); !decoded) return std::move(decoded.error());
  return true;
}

Status read_page_records(transfer::ByteSource& in, uint64_t pages, PageRecordVisitor& visitor, bool coded) {
  std::array<std::byte, kPageSize> page;
  for (uint64_t done = 0; done < pages;) {
    std::byte header[9];
    Result<bool> got = read_exact(in, std::span(header, 5));
    if (!got) return std::move(got.error());
    if (!*got) return bad_stream("ended " + std::to_string(pages - done) + " pages early");
    char tag = static_cast<char>(header[0]);
    uint32_t first = 0, count = get_u32(header + 1);
    if (tag == 'K') {
      got = read_exact(in, std::span(header + 5, 4));
      if (!got || !*got) return bad_stream("cut in a known-pages record");
      first = count;
      count = get_u32(header + 5);
    }
    if (count == 0 || count > pages - done) return bad_stream("a run of " + std::to_string(count) + " pages does not fit");
    Status visited;
    if (tag == 'Z') visited = visitor.zero(count);
    else if (tag == 'K') visited = visitor.known(first, count);
    else if (tag == 'L') {
      for (uint32_t i = 0; i < count && visited; ++i) {
        got = read_page(in, coded, page);
        if (!got) return std::move(got.error());
        if (!*got) return bad_stream("cut in a literal page");
        visited = visitor.literal(page);
      }
    } else if (tag == 'D') {
      std::array<std::byte, kPageHashBytes> hash;
      for (uint32_t i = 0; i < count && visited; ++i) {
        got = read_exact(in, hash);
        if (!got || !*got) return bad_stream("cut in a deferred-pages record");
        visited = visitor.deferred(hash_from_bytes(hash));
      }
    } else {
      return bad_stream("unknown record tag " + std::to_string(static_cast<int>(header[0])));
    }
    if (!visited) return visited;
    done += count;
  }
  return {};
}

}  // namespace dockmig::memory
