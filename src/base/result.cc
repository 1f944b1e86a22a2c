// Formatting and wrapping of dockmig::Error (include/dockmig/result.h).
#include "dockmig/result.h"

namespace dockmig {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidInput: return "invalid input";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::ToolFailed: return "tool failed";
    case ErrorCode::Io: return "i/o error";
    case ErrorCode::Network: return "network error";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::Timeout: return "timeout";
    case ErrorCode::Interrupted: return "interrupted";
    case ErrorCode::Internal: return "internal error";
  }
  return "error";
}

Error Error::wrap(std::string_view context) && {
  message = std::string(context) + ": " + message;
  return std::move(*this);
}

Error Error::with_hint(std::string hint_text) && {
  hint = std::move(hint_text);
  return std::move(*this);
}

std::string Error::describe() const {
  std::string text = message;
  if (!hint.empty()) text += "\n  hint: " + hint;
  if (!detail.empty()) text += "\n  detail:\n" + detail;
  return text;
}

}  // namespace dockmig
