// Where a session's work ends. Exceptions stop where they arise (STYLE 6.6), so what still
// escapes a session here is a bug or an allocation failure: it becomes that session's
// Internal error, the session fails and rolls back like any other failure, and the agent
// keeps serving. An exception that left a thread would end the process (std::terminate).
#pragma once

#include <exception>
#include <string>
#include <string_view>

#include "dockmig/result.h"

namespace dockmig::base {

/// Runs `body` (returning a Status); an exception it lets out becomes an Internal error
/// "CONTEXT: unexpected exception: WHAT".
template <class Body>
Status contain_exceptions(std::string_view context, Body&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return make_error(ErrorCode::Internal, std::string(context) + ": unexpected exception: " + e.what());
  } catch (...) {
    return make_error(ErrorCode::Internal, std::string(context) + ": unexpected exception of an unknown type");
  }
}

}  // namespace dockmig::base
