// A small test CA and host certificates for a lab or the test bed (`dockmig certs`), made
// with OpenSSL's API. An agent's certificate serves both ends of an agent link (server and
// client authentication), since an edge host both sends and receives containers; a
// gateway's only authenticates it as a client of the HTTP API. Each carries its role
// (transfer/tls.h, CertRole), so an agent refuses a gateway's certificate on its link.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "dockmig/result.h"

namespace dockmig::transfer {

struct CertHost {
  std::string name;                    // the certificate's CN and DNS name; also its file name
  std::vector<std::string> addresses;  // IP addresses (or more DNS names) it answers on
  bool gateway = false;                // a gateway's client certificate, not an agent's
};

/// Parses "edge-a=10.77.1.1,edge-b=10.77.1.2+fd00::2,gateway": a name, then optional
/// addresses after `=`, separated by `+`.
Result<std::vector<CertHost>> parse_cert_hosts(const std::string& text);

struct MadeCertificates {
  bool reused_ca = false;
  std::vector<std::filesystem::path> written;
};

/// In `dir`: ca.pem and ca-key.pem (kept when they exist, so hosts can be added later),
/// then NAME.pem and NAME-key.pem per host, signed by the CA. Keys are EC P-256, mode 0600.
Result<MadeCertificates> make_test_certificates(const std::filesystem::path& dir,
                                                const std::vector<CertHost>& hosts, int days);

}  // namespace dockmig::transfer
