// `dockmig certs --dir DIR --hosts edge-a=10.77.1.1,edge-b=10.77.1.2`: a small test CA and
// a certificate per host for the TLS link between agents (and the HTTPS API), for a lab
// or the test bed. A CA already in DIR is kept, so hosts can be added later.
#include <cstdio>

#include "cli/verbs.h"
#include "transfer/tls_certs.h"

namespace dockmig::cli {

VerbRunner define_certs(CLI::App& command) {
  struct Options {
    std::string dir;
    std::string hosts;
    int days = 365;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--dir", options->dir, "Where to write ca.pem, ca-key.pem, NAME.pem and NAME-key.pem")
      ->required();
  command.add_option("--hosts", options->hosts,
                     "Hosts to certify: NAME[=ADDR[+ADDR...]],... (the addresses peers dial)")
      ->required();
  command.add_option("--days", options->days, "Validity of new certificates")->capture_default_str();
  command.footer(
      "Each agent then runs with --tls-cert DIR/NAME.pem --tls-key DIR/NAME-key.pem --tls-ca DIR/ca.pem.\n"
      "A test CA is for a lab: keep ca-key.pem private, and use your own PKI in production.\n"
      "Example: dockmig certs --dir /etc/dockmig/tls --hosts edge-a=10.77.1.1,edge-b=10.77.1.2");
  return [options]() -> int {
    Result<std::vector<transfer::CertHost>> hosts = transfer::parse_cert_hosts(options->hosts);
    if (!hosts) return report_error(hosts.error());
    Result<transfer::MadeCertificates> made = transfer::make_test_certificates(options->dir, *hosts, options->days);
    if (!made) return report_error(made.error());
    if (made->reused_ca) std::printf("kept the CA in %s\n", options->dir.c_str());
    for (const std::filesystem::path& path : made->written) std::printf("wrote %s\n", path.c_str());
    return kExitSuccess;
  };
}

}  // namespace dockmig::cli
