//===- Npy.h - Reading and writing NumPy .npy files -------------*- C++ -*-===//
//
// The .npy format is a magic string, a version, a little-endian header length
// and a Python dict literal describing dtype, memory order and shape,
// followed by the raw elements. We write float32 arrays (format 1.0, '<f4',
// C order, data aligned to 64 bytes) and read little-endian '<f4', '<f8',
// '<i4', '<i8' or '|u1' C-order arrays in format 1.0 or 2.0, as floats. All
// failures are reported as IoError.
//
//===----------------------------------------------------------------------===//

#ifndef GANC_RUNTIME_IO_NPY_H
#define GANC_RUNTIME_IO_NPY_H

#include <cstdint>
#include <string>
#include <vector>

namespace ganc {
namespace rt {

/// A float array read from a .npy file.
struct NpyArray {
  /// Dimension sizes, outermost first; empty for a 0-d (scalar) array.
  std::vector<int64_t> shape;
  /// Elements in C (row-major) order; size is the product of shape (empty when they
  /// are kept in `bytes`).
  std::vector<float> data;
  /// A '|u1' array's elements as stored, when readNpyF32 was asked to keep them.
  std::vector<uint8_t> bytes;
  /// The dtype the file stored ('<f4', '|u1', ...), before conversion to float.
  std::string dtype;
};

/// Writes \p data (product-of-shape floats, C order) as a format 1.0 '<f4'
/// .npy file whose data starts at a multiple of 64 bytes.
void writeNpyF32(const std::string &path, const float *data,
                 const std::vector<int64_t> &shape);

/// Reads a C-order .npy file (format 1.0 or 2.0) of dtype '<f4', or '<f8',
/// '<i4', '<i8', '|u1' converted to float. Throws IoError for anything else
/// (big-endian, other dtypes, fortran_order True, malformed header, truncated
/// data). With \p keepBytes, a '|u1' array's elements are kept as bytes, in `bytes`.
NpyArray readNpyF32(const std::string &path, bool keepBytes = false);

} // namespace rt
} // namespace ganc

#endif // GANC_RUNTIME_IO_NPY_H
