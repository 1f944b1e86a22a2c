// zstd streaming stages. Compression runs single-threaded (nbWorkers 0): the edge hosts have
// two cores and the container is frozen while the final sync compresses. Decompression
// tracks whether the last frame ended, so a stream cut short is an error, never a short file.
#include "transfer/zstd_stream.h"

#include <zstd.h>

#include <string>

namespace dockmig::transfer {
namespace {

Error zstd_error(ErrorCode code, const char* what, size_t zstd_code) {
  return make_error(code, std::string(what) + ": " + ZSTD_getErrorName(zstd_code));
}

// From level 9 up, zstd's tables for a stream of unknown size grow to 90 MiB (level 19),
// which would make an agent's memory many times its usual 20 MiB. Capped at a 2 MiB window
// they take at most 15 MiB and, on memory pages, lose 1-3% of their ratio.
constexpr int kFirstCappedLevel = 9;
constexpr int kMaxWindowLog = 21, kMaxChainLog = 21, kMaxHashLog = 20;

void set_level(ZSTD_CCtx_s* context, int level) {
  ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level);
  bool capped = level >= kFirstCappedLevel;
  ZSTD_CCtx_setParameter(context, ZSTD_c_windowLog, capped ? kMaxWindowLog : 0);  // 0: the level's own
  ZSTD_CCtx_setParameter(context, ZSTD_c_chainLog, capped ? kMaxChainLog : 0);
  ZSTD_CCtx_setParameter(context, ZSTD_c_hashLog, capped ? kMaxHashLog : 0);
}

}  // namespace

ZstdCompressSink::ZstdCompressSink(ByteSink& next, int level) : ZstdCompressSink(next, level, ZSTD_createCCtx()) {
  owns_context_ = true;
}

ZstdCompressSink::ZstdCompressSink(ByteSink& next, int level, ZSTD_CCtx_s* context)
    : next_(next), context_(context), out_(ZSTD_CStreamOutSize()) {
  if (context_ == nullptr) return;
  // A borrowed context may still hold the unfinished frame of a stream that failed.
  ZSTD_CCtx_reset(context_, ZSTD_reset_session_only);
  set_level(context_, level);
  ZSTD_CCtx_setParameter(context_, ZSTD_c_nbWorkers, 0);
}

ZstdCompressSink::~ZstdCompressSink() {
  if (owns_context_) ZSTD_freeCCtx(context_);
}

Status ZstdCompressSink::write(std::span<const std::byte> data) {
  if (context_ == nullptr) return make_error(ErrorCode::Internal, "zstd: cannot allocate a compression context");
  // finish() releases out_, so an empty buffer marks a finished sink.
  if (out_.empty()) return make_error(ErrorCode::Internal, "zstd: write after finish");
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    size_t result = ZSTD_compressStream2(context_, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(result)) return zstd_error(ErrorCode::Internal, "zstd compression", result);
    if (out.pos > 0) {
      if (Status sent = next_.write(std::span(out_).first(out.pos)); !sent) return sent;
    }
  }
  return {};
}

Status ZstdCompressSink::finish() {
  if (context_ == nullptr) return make_error(ErrorCode::Internal, "zstd: cannot allocate a compression context");
  if (out_.empty()) return make_error(ErrorCode::Internal, "zstd: finished twice");
  ZSTD_inBuffer in{nullptr, 0, 0};
  size_t remaining = 1;
  while (remaining != 0) {
    ZSTD_outBuffer out{out_.data(), out_.size(), 0};
    remaining = ZSTD_compressStream2(context_, &out, &in, ZSTD_e_end);
    if (ZSTD_isError(remaining)) return zstd_error(ErrorCode::Internal, "zstd compression", remaining);
    if (out.pos > 0) {
      if (Status sent = next_.write(std::span(out_).first(out.pos)); !sent) return sent;
    }
  }
  out_.clear();
  out_.shrink_to_fit();
  return next_.finish();
}

ZstdDecompressSource::ZstdDecompressSource(ByteSource& source)
    : source_(source), context_(ZSTD_createDCtx()), in_(ZSTD_DStreamInSize()) {}

ZstdDecompressSource::~ZstdDecompressSource() { ZSTD_freeDCtx(context_); }

Result<size_t> ZstdDecompressSource::read(std::span<std::byte> buffer) {
  if (context_ == nullptr) return make_error(ErrorCode::Internal, "zstd: cannot allocate a decompression context");
  if (buffer.empty()) return size_t{0};
  while (true) {
    // Inside a frame zstd may still hold output even when no input is left, so call it.
    if (in_pos_ < in_size_ || !frame_complete_) {
      ZSTD_inBuffer in{in_.data(), in_size_, in_pos_};
      ZSTD_outBuffer out{buffer.data(), buffer.size(), 0};
      size_t result = ZSTD_decompressStream(context_, &out, &in);
      if (ZSTD_isError(result)) return zstd_error(ErrorCode::InvalidInput, "corrupt zstd stream", result);
      in_pos_ = in.pos;
      frame_complete_ = result == 0;
      if (out.pos > 0) return out.pos;
      if (in_pos_ < in_size_) continue;
    }
    if (source_ended_) {
      if (!frame_complete_) return make_error(ErrorCode::InvalidInput, "truncated zstd stream");
      return size_t{0};
    }
    Result<size_t> got = source_.read(in_);
    if (!got) return std::move(got.error());
    in_pos_ = 0;
    in_size_ = *got;
    source_ended_ = *got == 0;
  }
}

Status CountingSink::write(std::span<const std::byte> data) {
  count_ += data.size();
  return next_.write(data);
}

}  // namespace dockmig::transfer
