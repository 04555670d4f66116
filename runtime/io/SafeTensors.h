//===- SafeTensors.h - Reading and writing .safetensors files ---*- C++ -*-===//
//
// Checkpoints are stored in the safetensors format: an 8-byte little-endian
// header length N, N bytes of JSON mapping each tensor name to its dtype,
// shape and [begin, end) byte offsets into the data section that follows,
// plus an optional "__metadata__" object of string pairs. We write F32
// tensors atomically (temp file, fsync, rename) and read F32 tensors back
// with full validation of the header and offsets. Failures raise IoError.
//
//===----------------------------------------------------------------------===//

#ifndef GANC_RUNTIME_IO_SAFETENSORS_H
#define GANC_RUNTIME_IO_SAFETENSORS_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ganc {
namespace rt {

/// A named float32 tensor.
struct NamedTensor {
  /// The tensor's key in the file (any string except "__metadata__").
  std::string name;
  /// Dimension sizes, outermost first; empty for a scalar.
  std::vector<int64_t> shape;
  /// Elements in row-major order; size must equal the product of shape.
  std::vector<float> data;
};

/// Writes \p tensors (in the order given, as F32) and \p metadata to \p path.
/// The file is written to `path + ".tmp.<process id>"`, flushed and fsync'ed, then
/// renamed over \p path, so readers never see a partial checkpoint, even with two
/// processes writing to one path.
void writeSafeTensors(const std::string &path,
                      const std::vector<NamedTensor> &tensors,
                      const std::map<std::string, std::string> &metadata);

/// The contents of a safetensors file.
struct SafeTensorsFile {
  /// Tensors in the order their keys appear in the header.
  std::vector<NamedTensor> tensors;
  /// The "__metadata__" entries, if any.
  std::map<std::string, std::string> metadata;

  /// Returns the tensor called \p name, or nullptr if there is none.
  const NamedTensor *find(const std::string &name) const;
};

/// Reads a safetensors file whose tensors are all F32. Throws IoError for a
/// truncated file, malformed JSON, other dtypes, or offsets that are out of
/// range or inconsistent with the tensor shapes.
SafeTensorsFile readSafeTensors(const std::string &path);

} // namespace rt
} // namespace ganc

#endif // GANC_RUNTIME_IO_SAFETENSORS_H
