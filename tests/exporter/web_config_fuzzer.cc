// libFuzzer target for the web config parser (exporter-toolkit YAML): no input may crash, hang,
// leak or read out of bounds, and whatever parses must satisfy the checks the parser promises.
// Built with clang++ -fsanitize=fuzzer,address,undefined (tests/CMakeLists.txt).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "exporter/web/web_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace nfct;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  ParsedWebConfig parsed = ParseWebConfig(input, "/base");
  if (!parsed.error.empty()) return 0;
  const WebConfig& c = parsed.config;
  for (const auto& [user, hash] : c.basic_auth_users) {
    if (!IsBcryptHash(hash) || user.find(':') != std::string::npos) std::abort();
  }
  for (const auto& [name, value] : c.headers) {
    if (value.empty() || value.find_first_of("\r\n") != std::string::npos) std::abort();
  }
  // Without a certificate TLS is off and, as in exporter-toolkit, its other settings are not
  // checked (the fuzzer found min_version TLS13 with max_version TLS12 and no certificate).
  if (c.tls.enabled() && c.tls.min_version > c.tls.max_version) std::abort();
  if (c.tls.enabled() && (c.tls.cert_file.empty() && c.tls.cert.empty())) std::abort();
  for (uint16_t id : c.tls.cipher_suites) {
    if (CipherSuiteName(id).empty()) std::abort();
  }
  return 0;
}
