//===- Png.cpp - Writing sample grids as PNG images ----------------------===//
//
// The grid is rendered into an in-memory 8-bit buffer first; libpng is then
// driven from a helper that owns no C++ objects, because libpng reports
// errors by longjmp-ing back to a setjmp point and skipping destructors
// would be undefined behaviour. The libpng error text is captured in a plain
// struct and turned into an IoError once we are safely back in C++ land.
//
//===----------------------------------------------------------------------===//

#include "io/Png.h"
#include "io/FileOut.h"
#include "io/IoError.h"

#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <vector>

using namespace ganc::rt;

namespace {

constexpr int64_t Border = 2;
/// libpng's default per-dimension limit.
constexpr int64_t MaxSide = 1000000;
/// Refuse to allocate more than 256 MiB of pixels for one image.
constexpr int64_t MaxPixels = int64_t(1) << 28;

/// Error text captured from libpng; trivially destructible on purpose.
struct PngErrorState {
  char Message[256];
};

void onPngError(png_structp Png, png_const_charp Msg) {
  auto *State = static_cast<PngErrorState *>(png_get_error_ptr(Png));
  std::snprintf(State->Message, sizeof(State->Message), "%s",
                Msg ? Msg : "unknown libpng error");
  png_longjmp(Png, 1);
}

void onPngWarning(png_structp, png_const_charp) {}

/// Encodes \p RowPtrs as 8-bit grayscale into \p File. Returns false and
/// fills \p State on failure. Must not own any object with a destructor.
bool encodeGray(std::FILE *File, png_bytep *RowPtrs, png_uint_32 Width,
                png_uint_32 Height, PngErrorState *State) {
  png_structp Png = png_create_write_struct(PNG_LIBPNG_VER_STRING, State,
                                            onPngError, onPngWarning);
  if (!Png) {
    std::snprintf(State->Message, sizeof(State->Message),
                  "cannot create libpng writer");
    return false;
  }
  png_infop Info = png_create_info_struct(Png);
  if (!Info) {
    png_destroy_write_struct(&Png, nullptr);
    std::snprintf(State->Message, sizeof(State->Message),
                  "cannot create libpng info struct");
    return false;
  }
  if (setjmp(png_jmpbuf(Png))) {
    png_destroy_write_struct(&Png, &Info);
    return false;
  }
  png_init_io(Png, File);
  png_set_IHDR(Png, Info, Width, Height, 8, PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  png_write_info(Png, Info);
  png_write_image(Png, RowPtrs);
  png_write_end(Png, nullptr);
  png_destroy_write_struct(&Png, &Info);
  return true;
}

uint8_t toByte(float Value, double Lo, double Scale) {
  if (std::isnan(Value))
    return 0;
  double T = (double(Value) - Lo) * Scale;
  if (!(T > 0.0))
    return 0;
  if (T >= 255.0)
    return 255;
  return uint8_t(std::lround(T));
}

/// Total side length of \p Count tiles of \p Tile pixels plus borders.
int64_t gridSide(int64_t Count, int64_t Tile) {
  return Count * Tile + (Count - 1) * Border;
}

} // namespace

void ganc::rt::writeGrayGridPng(const std::string &path, const float *samples,
                                int64_t count, int64_t height, int64_t width,
                                int64_t rows, int64_t cols, float lo,
                                float hi) {
  if (height < 1 || width < 1 || rows < 1 || cols < 1)
    throw IoError(path, "invalid PNG grid: tiles of " + std::to_string(height) +
                            "x" + std::to_string(width) + " in " +
                            std::to_string(rows) + "x" + std::to_string(cols) +
                            " grid (all must be at least 1)");
  if (count < 0)
    throw IoError(path, "invalid PNG grid: negative sample count " +
                            std::to_string(count));
  if (count > 0 && !samples)
    throw IoError(path, "invalid PNG grid: sample pointer is null");
  if (!std::isfinite(lo) || !std::isfinite(hi) || !(lo < hi))
    throw IoError(path, "invalid PNG value range [" + std::to_string(lo) +
                            ", " + std::to_string(hi) +
                            "] (need finite lo < hi)");
  if (height > MaxSide || width > MaxSide || rows > MaxSide || cols > MaxSide)
    throw IoError(path, "PNG grid too large");
  int64_t ImageW = gridSide(cols, width);
  int64_t ImageH = gridSide(rows, height);
  if (ImageW > MaxSide || ImageH > MaxSide || ImageW * ImageH > MaxPixels)
    throw IoError(path, "PNG grid too large: " + std::to_string(ImageW) + "x" +
                            std::to_string(ImageH) + " pixels");

  std::vector<uint8_t> Pixels(static_cast<size_t>(ImageW * ImageH), 0);
  const double Lo = lo;
  const double Scale = 255.0 / (double(hi) - double(lo));
  const int64_t Used = std::min(count, rows * cols);
  for (int64_t I = 0; I < Used; ++I) {
    const float *Src = samples + I * height * width;
    int64_t Y0 = (I / cols) * (height + Border);
    int64_t X0 = (I % cols) * (width + Border);
    for (int64_t Y = 0; Y < height; ++Y) {
      uint8_t *Dst = Pixels.data() + (Y0 + Y) * ImageW + X0;
      for (int64_t X = 0; X < width; ++X)
        Dst[X] = toByte(Src[Y * width + X], Lo, Scale);
    }
  }
  std::vector<png_bytep> RowPtrs(static_cast<size_t>(ImageH));
  for (int64_t Y = 0; Y < ImageH; ++Y)
    RowPtrs[size_t(Y)] = Pixels.data() + Y * ImageW;

  FileOut Out(path);
  PngErrorState State = {};
  if (!encodeGray(Out.get(), RowPtrs.data(), png_uint_32(ImageW), png_uint_32(ImageH), &State)) {
    if (std::ferror(Out.get()))
      Out.commit(false); // the write failed, not the encoding: say so
    throw IoError(path, std::string("PNG encoding failed: ") + State.Message);
  }
  Out.commit(true);
}
