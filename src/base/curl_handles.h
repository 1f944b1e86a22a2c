// libcurl's handles as owning pointers, and the write callback that collects a body:
// shared by the clients that speak HTTP (docker/, etcd/).
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>

namespace dockmig::base {

struct CurlDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct HeaderListDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using CurlHeaders = std::unique_ptr<curl_slist, HeaderListDeleter>;

/// CURLOPT_WRITEFUNCTION that appends to the std::string given as CURLOPT_WRITEDATA.
inline size_t append_to_string(char* data, size_t size, size_t count, void* target) {
  static_cast<std::string*>(target)->append(data, size * count);
  return size * count;
}

}  // namespace dockmig::base
