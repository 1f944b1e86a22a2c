// `dockmig certs --dir DIR --hosts edge-a=10.77.1.1,edge-b=10.77.1.2 --gateways gw-1`: a
// small test CA, a certificate per agent host for the TLS link between agents (and the
// HTTPS API), and per gateway a client certificate for the API only, for a lab or the test
// bed. A CA already in DIR is kept, so hosts can be added later.
#include <cstdio>

#include "cli/verbs.h"
#include "transfer/tls_certs.h"

namespace dockmig::cli {
namespace {

/// The agents of --hosts, then the gateways of --gateways; a name may appear once.
Result<std::vector<transfer::CertHost>> certified(const std::string& hosts, const std::string& gateways) {
  if (hosts.empty() && gateways.empty())
    return make_error(ErrorCode::InvalidInput, "nothing to certify", "give --hosts, --gateways or both");
  std::vector<transfer::CertHost> all;
  for (const auto& [list, gateway] : {std::pair{&hosts, false}, std::pair{&gateways, true}}) {
    if (list->empty()) continue;
    Result<std::vector<transfer::CertHost>> parsed = transfer::parse_cert_hosts(*list);
    if (!parsed) return std::move(parsed.error()).wrap(gateway ? "--gateways" : "--hosts");
    for (transfer::CertHost& host : *parsed) {
      for (const transfer::CertHost& earlier : all)
        if (earlier.name == host.name)
          return make_error(ErrorCode::InvalidInput, "`" + host.name + "` is both an agent and a gateway",
                            "a gateway needs a certificate of its own, with another name");
      host.gateway = gateway;
      all.push_back(std::move(host));
    }
  }
  return all;
}

}  // namespace

VerbRunner define_certs(CLI::App& command) {
  struct Options {
    std::string dir;
    std::string hosts;
    std::string gateways;
    int days = 365;
  };
  auto options = std::make_shared<Options>();
  command.add_option("--dir", options->dir, "Where to write ca.pem, ca-key.pem, NAME.pem and NAME-key.pem")
      ->required();
  command.add_option("--hosts", options->hosts,
                     "Agent hosts to certify: NAME[=ADDR[+ADDR...]],... (the addresses peers dial)");
  command.add_option("--gateways", options->gateways,
                     "Gateways to certify as clients of the HTTP API only: NAME,...\n"
                     "(an agent refuses their certificates on its migration link)");
  command.add_option("--days", options->days, "Validity of new certificates")->capture_default_str();
  command.footer(
      "Each agent then runs with --tls-cert DIR/NAME.pem --tls-key DIR/NAME-key.pem --tls-ca DIR/ca.pem;\n"
      "a gateway calls the API with its DIR/NAME.pem and DIR/NAME-key.pem. Certificates carry their\n"
      "role (subjectAltName URI dockmig:role=agent or dockmig:role=gateway).\n"
      "A test CA is for a lab: keep ca-key.pem private, and use your own PKI in production.\n"
      "Example: dockmig certs --dir /etc/dockmig/tls --hosts edge-a=10.77.1.1,edge-b=10.77.1.2 --gateways gw-1");
  return [options]() -> int {
    Result<std::vector<transfer::CertHost>> hosts = certified(options->hosts, options->gateways);
    if (!hosts) return report_error(hosts.error());
    Result<transfer::MadeCertificates> made = transfer::make_test_certificates(options->dir, *hosts, options->days);
    if (!made) return report_error(made.error());
    if (made->reused_ca) std::printf("kept the CA in %s\n", options->dir.c_str());
    for (const std::filesystem::path& path : made->written) std::printf("wrote %s\n", path.c_str());
    return kExitSuccess;
  };
}

}  // namespace dockmig::cli
