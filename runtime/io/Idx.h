//===- Idx.h - Reading and writing IDX (MNIST) files ------------*- C++ -*-===//
//
// The IDX format (used by MNIST and friends) is a 4-byte big-endian magic
// number (two zero bytes, a type code, a dimension count), one big-endian u32
// per dimension, then the elements in row-major order. Only unsigned-byte
// data (type code 0x08) with 1 to 4 dimensions is supported. Files may be
// plain or gzip-compressed; compression is detected from the content, not the
// file name. All failures are reported as IoError.
//
//===----------------------------------------------------------------------===//

#ifndef GANC_RUNTIME_IO_IDX_H
#define GANC_RUNTIME_IO_IDX_H

#include <cstdint>
#include <string>
#include <vector>

namespace ganc {
namespace rt {

/// An n-dimensional array of bytes read from an IDX file.
struct IdxArray {
  /// Dimension sizes, outermost first (e.g. {60000, 28, 28}).
  std::vector<int64_t> dims;
  /// The elements in row-major order; size is the product of dims.
  std::vector<uint8_t> data;
};

/// Reads an unsigned-byte IDX file with 1 to 4 dimensions, plain or gzipped.
/// Throws IoError on a missing file, bad magic, wrong type code, truncated or
/// oversized data.
IdxArray readIdxU8(const std::string &path);

/// Returns `dir/stem` if that file exists, else `dir/stem.gz` if that exists,
/// else throws IoError naming both paths tried.
std::string findIdxFile(const std::string &dir, const std::string &stem);

/// Writes a plain (uncompressed) unsigned-byte IDX file. `dims` must have 1
/// to 4 entries, each in [0, 2^32); `data` holds the product of dims bytes.
void writeIdxU8(const std::string &path, const std::vector<int64_t> &dims,
                const uint8_t *data);

} // namespace rt
} // namespace ganc

#endif // GANC_RUNTIME_IO_IDX_H
