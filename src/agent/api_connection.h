// One connection to the HTTP API, served here rather than by cpp-httplib's own loop:
// httplib 0.11 bounds each read only, so a client that trickles a byte now and then holds
// a worker for as long as it likes. Here the whole request (TLS handshake, headers, body)
// has one deadline, a connection carries one request, and one client address holds at
// most a few workers at a time.
#pragma once

#include <httplib.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>

namespace dockmig::agent {

struct ConnectionLimits {
  std::chrono::seconds request_deadline{30};  // from accept until the request is read whole
  std::chrono::seconds read_timeout{10};      // silence within a request
  std::chrono::seconds write_timeout{10};     // a response write the client does not take
  int per_client = 8;                         // connections one client address has at once
  std::chrono::seconds unacked_timeout{30};   // sent data the client's host does not acknowledge
};

/// How many connections each client address has open.
class ClientSlots {
 public:
  explicit ClientSlots(int per_client) : per_client_(per_client) {}
  /// False when `address` already holds all its connections.
  bool take(const std::string& address);
  void give_back(const std::string& address);

 private:
  std::mutex mutex_;
  std::map<std::string, int> open_;
  int per_client_;
};

/// Serves one accepted socket under `limits` (ssl_context null: plain HTTP), then closes it.
/// `serve_request` is httplib's Server::process_request bound to the server.
using RequestServer =
    std::function<bool(httplib::Stream&, bool close_connection, bool& closed, const std::function<void(httplib::Request&)>&)>;
bool serve_connection(int socket, SSL_CTX* ssl_context, const ConnectionLimits& limits, ClientSlots& slots,
                      const RequestServer& serve_request);

/// httplib's servers with their connections served by serve_connection.
class BoundedServer : public httplib::Server {
 public:
  explicit BoundedServer(const ConnectionLimits& limits) : limits_(limits), slots_(limits.per_client) {}

 private:
  bool process_and_close_socket(socket_t socket) override;
  ConnectionLimits limits_;
  ClientSlots slots_;
};

class BoundedSslServer : public httplib::SSLServer {
 public:
  BoundedSslServer(const ConnectionLimits& limits, const std::function<bool(SSL_CTX&)>& set_up)
      : httplib::SSLServer(set_up), limits_(limits), slots_(limits.per_client) {}

 private:
  bool process_and_close_socket(socket_t socket) override;
  ConnectionLimits limits_;
  ClientSlots slots_;
};

}  // namespace dockmig::agent
