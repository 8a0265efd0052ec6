// One-shot gzip of a whole response body with libdeflate: the scrape path compresses the full
// exposition (about 20 KB) at once, which is what libdeflate is built for. One per thread that
// answers scrapes (HttpServer's per-thread scratch); not thread safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct libdeflate_compressor;

namespace nfct {

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
