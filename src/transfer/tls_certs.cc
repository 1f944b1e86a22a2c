// Makes a test CA and host certificates with OpenSSL's API (no `openssl` CLI). Host
// certificates carry their name and addresses as subjectAltNames, since a source checks
// that the agent it dialled (often by IP address) is the one the certificate names.
#include "transfer/tls_certs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <regex>

#include "transfer/tls.h"

namespace dockmig::transfer {
namespace {

struct PkeyFree { void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); } };
struct X509Free { void operator()(X509* cert) const { X509_free(cert); } };
struct FileClose { void operator()(FILE* file) const { std::fclose(file); } };
using Key = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, X509Free>;
using File = std::unique_ptr<FILE, FileClose>;

constexpr const char* kOrganization = "dockmig test CA";

bool valid_host_name(const std::string& name) {
  static const std::regex kName("[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?");
  return std::regex_match(name, kName) && name.find("..") == std::string::npos;
}

bool is_ip(const std::string& text) {
  unsigned char bytes[16];
  return inet_pton(AF_INET, text.c_str(), bytes) == 1 || inet_pton(AF_INET6, text.c_str(), bytes) == 1;
}

Error openssl_failure(const std::string& what) {
  return make_error(ErrorCode::Internal, what + ": " + openssl_errors());
}

Result<File> open_for_writing(const std::filesystem::path& path, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return make_error(ErrorCode::Io, "cannot write `" + path.string() + "`: " + std::strerror(errno));
  fchmod(fd, mode);  // an existing file keeps its old mode through open()
  return File(fdopen(fd, "w"));
}

Status write_key(const std::filesystem::path& path, EVP_PKEY* key) {
  Result<File> file = open_for_writing(path, 0600);
  if (!file) return std::move(file.error());
  if (PEM_write_PrivateKey(file->get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return openssl_failure("writing `" + path.string() + "`");
  return {};
}

Status write_cert(const std::filesystem::path& path, X509* cert) {
  Result<File> file = open_for_writing(path, 0644);
  if (!file) return std::move(file.error());
  if (PEM_write_X509(file->get(), cert) != 1) return openssl_failure("writing `" + path.string() + "`");
  return {};
}

Status add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) return openssl_failure("certificate extension `" + value + "`");
  int added = X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
  if (added != 1) return openssl_failure("certificate extension `" + value + "`");
  return {};
}

/// A certificate for `key` named `common_name`, valid from an hour ago (clock skew
/// between hosts) for `days`; signed later.
Result<Cert> new_certificate(EVP_PKEY* key, const std::string& common_name, int days) {
  Cert cert(X509_new());
  if (!cert) return openssl_failure("making a certificate");
  X509_set_version(cert.get(), 2);
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), BN_free);
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr)
    return openssl_failure("making a serial number");
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_time_adj_ex(X509_getm_notAfter(cert.get()), days, 0, nullptr);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  auto text = [](const std::string& s) { return reinterpret_cast<const unsigned char*>(s.c_str()); };
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, text(kOrganization), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, text(common_name), -1, -1, 0);
  return cert;
}

struct Authority {
  Key key;
  Cert cert;
};

Result<Authority> load_authority(const std::filesystem::path& cert_path, const std::filesystem::path& key_path) {
  File cert_file(std::fopen(cert_path.c_str(), "r"));
  File key_file(std::fopen(key_path.c_str(), "r"));
  if (!cert_file || !key_file)
    return make_error(ErrorCode::Io, "cannot read the CA in `" + cert_path.parent_path().string() + "`");
  Authority ca{Key(PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr)),
               Cert(PEM_read_X509(cert_file.get(), nullptr, nullptr, nullptr))};
  if (!ca.key || !ca.cert || X509_check_private_key(ca.cert.get(), ca.key.get()) != 1)
    return make_error(ErrorCode::InvalidInput, "the CA in `" + cert_path.parent_path().string() + "` is unreadable: " +
                                                   openssl_errors(),
                      "remove ca.pem and ca-key.pem there to make a new CA (and new host certificates)");
  return ca;
}

Result<Authority> make_authority(int days) {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failure("making the CA key");
  Result<Cert> cert = new_certificate(key.get(), kOrganization, days);
  if (!cert) return std::move(cert.error());
  X509_set_issuer_name(cert->get(), X509_get_subject_name(cert->get()));
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"},
                            std::pair{NID_subject_key_identifier, "hash"}})
    if (Status added = add_extension(cert->get(), cert->get(), nid, value); !added) return std::move(added.error());
  if (X509_sign(cert->get(), key.get(), EVP_sha256()) == 0) return openssl_failure("signing the CA certificate");
  return Authority{std::move(key), std::move(*cert)};
}

Status make_host(const std::filesystem::path& dir, const CertHost& host, const Authority& ca, int days,
                 MadeCertificates& made) {
  Key key(EVP_EC_gen("P-256"));
  if (!key) return openssl_failure("making the key of " + host.name);
  Result<Cert> cert = new_certificate(key.get(), host.name, days);
  if (!cert) return std::move(cert.error());
  X509_set_issuer_name(cert->get(), X509_get_subject_name(ca.cert.get()));
  std::string names = "DNS:" + host.name;
  for (const std::string& address : host.addresses) names += (is_ip(address) ? ",IP:" : ",DNS:") + address;
  names += std::string(",URI:") + kCertRoleUriPrefix + (host.gateway ? "gateway" : "agent");
  std::string usage = host.gateway ? "clientAuth" : "serverAuth,clientAuth";
  for (auto [nid, value] : {std::pair{NID_basic_constraints, std::string("critical,CA:FALSE")},
                            std::pair{NID_key_usage, std::string("critical,digitalSignature")},
                            std::pair{NID_ext_key_usage, usage},
                            std::pair{NID_subject_alt_name, names},
                            std::pair{NID_authority_key_identifier, std::string("keyid:always")}})
    if (Status added = add_extension(cert->get(), ca.cert.get(), nid, value); !added) return std::move(added.error());
  if (X509_sign(cert->get(), ca.key.get(), EVP_sha256()) == 0)
    return openssl_failure("signing the certificate of " + host.name);
  std::filesystem::path cert_path = dir / (host.name + ".pem");
  std::filesystem::path key_path = dir / (host.name + "-key.pem");
  if (Status written = write_key(key_path, key.get()); !written) return written;
  if (Status written = write_cert(cert_path, cert->get()); !written) return written;
  made.written.push_back(cert_path);
  made.written.push_back(key_path);
  return {};
}

}  // namespace

Result<std::vector<CertHost>> parse_cert_hosts(const std::string& text) {
  std::vector<CertHost> hosts;
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::InvalidInput, "--hosts `" + text + "`: " + why,
                      "give NAME[=ADDR[+ADDR...]] per host, separated by commas, e.g. edge-a=10.77.1.1,edge-b=10.77.1.2");
  };
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? text.size() + 1 : comma + 1;
    if (item.empty()) return bad("an empty host");
    CertHost host;
    size_t equals = item.find('=');
    host.name = item.substr(0, equals);
    if (!valid_host_name(host.name) || host.name == "ca")
      return bad("`" + host.name + "` is not a host name (letters, digits, `.` and `-`; not `ca`)");
    if (equals != std::string::npos) {
      std::string addresses = item.substr(equals + 1);
      size_t from = 0;
      while (from <= addresses.size()) {
        size_t plus = addresses.find('+', from);
        std::string address = addresses.substr(from, plus == std::string::npos ? std::string::npos : plus - from);
        from = plus == std::string::npos ? addresses.size() + 1 : plus + 1;
        if (!is_ip(address) && !valid_host_name(address))
          return bad("`" + address + "` is neither an IP address nor a host name");
        host.addresses.push_back(address);
      }
    }
    for (const CertHost& earlier : hosts)
      if (earlier.name == host.name) return bad("`" + host.name + "` is given twice");
    hosts.push_back(std::move(host));
  }
  return hosts;
}

Result<MadeCertificates> make_test_certificates(const std::filesystem::path& dir, const std::vector<CertHost>& hosts,
                                                int days) {
  if (days < 1 || days > 3650)
    return make_error(ErrorCode::InvalidInput, "--days " + std::to_string(days) + " is out of range", "give 1 to 3650");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::Io, "cannot create `" + dir.string() + "`: " + ec.message());
  MadeCertificates made;
  std::filesystem::path ca_cert = dir / "ca.pem";
  std::filesystem::path ca_key = dir / "ca-key.pem";
  Result<Authority> ca = make_error(ErrorCode::Internal, "no CA");
  if (std::filesystem::exists(ca_cert, ec) && std::filesystem::exists(ca_key, ec)) {
    ca = load_authority(ca_cert, ca_key);
    made.reused_ca = true;
  } else {
    ca = make_authority(days);
    if (ca) {
      if (Status written = write_key(ca_key, ca->key.get()); !written) return std::move(written.error());
      if (Status written = write_cert(ca_cert, ca->cert.get()); !written) return std::move(written.error());
      made.written.push_back(ca_cert);
      made.written.push_back(ca_key);
    }
  }
  if (!ca) return std::move(ca.error());
  for (const CertHost& host : hosts)
    if (Status host_made = make_host(dir, host, *ca, days, made); !host_made) return std::move(host_made.error());
  return made;
}

}  // namespace dockmig::transfer
