//===- Png.h - Writing sample grids as PNG images ---------------*- C++ -*-===//
//
// Training and sampling dump generator outputs as one grayscale PNG per step:
// a rows x cols grid of height x width tiles separated by 2-pixel black
// borders. Values are mapped linearly from [lo, hi] to [0, 255] with clamping.
// All failures, including errors raised inside libpng, become IoError.
//
//===----------------------------------------------------------------------===//

#ifndef GANC_RUNTIME_IO_PNG_H
#define GANC_RUNTIME_IO_PNG_H

#include <cstdint>
#include <string>

namespace ganc {
namespace rt {

/// Writes an 8-bit grayscale PNG holding a rows x cols grid of images.
///
/// Sample i (row-major, height x width floats) starts at
/// `samples + i * height * width` and is placed at grid cell (i / cols,
/// i % cols). Tiles are separated by a 2-pixel black border (none around the
/// outside). Values map linearly from [lo, hi] to [0, 255], clamped; NaN maps
/// to 0. Only the first rows * cols samples are used; if count is smaller the
/// remaining tiles are black. Throws IoError on bad arguments or I/O errors.
void writeGrayGridPng(const std::string &path, const float *samples,
                      int64_t count, int64_t height, int64_t width,
                      int64_t rows, int64_t cols, float lo, float hi);

} // namespace rt
} // namespace ganc

#endif // GANC_RUNTIME_IO_PNG_H
