#include "transfer/rsync_delta.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <librsync.h>

namespace dockmig::transfer {
namespace {

struct FileCloser {
  void operator()(FILE* file) const { std::fclose(file); }
};
using File = std::unique_ptr<FILE, FileCloser>;

Result<File> open_file(const std::filesystem::path& path, const char* mode) {
  FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr)
    return make_error(ErrorCode::Io, "cannot open `" + path.string() + "`: " + std::strerror(errno));
  return File(file);
}

Status check(rs_result result, const std::string& what) {
  if (result == RS_DONE) return {};
  return make_error(ErrorCode::Io, what + ": librsync: " + rs_strerror(result));
}

Status close_written(File file, const std::filesystem::path& path) {
  if (std::fclose(file.release()) != 0)
    return make_error(ErrorCode::Io, "cannot write `" + path.string() + "`: " + std::strerror(errno));
  return {};
}

}  // namespace

Status write_signature(const std::filesystem::path& basis, const std::filesystem::path& signature) {
  std::error_code ec;
  auto size = static_cast<rs_long_t>(std::filesystem::file_size(basis, ec));
  if (ec) return make_error(ErrorCode::Io, "cannot stat `" + basis.string() + "`: " + ec.message());
  rs_magic_number magic = RS_BLAKE2_SIG_MAGIC;
  size_t block_len = 0, strong_len = 0;
  Status args = check(rs_sig_args(size, &magic, &block_len, &strong_len), "signing " + basis.string());
  if (!args) return args;
  Result<File> in = open_file(basis, "rb");
  if (!in) return std::move(in.error());
  Result<File> out = open_file(signature, "wb");
  if (!out) return std::move(out.error());
  Status signed_ = check(rs_sig_file(in->get(), out->get(), block_len, strong_len, magic, nullptr),
                         "signing " + basis.string());
  if (!signed_) return signed_;
  return close_written(std::move(*out), signature);
}

Status write_delta(const std::filesystem::path& signature, const std::filesystem::path& new_file,
                   const std::filesystem::path& delta) {
  Result<File> sig_file = open_file(signature, "rb");
  if (!sig_file) return std::move(sig_file.error());
  rs_signature_t* loaded = nullptr;
  Status read = check(rs_loadsig_file(sig_file->get(), &loaded, nullptr), "reading " + signature.string());
  std::unique_ptr<rs_signature_t, void (*)(rs_signature_t*)> sums(loaded, rs_free_sumset);
  if (!read) return read;
  Status indexed = check(rs_build_hash_table(sums.get()), "indexing " + signature.string());
  if (!indexed) return indexed;
  Result<File> in = open_file(new_file, "rb");
  if (!in) return std::move(in.error());
  Result<File> out = open_file(delta, "wb");
  if (!out) return std::move(out.error());
  Status made = check(rs_delta_file(sums.get(), in->get(), out->get(), nullptr), "delta of " + new_file.string());
  if (!made) return made;
  return close_written(std::move(*out), delta);
}

Status apply_delta(const std::filesystem::path& basis, const std::filesystem::path& delta,
                   const std::filesystem::path& out) {
  Result<File> basis_file = open_file(basis, "rb");
  if (!basis_file) return std::move(basis_file.error());
  Result<File> delta_file = open_file(delta, "rb");
  if (!delta_file) return std::move(delta_file.error());
  Result<File> out_file = open_file(out, "wb");
  if (!out_file) return std::move(out_file.error());
  Status patched = check(rs_patch_file(basis_file->get(), delta_file->get(), out_file->get(), nullptr),
                         "patching " + basis.string());
  if (!patched) return patched;
  return close_written(std::move(*out_file), out);
}

}  // namespace dockmig::transfer
