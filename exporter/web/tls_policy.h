// TLS of the HTTP server, from a web config's tls_server_config, through libmicrohttpd's GnuTLS:
// the PEM material and GnuTLS priority string MHD is started with, and the per-connection setup
// (MHD_CONNECTION_NOTIFY_STARTED) that asks for a client certificate and verifies it inside the
// handshake. Create() runs once at start; the policy is immutable afterwards and thread safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exporter/web/web_config.h"

struct MHD_OptionItem;
struct MHD_Connection;
typedef struct gnutls_session_int* gnutls_session_t;

namespace nfct {

class TlsPolicy {
 public:
  struct Created {
    std::unique_ptr<TlsPolicy> policy;
    std::string error;  // one line: which key or file and what is wrong with it
  };
  // Reads the certificate, key and client CA files, checks that the key matches the
  // certificate, and maps versions, cipher suites and curves to a GnuTLS priority string.
  // `config.enabled()` must be true.
  static Created Create(const TlsServerConfig& config);

  // GnuTLS priority string, e.g. "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:%SERVER_PRECEDENCE".
  const std::string& priorities() const { return priorities_; }
  // MHD_OPTION_HTTPS_MEM_KEY/CERT/(TRUST)/PRIORITIES items, without the terminating
  // MHD_OPTION_END; they point into this policy, which must outlive the daemon.
  std::vector<MHD_OptionItem> MhdOptions() const;
  // Call from MHD_CONNECTION_NOTIFY_STARTED, before the handshake. Returns false when the
  // session could not be set up (the caller then closes the connection).
  bool ConfigureConnection(MHD_Connection* connection) const;
  bool ConfigureSession(gnutls_session_t session) const;

 private:
  TlsPolicy() = default;
  static int VerifyPeer(gnutls_session_t session);

  TlsServerConfig config_;
  std::string cert_pem_, key_pem_, trust_pem_;
  std::string priorities_;
};

// The GnuTLS priority string for a tls_server_config; error non-empty when it cannot be mapped
// honestly (a cipher GnuTLS lacks, or a list GnuTLS cannot enable without enabling more).
struct TlsPriorities {
  std::string priorities;
  std::string error;
};
TlsPriorities BuildTlsPriorities(const TlsServerConfig& config);

}  // namespace nfct
