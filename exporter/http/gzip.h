// gzip for scrapes: whether a client's Accept-Encoding asks for it, and a one-shot libdeflate
// compression of the whole exposition (about 20 KB at once, which is what libdeflate is built
// for). HttpServer's scrape answer calls both. AcceptsGzip is thread safe; a GzipCompressor is
// not: one per thread that answers scrapes (HttpServer's per-thread scratch).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct libdeflate_compressor;

namespace nfct {

// Whether an Accept-Encoding value asks for gzip (RFC 9110: "gzip;q=0" refuses it, "*" accepts).
bool AcceptsGzip(std::string_view accept_encoding);

class GzipCompressor {
 public:
  GzipCompressor();
  ~GzipCompressor();
  GzipCompressor(const GzipCompressor&) = delete;
  GzipCompressor& operator=(const GzipCompressor&) = delete;

  // False when the compressor could not be allocated: answer uncompressed.
  bool ready() const { return compressor_ != nullptr; }
  // Writes the gzip member of `in` to the start of `out` (grown to the worst-case size when
  // smaller, never shrunk) and returns its size; 0 when it failed, `out` then being garbage.
  size_t Compress(std::string_view in, std::string& out);

 private:
  libdeflate_compressor* compressor_;
};

}  // namespace nfct
