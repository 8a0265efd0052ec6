#include "exporter/web/tls_policy.h"

#include <arpa/inet.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "collectors/env.h"

namespace nfct {
namespace {

// GnuTLS's own description of one cipher suite, found by its IANA id.
struct SuiteParts {
  gnutls_kx_algorithm_t kx;
  gnutls_cipher_algorithm_t cipher;
  gnutls_mac_algorithm_t mac;
  gnutls_protocol_t min_version;
  bool found = false;
};
SuiteParts FindSuite(uint16_t id) {
  SuiteParts parts{};
  for (size_t i = 0;; ++i) {
    unsigned char cs[2];
    const char* name =
        gnutls_cipher_suite_info(i, cs, &parts.kx, &parts.cipher, &parts.mac, &parts.min_version);
    if (name == nullptr) return SuiteParts{};
    if (cs[0] == (id >> 8) && cs[1] == (id & 0xff)) {
      parts.found = true;
      return parts;
    }
  }
}

bool IsTls13Suite(uint16_t id) { return (id >> 8) == 0x13; }

const char* GroupName(const std::string& curve) {
  if (curve == "CurveP256") return "GROUP-SECP256R1";
  if (curve == "CurveP384") return "GROUP-SECP384R1";
  if (curve == "CurveP521") return "GROUP-SECP521R1";
  return "GROUP-X25519";  // the parser admits only these four names
}

const char* VersionToken(TlsVersion version) {
  switch (version) {
    case TlsVersion::kTls10:
      return "VERS-TLS1.0";
    case TlsVersion::kTls11:
      return "VERS-TLS1.1";
    case TlsVersion::kTls12:
      return "VERS-TLS1.2";
    case TlsVersion::kTls13:
      return "VERS-TLS1.3";
  }
  return "";
}

template <typename T>
void AddOnce(std::vector<T>& list, T value) {
  if (std::find(list.begin(), list.end(), value) == list.end()) list.push_back(value);
}

std::string SuiteLabel(uint16_t id) {
  std::string_view go = CipherSuiteName(id);
  if (!go.empty()) return std::string(go);
  char hex[8];
  snprintf(hex, sizeof(hex), "0x%04x", id);
  return hex;
}

// The cipher suites (IANA ids) a priority string enables, from GnuTLS itself.
std::vector<uint16_t> EnabledSuites(const std::string& priorities, std::string& error) {
  std::vector<uint16_t> ids;
  gnutls_priority_t cache;
  const char* where = nullptr;
  int rc = gnutls_priority_init(&cache, priorities.c_str(), &where);
  if (rc < 0) {
    error = "GnuTLS refuses priority string \"" + priorities + "\" at \"" + (where ? where : "") +
            "\": " + gnutls_strerror(rc);
    return ids;
  }
  for (unsigned i = 0;; ++i) {
    unsigned index = 0;
    rc = gnutls_priority_get_cipher_suite_index(cache, i, &index);
    if (rc == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
    if (rc < 0) continue;  // an entry this build does not support
    unsigned char cs[2];
    if (gnutls_cipher_suite_info(index, cs, nullptr, nullptr, nullptr, nullptr))
      ids.push_back(static_cast<uint16_t>(cs[0] << 8 | cs[1]));
  }
  gnutls_priority_deinit(cache);
  return ids;
}

// GnuTLS selects TLS 1.2 suites as the product of enabled ciphers, key exchanges and MACs, not
// suite by suite as Go does. The listed suites' parts are enabled and the product GnuTLS really
// enables is compared with the list: anything more is refused, never silently allowed.
std::string CipherTokens(const TlsServerConfig& config, std::string& error) {
  std::vector<uint16_t> tls12, tls13;
  std::vector<gnutls_cipher_algorithm_t> ciphers;
  std::vector<gnutls_kx_algorithm_t> kxs;
  std::vector<gnutls_mac_algorithm_t> macs;
  for (uint16_t id : config.cipher_suites) {
    SuiteParts parts = FindSuite(id);
    if (!parts.found) {
      error = "cipher_suites: " + SuiteLabel(id) + " is not available in this GnuTLS";
      return "";
    }
    AddOnce(ciphers, parts.cipher);
    if (IsTls13Suite(id)) {
      AddOnce(tls13, id);
    } else {
      AddOnce(tls12, id);
      AddOnce(kxs, parts.kx);
      AddOnce(macs, parts.mac);
    }
  }
  if (tls12.empty() && config.min_version <= TlsVersion::kTls12) {
    error =
        "cipher_suites: only TLS 1.3 suites are listed, but min_version allows TLS 1.2; list the "
        "TLS 1.2 suites too or set min_version: TLS13";
    return "";
  }
  std::string tokens = ":-CIPHER-ALL";
  for (auto cipher : ciphers) tokens += ":+" + std::string(gnutls_cipher_get_name(cipher));
  if (tls12.empty()) return tokens;  // TLS 1.3 only: key exchange and MAC are not chosen here
  tokens += ":-KX-ALL";
  for (auto kx : kxs) tokens += ":+" + std::string(gnutls_kx_get_name(kx));
  tokens += ":-MAC-ALL";
  for (auto mac : macs) tokens += ":+" + std::string(gnutls_mac_get_name(mac));
  return tokens;
}

}  // namespace

TlsPriorities BuildTlsPriorities(const TlsServerConfig& config) {
  TlsPriorities result;
  // NORMAL is GnuTLS's vetted default; Go (1.22+) offers only forward-secret ECDHE key exchange
  // by default, and so does this unless cipher_suites says otherwise.
  std::string p = "NORMAL:-VERS-ALL";
  for (int v = static_cast<int>(config.max_version); v >= static_cast<int>(config.min_version); --v)
    p += ":+" + std::string(VersionToken(static_cast<TlsVersion>(v)));
  if (config.cipher_suites.empty()) {
    p += ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA";
  } else {
    p += CipherTokens(config, result.error);
    if (!result.error.empty()) return result;
  }
  if (!config.curve_preferences.empty()) {
    p += ":-GROUP-ALL";
    for (const auto& curve : config.curve_preferences) p += ":+" + std::string(GroupName(curve));
  }
  if (config.prefer_server_cipher_suites) p += ":%SERVER_PRECEDENCE";

  std::vector<uint16_t> enabled = EnabledSuites(p, result.error);
  if (!result.error.empty()) return result;
  if (!config.cipher_suites.empty()) {
    for (uint16_t id : enabled) {
      bool listed = std::find(config.cipher_suites.begin(), config.cipher_suites.end(), id) !=
                    config.cipher_suites.end();
      if (!IsTls13Suite(id) && !listed && config.min_version <= TlsVersion::kTls12) {
        result.error =
            "cipher_suites: GnuTLS chooses TLS 1.2 suites by cipher, key exchange and "
            "MAC separately and cannot enable this list without also enabling " +
            SuiteLabel(id) + "; add it to the list or remove the suite that brings it";
        return result;
      }
    }
  }
  if (enabled.empty()) {
    result.error = "tls_server_config: no cipher suite is left for versions " +
                   std::string(TlsVersionName(config.min_version)) + " to " +
                   std::string(TlsVersionName(config.max_version));
    return result;
  }
  result.priorities = p;
  return result;
}

TlsPolicy::Created TlsPolicy::Create(const TlsServerConfig& config) {
  Created created;
  auto policy = std::unique_ptr<TlsPolicy>(new TlsPolicy());
  policy->config_ = config;
  auto load = [&](const std::string& file, const std::string& inline_pem, std::string_view key,
                  std::string& out) {
    if (file.empty()) {
      out = inline_pem;
      return true;
    }
    FileRead read = ReadFile(file);
    if (!read.ok()) {
      created.error = std::string(key) + " " + file + ": " + std::strerror(read.error);
      return false;
    }
    out = std::move(read.data);
    return true;
  };
  if (!load(config.cert_file, config.cert, "cert_file", policy->cert_pem_) ||
      !load(config.key_file, config.key, "key_file", policy->key_pem_) ||
      !load(config.client_ca_file, config.client_ca, "client_ca_file", policy->trust_pem_))
    return created;

  // The same calls MHD makes, now, so that a bad file stops the start with a reason instead of
  // failing every handshake later.
  gnutls_certificate_credentials_t cred;
  if (gnutls_certificate_allocate_credentials(&cred) < 0) {
    created.error = "cannot allocate TLS credentials";
    return created;
  }
  std::string where = config.cert_file.empty() ? "cert" : "cert_file " + config.cert_file;
  gnutls_datum_t cert{reinterpret_cast<unsigned char*>(policy->cert_pem_.data()),
                      static_cast<unsigned>(policy->cert_pem_.size())};
  gnutls_datum_t key{reinterpret_cast<unsigned char*>(policy->key_pem_.data()),
                     static_cast<unsigned>(policy->key_pem_.size())};
  int rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
  if (rc < 0) {
    std::string key_where = config.key_file.empty() ? "key" : "key_file " + config.key_file;
    created.error = "cannot load the certificate and key (" + where + ", " + key_where +
                    "): " + gnutls_strerror(rc);
  } else if (!policy->trust_pem_.empty()) {
    gnutls_datum_t trust{reinterpret_cast<unsigned char*>(policy->trust_pem_.data()),
                         static_cast<unsigned>(policy->trust_pem_.size())};
    rc = gnutls_certificate_set_x509_trust_mem(cred, &trust, GNUTLS_X509_FMT_PEM);
    std::string ca_where =
        config.client_ca_file.empty() ? "client_ca" : "client_ca_file " + config.client_ca_file;
    if (rc < 0) {
      created.error = ca_where + ": " + gnutls_strerror(rc);
    } else if (rc == 0) {
      created.error = ca_where + ": no certificates found";
    }
  }
  gnutls_certificate_free_credentials(cred);
  if (!created.error.empty()) return created;

  TlsPriorities priorities = BuildTlsPriorities(config);
  if (!priorities.error.empty()) {
    created.error = priorities.error;
    return created;
  }
  policy->priorities_ = std::move(priorities.priorities);
  created.policy = std::move(policy);
  return created;
}

std::vector<MHD_OptionItem> TlsPolicy::MhdOptions() const {
  std::vector<MHD_OptionItem> items;
  items.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0, const_cast<char*>(key_pem_.c_str())});
  items.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0, const_cast<char*>(cert_pem_.c_str())});
  if (!trust_pem_.empty())
    items.push_back({MHD_OPTION_HTTPS_MEM_TRUST, 0, const_cast<char*>(trust_pem_.c_str())});
  items.push_back({MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(priorities_.c_str())});
  return items;
}

bool TlsPolicy::ConfigureConnection(MHD_Connection* connection) const {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
  if (info == nullptr || info->tls_session == nullptr) return false;
  return ConfigureSession(static_cast<gnutls_session_t>(info->tls_session));
}

bool TlsPolicy::ConfigureSession(gnutls_session_t session) const {
  ClientAuth auth = config_.client_auth;
  if (auth == ClientAuth::kNoClientCert) {
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_IGNORE);
    return true;
  }
  bool required =
      auth == ClientAuth::kRequireAnyClientCert || auth == ClientAuth::kRequireAndVerifyClientCert;
  gnutls_certificate_server_set_request(session,
                                        required ? GNUTLS_CERT_REQUIRE : GNUTLS_CERT_REQUEST);
  // MHD owns the session's user pointer (gnutls_session_set_ptr); the resumption-database
  // pointer is unused by MHD and is the one other per-session slot GnuTLS offers.
  gnutls_db_set_ptr(session, const_cast<TlsPolicy*>(this));
  gnutls_session_set_verify_function(session, &TlsPolicy::VerifyPeer);
  return true;
}

namespace {

// Go's x509 SAN values as exporter-toolkit compares them: DNS names, e-mail addresses, IP
// addresses in text form, URIs.
std::vector<std::string> PeerSans(const gnutls_datum_t& der) {
  std::vector<std::string> sans;
  gnutls_x509_crt_t crt;
  if (gnutls_x509_crt_init(&crt) < 0) return sans;
  if (gnutls_x509_crt_import(crt, &der, GNUTLS_X509_FMT_DER) >= 0) {
    for (unsigned seq = 0;; ++seq) {
      char buf[1024];
      size_t size = sizeof(buf);
      int type = gnutls_x509_crt_get_subject_alt_name(crt, seq, buf, &size, nullptr);
      if (type == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE) break;
      if (type < 0) continue;  // too long or malformed: cannot match anything
      if (type == GNUTLS_SAN_IPADDRESS) {
        char text[INET6_ADDRSTRLEN];
        if (size == 4 && inet_ntop(AF_INET, buf, text, sizeof(text))) sans.emplace_back(text);
        if (size == 16 && inet_ntop(AF_INET6, buf, text, sizeof(text))) sans.emplace_back(text);
      } else if (type == GNUTLS_SAN_DNSNAME || type == GNUTLS_SAN_RFC822NAME ||
                 type == GNUTLS_SAN_URI) {
        sans.emplace_back(buf, size);
      }
    }
  }
  gnutls_x509_crt_deinit(crt);
  return sans;
}

}  // namespace

// Runs inside the handshake once the client's certificate arrived (or did not); non-zero fails
// the handshake, so a refused client never gets to send a request.
int TlsPolicy::VerifyPeer(gnutls_session_t session) {
  const auto* policy = static_cast<const TlsPolicy*>(gnutls_db_get_ptr(session));
  if (policy == nullptr) return GNUTLS_E_CERTIFICATE_ERROR;
  const TlsServerConfig& config = policy->config_;
  unsigned count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  if (certs == nullptr || count == 0) {
    bool required = config.client_auth == ClientAuth::kRequireAnyClientCert ||
                    config.client_auth == ClientAuth::kRequireAndVerifyClientCert;
    return required ? GNUTLS_E_NO_CERTIFICATE_FOUND : 0;
  }
  if (config.client_auth == ClientAuth::kVerifyClientCertIfGiven ||
      config.client_auth == ClientAuth::kRequireAndVerifyClientCert) {
    // As Go: the chain must lead to the client CA and the certificate may serve a TLS client.
    gnutls_typed_vdata_st purpose{
        GNUTLS_DT_KEY_PURPOSE_OID,
        reinterpret_cast<unsigned char*>(const_cast<char*>(GNUTLS_KP_TLS_WWW_CLIENT)), 0};
    unsigned status = 0;
    if (gnutls_certificate_verify_peers(session, &purpose, 1, &status) < 0 || status != 0)
      return GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR;
  }
  if (config.client_allowed_sans) {
    auto sans = PeerSans(certs[0]);
    bool allowed = std::any_of(sans.begin(), sans.end(), [&](const std::string& san) {
      const auto& list = *config.client_allowed_sans;
      return std::find(list.begin(), list.end(), san) != list.end();
    });
    if (!allowed) return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

}  // namespace nfct
