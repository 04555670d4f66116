//===- Idx.cpp - Reading and writing IDX (MNIST) files -------------------===//
//
// The reader streams the file through a small ByteSource that hides whether
// the bytes come from stdio or from zlib's gzread. It reads the header first,
// computes the expected payload size with overflow-saturating arithmetic, and
// then reads the payload in bounded chunks, so a lying header can neither
// overflow a size computation nor force a huge up-front allocation.
//
//===----------------------------------------------------------------------===//

#include "io/Idx.h"
#include "io/FileOut.h"
#include "io/IoError.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <filesystem>

using namespace ganc::rt;

namespace {

constexpr uint8_t IdxTypeU8 = 0x08;
constexpr size_t ChunkSize = size_t(1) << 20;
/// Larger payloads are rejected up front (guards against gzip bombs).
constexpr uint64_t MaxPayload = uint64_t(1) << 40;

/// Sequential reader over a plain or gzip-compressed file.
class ByteSource {
public:
  explicit ByteSource(const std::string &path) : Path(path) {
    File = std::fopen(path.c_str(), "rb");
    if (!File)
      throw IoError::fromErrno(path, "cannot open for reading", errno);
    unsigned char Magic[2] = {0, 0};
    size_t Got = std::fread(Magic, 1, 2, File);
    if (Got < 2 || Magic[0] != 0x1f || Magic[1] != 0x8b) {
      std::rewind(File);
      return;
    }
    std::fclose(File);
    File = nullptr;
    errno = 0;
    Gz = gzopen(path.c_str(), "rb");
    if (!Gz)
      throw IoError::fromErrno(path, "cannot open gzip stream",
                               errno ? errno : ENOMEM);
  }
  ~ByteSource() {
    if (File)
      std::fclose(File);
    if (Gz)
      gzclose(Gz);
  }
  ByteSource(const ByteSource &) = delete;
  ByteSource &operator=(const ByteSource &) = delete;

  bool isGzip() const { return Gz != nullptr; }

  /// Reads up to \p n bytes; returns fewer only at end of file.
  size_t read(uint8_t *buf, size_t n) {
    if (File) {
      size_t Got = std::fread(buf, 1, n, File);
      if (Got < n && std::ferror(File))
        throw IoError::fromErrno(Path, "read failed", errno);
      return Got;
    }
    size_t Total = 0;
    while (Total < n) {
      unsigned Want = unsigned(std::min<size_t>(n - Total, INT_MAX));
      int Got = gzread(Gz, buf + Total, Want);
      if (Got < 0)
        throw IoError(Path, "corrupt gzip data: " + gzipErrorText());
      Total += size_t(Got);
      if (unsigned(Got) < Want)
        break;
    }
    return Total;
  }

private:
  std::string gzipErrorText() {
    int Code = Z_OK;
    const char *Msg = gzerror(Gz, &Code);
    if (Code == Z_ERRNO)
      return std::strerror(errno);
    std::string Text = Msg && *Msg ? Msg : "unknown zlib error";
    // zlib prefixes the message with the path, which IoError adds anyway.
    if (Text.compare(0, Path.size() + 2, Path + ": ") == 0)
      Text.erase(0, Path.size() + 2);
    return Text;
  }

  std::string Path;
  std::FILE *File = nullptr;
  gzFile Gz = nullptr;
};

const char *typeCodeName(uint8_t Code) {
  switch (Code) {
  case 0x09:
    return "signed byte";
  case 0x0B:
    return "16-bit integer";
  case 0x0C:
    return "32-bit integer";
  case 0x0D:
    return "32-bit float";
  case 0x0E:
    return "64-bit float";
  default:
    return "unknown type";
  }
}

std::string hex(uint64_t Value, int Digits) {
  char Buf[32];
  std::snprintf(Buf, sizeof(Buf), "0x%0*llX", Digits,
                static_cast<unsigned long long>(Value));
  return Buf;
}

/// "60000 images of 28x28", "60000 labels" or "shape 2x3x4x5".
std::string describeDims(const std::vector<int64_t> &Dims) {
  std::string Text;
  size_t First = Dims.size() == 3 ? 1 : 0;
  for (size_t I = First; I < Dims.size(); ++I)
    Text += (I > First ? "x" : "") + std::to_string(Dims[I]);
  if (Dims.size() == 3)
    return std::to_string(Dims[0]) + " images of " + Text;
  if (Dims.size() == 1)
    return Text + " labels";
  return "shape " + Text;
}

const char *payloadNoun(size_t Rank) {
  return Rank == 3 ? "pixels" : Rank == 1 ? "labels" : "data";
}

std::string joinPath(const std::string &Dir, const std::string &Name) {
  if (Dir.empty())
    return Name;
  if (Dir.back() == '/')
    return Dir + Name;
  return Dir + "/" + Name;
}

} // namespace

IdxArray ganc::rt::readIdxU8(const std::string &path) {
  ByteSource Src(path);
  const std::string Kind = Src.isGzip() ? " after gzip decompression" : "";

  uint8_t Magic[4];
  size_t Got = Src.read(Magic, 4);
  if (Got == 0)
    throw IoError(path, "empty file" + Kind + " (expected an IDX header)");
  if (Got < 4)
    throw IoError(path, "truncated: only " + std::to_string(Got) + " bytes" +
                            Kind + ", too short for an IDX header");
  uint32_t MagicValue = uint32_t(Magic[0]) << 24 | uint32_t(Magic[1]) << 16 |
                        uint32_t(Magic[2]) << 8 | uint32_t(Magic[3]);
  if (Magic[0] != 0 || Magic[1] != 0)
    throw IoError(path, "bad magic number " + hex(MagicValue, 8) + Kind +
                            " (expected 0x00000803 for IDX images or "
                            "0x00000801 for IDX labels)");
  if (Magic[2] != IdxTypeU8)
    throw IoError(path, "unsupported IDX type code " + hex(Magic[2], 2) + " (" +
                            typeCodeName(Magic[2]) +
                            "); only 0x08 (unsigned byte) is supported");
  unsigned Rank = Magic[3];
  if (Rank < 1 || Rank > 4)
    throw IoError(path, "unsupported IDX dimension count " +
                            std::to_string(Rank) + " (expected 1 to 4)");

  uint8_t DimBytes[16];
  Got = Src.read(DimBytes, 4 * Rank);
  if (Got < 4 * Rank)
    throw IoError(path, "truncated: header declares " + std::to_string(Rank) +
                            " dimensions but the file ends inside the "
                            "dimension list");

  // Payload size, saturating at MaxPayload + 1 so it can never overflow.
  IdxArray Result;
  uint64_t Needed = 1;
  bool HasZeroDim = false;
  for (unsigned I = 0; I < Rank; ++I) {
    const uint8_t *B = DimBytes + 4 * I;
    uint64_t Dim = uint64_t(B[0]) << 24 | uint64_t(B[1]) << 16 |
                   uint64_t(B[2]) << 8 | uint64_t(B[3]);
    Result.dims.push_back(int64_t(Dim));
    if (Dim == 0)
      HasZeroDim = true;
    else if (Needed > MaxPayload / Dim)
      Needed = MaxPayload + 1;
    else
      Needed *= Dim;
  }
  if (HasZeroDim)
    Needed = 0;
  if (Needed > MaxPayload)
    throw IoError(path, "header says " + describeDims(Result.dims) +
                            ", which is implausibly large (more than 1 TiB)");

  // Read the payload in bounded chunks; never trust Needed for allocation.
  uint64_t Have = 0;
  while (Have < Needed) {
    size_t Chunk = size_t(std::min<uint64_t>(Needed - Have, ChunkSize));
    Result.data.resize(size_t(Have) + Chunk);
    size_t N = Src.read(Result.data.data() + Have, Chunk);
    Have += N;
    if (N < Chunk)
      break;
  }
  Result.data.resize(size_t(Have));
  if (Have < Needed)
    throw IoError(path, "truncated: header says " + describeDims(Result.dims) +
                            " but file holds " + std::to_string(Have) +
                            " bytes of " + payloadNoun(Rank) + Kind +
                            " (expected " + std::to_string(Needed) + " bytes)");
  uint8_t Extra;
  if (Src.read(&Extra, 1) != 0)
    throw IoError(path, "unexpected extra data after the " +
                            std::to_string(Needed) + " bytes of " +
                            payloadNoun(Rank) + " described by the header (" +
                            describeDims(Result.dims) + ")");
  return Result;
}

std::string ganc::rt::findIdxFile(const std::string &dir,
                                  const std::string &stem) {
  namespace fs = std::filesystem;
  std::string Plain = joinPath(dir, stem);
  std::string Gzipped = Plain + ".gz";
  std::error_code Ec;
  if (fs::is_regular_file(Plain, Ec))
    return Plain;
  if (fs::is_regular_file(Gzipped, Ec))
    return Gzipped;
  throw IoError(Plain,
                "IDX file not found (tried " + Plain + " and " + Gzipped + ")");
}

void ganc::rt::writeIdxU8(const std::string &path,
                          const std::vector<int64_t> &dims,
                          const uint8_t *data) {
  if (dims.empty() || dims.size() > 4)
    throw IoError(path, "cannot write IDX with " + std::to_string(dims.size()) +
                            " dimensions (expected 1 to 4)");
  uint8_t Header[20] = {0, 0, IdxTypeU8, uint8_t(dims.size())};
  uint64_t Count = 1;
  for (size_t I = 0; I < dims.size(); ++I) {
    int64_t Dim = dims[I];
    if (Dim < 0 || Dim > int64_t(UINT32_MAX))
      throw IoError(path, "cannot write IDX: dimension " + std::to_string(I) +
                              " is " + std::to_string(Dim) +
                              " (must be in 0..4294967295)");
    if (Dim != 0 && Count > uint64_t(SIZE_MAX) / uint64_t(Dim))
      throw IoError(path, "cannot write IDX: total size overflows");
    Count *= uint64_t(Dim);
    for (int B = 0; B < 4; ++B)
      Header[4 + 4 * I + B] = uint8_t(uint64_t(Dim) >> (24 - 8 * B));
  }
  if (Count > 0 && !data)
    throw IoError(path, "cannot write IDX: data pointer is null");

  FileOut Out(path);
  size_t HeaderSize = 4 + 4 * dims.size();
  bool Ok = std::fwrite(Header, 1, HeaderSize, Out.get()) == HeaderSize &&
            (Count == 0 || std::fwrite(data, 1, size_t(Count), Out.get()) == Count);
  Out.commit(Ok);
}
