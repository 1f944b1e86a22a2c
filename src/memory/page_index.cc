#include "memory/page_index.h"

#include <cassert>
#include <limits>

namespace dockmig::memory {
namespace {

constexpr size_t kFirstSlots = 1024;  // a power of two
constexpr uint64_t kEmptyAddress = std::numeric_limits<uint64_t>::max();

// Grows before a table is 70% full: probes stay short.
bool too_full(size_t entries, size_t slots) { return (entries + 1) * 10 > slots * 7; }

// Addresses are not uniform (they count up): mixed as MurmurHash3's finalizer does.
size_t address_slot(uint64_t key, size_t mask) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdull;
  key ^= key >> 33;
  return static_cast<size_t>(key) & mask;
}

}  // namespace

uint32_t HeldPages::add(const PageHash& hash) {
  if (too_full(hashes_.size(), slots_.size())) grow();
  uint32_t index = size();
  hashes_.push_back(hash);
  place(index);
  return index;
}

std::optional<uint32_t> HeldPages::find(const PageHash& hash) const {
  if (slots_.empty()) return std::nullopt;
  size_t mask = slots_.size() - 1;
  for (size_t slot = hash.low & mask; slots_[slot] != 0; slot = (slot + 1) & mask)
    if (hashes_[slots_[slot] - 1] == hash) return slots_[slot] - 1;
  return std::nullopt;
}

void HeldPages::place(uint32_t index) {
  size_t mask = slots_.size() - 1;
  size_t slot = hashes_[index].low & mask;
  while (slots_[slot] != 0) slot = (slot + 1) & mask;
  slots_[slot] = index + 1;
}

void HeldPages::grow() {
  slots_.assign(slots_.empty() ? kFirstSlots : slots_.size() * 2, 0);
  for (uint32_t index = 0; index < size(); ++index) place(index);
}

bool PageAddressSet::insert(uint64_t key) {
  assert(key != kEmptyAddress);
  if (too_full(count_, slots_.size())) grow();
  uint64_t& slot = slot_for(key);
  if (slot == key) return false;
  slot = key;
  ++count_;
  return true;
}

uint64_t& PageAddressSet::slot_for(uint64_t key) {
  size_t mask = slots_.size() - 1;
  size_t slot = address_slot(key, mask);
  while (slots_[slot] != kEmptyAddress && slots_[slot] != key) slot = (slot + 1) & mask;
  return slots_[slot];
}

void PageAddressSet::grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? kFirstSlots : old.size() * 2, kEmptyAddress);
  for (uint64_t key : old)
    if (key != kEmptyAddress) slot_for(key) = key;
}

}  // namespace dockmig::memory
