// Shared by the TLS and web config tests: throw-away certificates made at test time by
// tests/tools/make_test_certs.sh in a temporary directory (removed by the destructor), web
// config files written next to them, and cpp-httplib TLS clients. Single-threaded test use.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace nfct::testing {

class TestCerts {
 public:
  TestCerts() {
    char pattern[] = "/tmp/nfct-tls-XXXXXX";
    const char* made = mkdtemp(pattern);
    if (made == nullptr) return;
    dir_ = made;
    std::string command = std::string(NFCT_MAKE_TEST_CERTS) + " " + dir_ + " >/dev/null";
    ok_ = std::system(command.c_str()) == 0;
  }
  ~TestCerts() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  bool ok() const { return ok_; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  // Writes a web config file into the certificate directory and returns its path.
  std::string WriteConfig(const std::string& name, const std::string& yaml) const {
    std::ofstream(Path(name)) << yaml;
    return Path(name);
  }
  std::string Read(const std::string& name) const {
    std::ifstream in(Path(name));
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }

 private:
  std::string dir_;
  bool ok_ = false;
};

// One set per test process, made on first use (openssl takes a while), removed at exit.
inline const TestCerts& SharedTestCerts() {
  static TestCerts certs;
  return certs;
}

struct ClientOptions {
  std::string cert, key;  // client certificate (file names in TestCerts); empty: none
  int max_version = 0;    // e.g. TLS1_2_VERSION; 0: OpenSSL's default
};

// An HTTPS client that trusts the test CA and checks the server's name (127.0.0.1).
inline std::unique_ptr<httplib::SSLClient> TlsClient(const TestCerts& certs, int port,
                                                     const ClientOptions& options = {}) {
  // A server that refuses a handshake closes the socket under the client's writes.
  signal(SIGPIPE, SIG_IGN);
  std::unique_ptr<httplib::SSLClient> client;
  if (options.cert.empty()) {
    client = std::make_unique<httplib::SSLClient>("127.0.0.1", port);
  } else {
    client = std::make_unique<httplib::SSLClient>("127.0.0.1", port, certs.Path(options.cert),
                                                  certs.Path(options.key));
  }
  client->set_ca_cert_path(certs.Path("ca.crt"));
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(5);
  client->set_read_timeout(5);
  if (options.max_version != 0)
    SSL_CTX_set_max_proto_version(client->ssl_context(), options.max_version);
  return client;
}

}  // namespace nfct::testing
