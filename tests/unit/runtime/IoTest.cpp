//===- IoTest.cpp - Tests for the runtime file readers and writers -------===//
//
// Round trips for IDX (plain and gzip), PNG grids, .npy and .safetensors,
// plus one test per class of malformed input, each checking that the reader
// throws IoError whose message names the file and says what is wrong.
//
//===----------------------------------------------------------------------===//

#include "Data.h"
#include "io/Idx.h"
#include "io/IoError.h"
#include "io/Npy.h"
#include "io/Png.h"
#include "io/SafeTensors.h"

#include <gtest/gtest.h>
#include <png.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <sys/stat.h>
#include <unistd.h>

using namespace ganc::rt;
namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

namespace {

/// A fresh directory for the current test, removed again afterwards.
class TempDir {
public:
  TempDir() {
    const auto *Info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string Base = ::testing::TempDir();
    if (!Base.empty() && Base.back() != '/')
      Base += '/';
    Path = Base + "ganc_io_" + std::to_string(::getpid()) + "_" +
           Info->test_suite_name() + "_" + Info->name();
    fs::remove_all(Path);
    fs::create_directories(Path);
  }
  ~TempDir() {
    std::error_code Ec;
    fs::remove_all(Path, Ec);
  }
  std::string file(const std::string &Name) const { return Path + "/" + Name; }

  std::string Path;
};

void writeBytes(const std::string &Path, const Bytes &Data) {
  std::ofstream Out(Path, std::ios::binary);
  Out.write(reinterpret_cast<const char *>(Data.data()), Data.size());
  ASSERT_TRUE(Out.good()) << Path;
}

Bytes readBytes(const std::string &Path) {
  std::ifstream In(Path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(In), {});
}

void append(Bytes &Out, const std::string &Text) {
  Out.insert(Out.end(), Text.begin(), Text.end());
}

void appendLE(Bytes &Out, uint64_t Value, int Size) {
  for (int I = 0; I < Size; ++I)
    Out.push_back(uint8_t(Value >> (8 * I)));
}

template <typename Fn>
void expectIoError(Fn &&F, const std::string &Path, const std::string &Phrase) {
  try {
    F();
    ADD_FAILURE() << "expected IoError containing \"" << Phrase << "\"";
  } catch (const IoError &E) {
    std::string Msg = E.what();
    EXPECT_NE(Msg.find(Path), std::string::npos) << Msg;
    EXPECT_NE(Msg.find(Phrase), std::string::npos) << Msg;
    EXPECT_EQ(E.path(), Path) << Msg;
  }
}

#define EXPECT_IO_ERROR(Stmt, Path, Phrase)                                    \
  do {                                                                         \
    SCOPED_TRACE(Phrase);                                                      \
    expectIoError([&] { Stmt; }, Path, Phrase);                                \
  } while (0)

/// An IDX file image: magic 00 00 Type Rank, big-endian dims, payload.
Bytes idxBytes(uint8_t Type, const std::vector<uint32_t> &Dims,
               size_t Payload) {
  Bytes Out = {0, 0, Type, uint8_t(Dims.size())};
  for (uint32_t D : Dims)
    for (int S = 24; S >= 0; S -= 8)
      Out.push_back(uint8_t(D >> S));
  for (size_t I = 0; I < Payload; ++I)
    Out.push_back(uint8_t(I * 7));
  return Out;
}

void writeGzip(const std::string &Path, const Bytes &Data) {
  gzFile Gz = gzopen(Path.c_str(), "wb");
  ASSERT_NE(Gz, nullptr);
  ASSERT_EQ(gzwrite(Gz, Data.data(), unsigned(Data.size())), int(Data.size()));
  ASSERT_EQ(gzclose(Gz), Z_OK);
}

} // namespace

TEST(Idx, RoundTripAnyRank) {
  TempDir Dir;
  for (std::vector<int64_t> Dims : {std::vector<int64_t>{7},
                                    {3, 4},
                                    {3, 4, 5},
                                    {2, 3, 4, 5},
                                    {0, 28, 28}}) {
    Bytes Data;
    int64_t N = 1;
    for (int64_t D : Dims)
      N *= D;
    for (int64_t I = 0; I < N; ++I)
      Data.push_back(uint8_t(I * 13 + 1));
    std::string Path = Dir.file("a.idx");
    writeIdxU8(Path, Dims, Data.data());
    EXPECT_EQ(readBytes(Path).size(), 4 + 4 * Dims.size() + Data.size());
    IdxArray A = readIdxU8(Path);
    EXPECT_EQ(A.dims, Dims);
    EXPECT_EQ(A.data, Data);
  }
}

TEST(Idx, ReadsGzipDetectedByContent) {
  TempDir Dir;
  Bytes Raw = idxBytes(0x08, {2, 3, 3}, 18);
  for (const char *Name : {"imgs.gz", "no-extension"}) {
    writeGzip(Dir.file(Name), Raw);
    IdxArray A = readIdxU8(Dir.file(Name));
    EXPECT_EQ(A.dims, (std::vector<int64_t>{2, 3, 3}));
    EXPECT_EQ(A.data, Bytes(Raw.begin() + 16, Raw.end()));
  }
}

TEST(Idx, FindIdxFile) {
  TempDir Dir;
  std::string Plain = Dir.file("labels"), Gz = Dir.file("labels.gz");
  EXPECT_IO_ERROR(findIdxFile(Dir.Path, "labels"), Plain, Gz);
  writeGzip(Gz, idxBytes(0x08, {1}, 1));
  EXPECT_EQ(findIdxFile(Dir.Path, "labels"), Gz);
  EXPECT_EQ(findIdxFile(Dir.Path + "/", "labels"), Gz);
  writeBytes(Plain, idxBytes(0x08, {1}, 1));
  EXPECT_EQ(findIdxFile(Dir.Path, "labels"), Plain);
}

TEST(Idx, MalformedInputs) {
  TempDir Dir;
  std::string P = Dir.file("train-images-idx3-ubyte");
  writeBytes(P, {0x12, 0x34, 0x56, 0x78, 0, 0, 0, 1});
  EXPECT_IO_ERROR(readIdxU8(P), P, "bad magic number 0x12345678");
  writeBytes(P, idxBytes(0x0D, {1, 1, 1}, 4));
  EXPECT_IO_ERROR(readIdxU8(P), P, "unsupported IDX type code 0x0D");
  writeBytes(P, idxBytes(0x08, {1, 1, 1, 1, 1}, 1));
  EXPECT_IO_ERROR(readIdxU8(P), P, "dimension count 5");
  writeBytes(P, idxBytes(0x08, {}, 0));
  EXPECT_IO_ERROR(readIdxU8(P), P, "dimension count 0");
  writeBytes(P, idxBytes(0x08, {60000, 28, 28}, 1234));
  EXPECT_IO_ERROR(readIdxU8(P), P,
                  "truncated: header says 60000 images of 28x28 but file "
                  "holds 1234 bytes of pixels");
  writeBytes(P, idxBytes(0x08, {10}, 3));
  EXPECT_IO_ERROR(readIdxU8(P), P, "10 labels but file holds 3 bytes");
  Bytes Short = idxBytes(0x08, {5, 5, 5}, 0);
  Short.resize(9);
  writeBytes(P, Short);
  EXPECT_IO_ERROR(readIdxU8(P), P, "truncated");
  writeBytes(P, {0, 0});
  EXPECT_IO_ERROR(readIdxU8(P), P, "truncated");
  writeBytes(P, {});
  EXPECT_IO_ERROR(readIdxU8(P), P, "empty file");
  // Huge dims must neither overflow nor allocate.
  uint32_t Max = 0xFFFFFFFF;
  writeBytes(P, idxBytes(0x08, {Max, Max, Max, Max}, 100));
  EXPECT_IO_ERROR(readIdxU8(P), P, "implausibly large");
  writeBytes(P, idxBytes(0x08, {Max, 16}, 100)); // 64 GiB: no preallocation.
  EXPECT_IO_ERROR(readIdxU8(P), P, "truncated");
  writeBytes(P, idxBytes(0x08, {2, 2}, 5));
  EXPECT_IO_ERROR(readIdxU8(P), P, "unexpected extra data");
  EXPECT_IO_ERROR(readIdxU8(Dir.file("missing")), Dir.file("missing"),
                  "cannot open for reading: No such file");
}

TEST(Idx, MalformedGzip) {
  TempDir Dir;
  std::string P = Dir.file("x.idx.gz");
  writeGzip(P, idxBytes(0x08, {60000, 28, 28}, 1234));
  EXPECT_IO_ERROR(readIdxU8(P), P, "truncated: header says 60000 images");
  Bytes Garbage = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad,
                   0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9,    10};
  writeBytes(P, Garbage);
  EXPECT_IO_ERROR(readIdxU8(P), P, "gzip");
  // A gzip stream cut short in the middle of the data.
  writeGzip(P, idxBytes(0x08, {100, 10, 10}, 10000));
  Bytes Gz = readBytes(P);
  Gz.resize(Gz.size() / 2);
  writeBytes(P, Gz);
  EXPECT_IO_ERROR(readIdxU8(P), P, "truncated");
}

TEST(Idx, WriteErrors) {
  TempDir Dir;
  std::string P = Dir.file("o.idx");
  Bytes D(4);
  EXPECT_IO_ERROR(writeIdxU8(P, {}, D.data()), P, "0 dimensions");
  EXPECT_IO_ERROR(writeIdxU8(P, {1, 1, 1, 1, 1}, D.data()), P, "5 dimensions");
  EXPECT_IO_ERROR(writeIdxU8(P, {-1}, D.data()), P, "dimension 0 is -1");
  std::string Bad = Dir.file("nope/o.idx");
  EXPECT_IO_ERROR(writeIdxU8(Bad, {4}, D.data()), Bad,
                  "cannot open for writing");
  // A device that refuses every byte: the write fails when the file is closed, and
  // what failed is not removed (unlinking /dev/full would break the machine).
  const std::string Full = "/dev/full";
  if (std::filesystem::is_character_file(Full)) {
    EXPECT_IO_ERROR(writeIdxU8(Full, {4}, D.data()), Full, "write failed");
    EXPECT_IO_ERROR(writeNpyF32(Full, std::vector<float>(4).data(), {4}), Full, "write failed");
    float V[4] = {0, 0, 0, 0};
    EXPECT_IO_ERROR(writeGrayGridPng(Full, V, 1, 2, 2, 1, 1, 0, 1), Full, "write failed");
    EXPECT_TRUE(std::filesystem::is_character_file(Full));
  }
}

TEST(Writers, PutAWholeNewFileInPlace) {
  // Each writer renames a finished file of its own over the path (FileOut), so a reader
  // of the old file, here a second name of it, never sees it change; no temporary file
  // stays behind.
  TempDir Dir;
  const float V[4] = {0, 0.25f, 0.5f, 1};
  const uint8_t U[4] = {1, 2, 3, 4};
  const std::vector<std::function<void(const std::string &)>> writers = {
      [&](const std::string &P) { writeNpyF32(P, V, {4}); },
      [&](const std::string &P) { writeIdxU8(P, {4}, U); },
      [&](const std::string &P) { writeGrayGridPng(P, V, 1, 2, 2, 1, 1, 0, 1); }};
  for (size_t I = 0; I < writers.size(); ++I) {
    const std::string P = Dir.file("w" + std::to_string(I)),
                      Old = Dir.file("old" + std::to_string(I));
    writeBytes(P, {7, 7, 7});
    fs::create_hard_link(P, Old);
    writers[I](P);
    EXPECT_EQ(readBytes(Old), (Bytes{7, 7, 7})) << I;
    EXPECT_GT(fs::file_size(P), 3u) << I;
    EXPECT_FALSE(fs::exists(P + ".tmp." + std::to_string(::getpid()))) << I;
  }
}

namespace {

struct GrayImage {
  uint32_t Width = 0, Height = 0;
  Bytes Pixels;
  uint8_t at(uint32_t X, uint32_t Y) const { return Pixels[Y * Width + X]; }
};

GrayImage readPngGray(const std::string &Path) {
  png_image Image;
  std::memset(&Image, 0, sizeof(Image));
  Image.version = PNG_IMAGE_VERSION;
  GrayImage Out;
  if (!png_image_begin_read_from_file(&Image, Path.c_str())) {
    ADD_FAILURE() << Image.message;
    return Out;
  }
  EXPECT_EQ(Image.format, PNG_FORMAT_GRAY);
  Image.format = PNG_FORMAT_GRAY;
  Out.Width = Image.width;
  Out.Height = Image.height;
  Out.Pixels.resize(PNG_IMAGE_SIZE(Image));
  EXPECT_TRUE(
      png_image_finish_read(&Image, nullptr, Out.Pixels.data(), 0, nullptr))
      << Image.message;
  return Out;
}

} // namespace

TEST(Png, GridLayoutAndValueMapping) {
  TempDir Dir;
  std::string P = Dir.file("grid.png");
  const float NaN = std::nanf("");
  // Three 2x3 samples in a 2x2 grid; the fourth tile stays black.
  std::vector<float> S = {-1, 0,   1,   5,   -5,  NaN, // sample 0
                          1,  1,   1,   1,   1,   1,   // sample 1
                          .5, .5f, .5f, .5f, .5f, .5f};
  writeGrayGridPng(P, S.data(), 3, 2, 3, 2, 2, -1.f, 1.f);
  Bytes File = readBytes(P);
  ASSERT_GE(File.size(), 8u);
  EXPECT_EQ(File[1], 'P');
  GrayImage Img = readPngGray(P);
  ASSERT_EQ(Img.Width, 8u);  // 3 + 2 + 3
  ASSERT_EQ(Img.Height, 6u); // 2 + 2 + 2
  const uint8_t Tile0[6] = {0, 128, 255, 255, 0, 0};
  for (uint32_t Y = 0; Y < 6; ++Y)
    for (uint32_t X = 0; X < 8; ++X) {
      bool Border = X == 3 || X == 4 || Y == 2 || Y == 3;
      uint8_t Want = 0;
      if (!Border && Y < 2 && X < 3)
        Want = Tile0[Y * 3 + X];
      else if (!Border && Y < 2)
        Want = 255;
      else if (!Border && X < 3)
        Want = 191;
      EXPECT_EQ(Img.at(X, Y), Want) << "x=" << X << " y=" << Y;
    }
  // Extra samples beyond rows*cols are ignored.
  writeGrayGridPng(P, S.data(), 3, 2, 3, 1, 1, -1.f, 1.f);
  EXPECT_EQ(readPngGray(P).Width, 3u);
}

TEST(Png, Errors) {
  TempDir Dir;
  std::string P = Dir.file("e.png");
  float V[4] = {0, 0, 0, 0};
  EXPECT_IO_ERROR(writeGrayGridPng(P, V, 1, 2, 2, 0, 1, 0, 1), P, "invalid");
  EXPECT_IO_ERROR(writeGrayGridPng(P, V, 1, 2, 2, 1, 1, 1, 1), P,
                  "invalid PNG value range");
  EXPECT_IO_ERROR(writeGrayGridPng(P, V, 1, 2, 2, 1, 1, std::nanf(""), 1), P,
                  "invalid PNG value range");
  EXPECT_IO_ERROR(writeGrayGridPng(P, nullptr, 1, 2, 2, 1, 1, 0, 1), P, "null");
  EXPECT_IO_ERROR(writeGrayGridPng(P, V, 1, 100000, 100000, 9, 9, 0, 1), P,
                  "too large");
  std::string Bad = Dir.file("missing/dir/e.png");
  EXPECT_IO_ERROR(writeGrayGridPng(Bad, V, 1, 2, 2, 1, 1, 0, 1), Bad, "cannot open for writing");
  EXPECT_FALSE(fs::exists(P));
}

namespace {

/// A .npy file image with the given version, header dict and payload.
Bytes npyBytes(int Major, std::string Dict, const Bytes &Payload) {
  size_t Fixed = Major == 1 ? 10 : 12;
  while ((Fixed + Dict.size() + 1) % 64)
    Dict += ' ';
  Dict += '\n';
  Bytes Out;
  append(Out, "\x93NUMPY");
  Out.push_back(uint8_t(Major));
  Out.push_back(0);
  appendLE(Out, Dict.size(), Major == 1 ? 2 : 4);
  append(Out, Dict);
  Out.insert(Out.end(), Payload.begin(), Payload.end());
  return Out;
}

std::string npyDict(const std::string &Descr, const std::string &Shape,
                    const std::string &Order = "False") {
  return "{'descr': '" + Descr + "', 'fortran_order': " + Order +
         ", 'shape': " + Shape + ", }";
}

} // namespace

TEST(Npy, RoundTripAndLayout) {
  TempDir Dir;
  std::string P = Dir.file("a.npy");
  std::vector<float> Data(24);
  for (size_t I = 0; I < Data.size(); ++I)
    Data[I] = float(I) * 0.25f - 3.f;
  writeNpyF32(P, Data.data(), {2, 3, 4});
  Bytes File = readBytes(P);
  ASSERT_GE(File.size(), 10u);
  EXPECT_EQ(std::string(File.begin(), File.begin() + 6), "\x93NUMPY");
  EXPECT_EQ(File[6], 1);
  EXPECT_EQ(File[7], 0);
  size_t HeaderEnd = 10 + (File[8] | File[9] << 8);
  EXPECT_EQ(HeaderEnd % 64, 0u);
  EXPECT_EQ(File[HeaderEnd - 1], '\n');
  std::string Header(File.begin() + 10, File.begin() + HeaderEnd);
  EXPECT_NE(Header.find("'descr': '<f4'"), std::string::npos) << Header;
  EXPECT_NE(Header.find("'shape': (2, 3, 4)"), std::string::npos) << Header;
  EXPECT_EQ(File.size(), HeaderEnd + 4 * Data.size());
  NpyArray A = readNpyF32(P);
  EXPECT_EQ(A.shape, (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(A.data, Data);

  float One = 42.f;
  for (std::vector<int64_t> Shape :
       {std::vector<int64_t>{}, {1}, {0, 3}, {1, 1, 1, 1, 1}}) {
    writeNpyF32(P, &One, Shape);
    A = readNpyF32(P);
    EXPECT_EQ(A.shape, Shape);
    EXPECT_EQ(A.data.size(), Shape.size() == 2 ? 0u : 1u);
  }
  writeNpyF32(P, &One, {1});
  Bytes OneD = readBytes(P);
  EXPECT_NE(std::string(OneD.begin(), OneD.end()).find("(1,)"),
            std::string::npos);
}

TEST(Npy, ReadsU8AndVersion2) {
  TempDir Dir;
  std::string P = Dir.file("u8.npy");
  writeBytes(P, npyBytes(1, npyDict("|u1", "(2, 2)"), {0, 1, 128, 255}));
  NpyArray A = readNpyF32(P);
  EXPECT_EQ(A.shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(A.data, (std::vector<float>{0, 1, 128, 255}));
  EXPECT_TRUE(A.bytes.empty());
  // Kept as bytes when asked (the data loader's pixels).
  NpyArray Kept = readNpyF32(P, /*keepBytes=*/true);
  EXPECT_EQ(Kept.bytes, (Bytes{0, 1, 128, 255}));
  EXPECT_TRUE(Kept.data.empty());
  EXPECT_EQ(Kept.dtype, "|u1");
  Bytes F32;
  for (float F : {1.5f, -2.f, 1e30f}) {
    uint32_t Bits;
    std::memcpy(&Bits, &F, 4);
    appendLE(F32, Bits, 4);
  }
  writeBytes(P, npyBytes(2,
                         "{\"descr\":\"<f4\",\"shape\":(3L,),"
                         "\"fortran_order\":False}",
                         F32));
  A = readNpyF32(P);
  EXPECT_EQ(A.shape, (std::vector<int64_t>{3}));
  EXPECT_EQ(A.data, (std::vector<float>{1.5f, -2.f, 1e30f}));
}

TEST(Npy, ReadsWiderTypesAsFloats) {
  // NumPy's defaults: float64 arrays and int64 labels; also int32.
  TempDir Dir;
  std::string P = Dir.file("w.npy");
  Bytes F64, I64, I32;
  for (double D : {0.5, -3.25}) {
    uint64_t Bits;
    std::memcpy(&Bits, &D, 8);
    appendLE(F64, Bits, 8);
  }
  for (int64_t V : {int64_t(7), int64_t(-2)})
    appendLE(I64, uint64_t(V), 8);
  for (int32_t V : {9, -1})
    appendLE(I32, uint32_t(V), 4);
  for (auto [Descr, Payload] : {std::pair{"<f8", F64}, {"<i8", I64}, {"<i4", I32}}) {
    writeBytes(P, npyBytes(1, npyDict(Descr, "(2,)"), Payload));
    NpyArray A = readNpyF32(P);
    EXPECT_EQ(A.dtype, Descr);
    EXPECT_EQ(A.shape, (std::vector<int64_t>{2}));
  }
  writeBytes(P, npyBytes(1, npyDict("<f8", "(2,)"), F64));
  EXPECT_EQ(readNpyF32(P).data, (std::vector<float>{0.5f, -3.25f}));
  // Bytes have no byte order: '<u1' and '>u1' are '|u1' (pixels, as the data loader asks).
  for (const char *Descr : {"<u1", ">u1"}) {
    writeBytes(P, npyBytes(1, npyDict(Descr, "(2,)"), Bytes{7, 255}));
    NpyArray A = readNpyF32(P);
    EXPECT_EQ(A.dtype, "|u1") << Descr;
    EXPECT_EQ(A.data, (std::vector<float>{7, 255})) << Descr;
  }
  writeBytes(P, npyBytes(1, npyDict("<i8", "(2,)"), I64));
  EXPECT_EQ(readNpyF32(P).data, (std::vector<float>{7, -2}));
  writeBytes(P, npyBytes(1, npyDict("<i4", "(2,)"), I32));
  EXPECT_EQ(readNpyF32(P).data, (std::vector<float>{9, -1}));
}

TEST(Npy, MalformedInputs) {
  TempDir Dir;
  std::string P = Dir.file("bad.npy");
  Bytes Four(16);
  writeBytes(P, npyBytes(1, npyDict("<f2", "(8,)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "unsupported dtype '<f2'");
  writeBytes(P, npyBytes(1, npyDict(">f4", "(4,)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "big-endian");
  writeBytes(P, npyBytes(1, npyDict("<f4", "(2, 2)", "True"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "fortran_order True");
  writeBytes(P, npyBytes(1,
                         "{'descr': [('a', '<f4')], 'fortran_order': "
                         "False, 'shape': (1,), }",
                         Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "structured");
  writeBytes(P, npyBytes(3, npyDict("<f4", "(4,)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "unsupported .npy format version 3.0");
  writeBytes(P, Bytes{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0});
  EXPECT_IO_ERROR(readNpyF32(P), P, "not a .npy file");
  writeBytes(P, npyBytes(1, npyDict("<f4", "(5,)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "truncated: shape (5,) of '<f4' needs 20");
  writeBytes(P, npyBytes(1, npyDict("<f4", "(3,)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "size mismatch");
  writeBytes(
      P, npyBytes(1, npyDict("<f4", "(99999999999, 99999999999, 9)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "truncated");
  writeBytes(P, npyBytes(1, npyDict("<f4", "(99999999999999999999,)"), Four));
  EXPECT_IO_ERROR(readNpyF32(P), P, "too large");
  for (std::string Dict : {"{'descr': '<f4', 'shape': (4,)}", "{'descr' '<f4'",
                           "{'descr': '<f4', 'fortran_order': Maybe}",
                           "{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (4,), 'extra': 1}",
                           "[]", "{'descr': '<f4"}) {
    writeBytes(P, npyBytes(1, Dict, Four));
    EXPECT_IO_ERROR(readNpyF32(P), P, "malformed .npy header");
  }
  Bytes Cut = npyBytes(1, npyDict("<f4", "(4,)"), Four);
  Cut.resize(40);
  writeBytes(P, Cut);
  EXPECT_IO_ERROR(readNpyF32(P), P, "truncated: header length 118");
  EXPECT_IO_ERROR(writeNpyF32(P, nullptr, {-1}), P, "negative dimension");
}

namespace {

/// A safetensors file image from raw header JSON and payload.
Bytes stBytes(const std::string &Json, const Bytes &Payload) {
  Bytes Out;
  appendLE(Out, Json.size(), 8);
  append(Out, Json);
  Out.insert(Out.end(), Payload.begin(), Payload.end());
  return Out;
}

std::string oneTensor(const std::string &Dtype, const std::string &Shape,
                      const std::string &Offsets) {
  return "{\"t\":{\"dtype\":\"" + Dtype + "\",\"shape\":" + Shape +
         ",\"data_offsets\":" + Offsets + "}}";
}

/// Where this process writes a checkpoint before renaming it into place.
std::string temporaryOf(const std::string &Path) {
  return Path + ".tmp." + std::to_string(::getpid());
}

} // namespace

TEST(SafeTensors, RoundTrip) {
  TempDir Dir;
  std::string P = Dir.file("ckpt.safetensors");
  std::vector<NamedTensor> Ts = {
      {"gen.fc1.weight", {2, 3}, {1, 2, 3, 4, 5, -6.5f}},
      {"scalar", {}, {3.25f}},
      {"empty", {0, 4}, {}},
      {"we\"ird\\name\n\x01 \xc3\xa9", {4}, {0.f, -0.f, 1e-30f, 1e30f}},
      {"a.first.alphabetically", {1}, {7}}};
  std::map<std::string, std::string> Meta = {
      {"step", "1200"}, {"note", "quote \" backslash \\ nl \n tab \t"}};
  writeSafeTensors(P, Ts, Meta);
  writeSafeTensors(P, Ts, Meta); // Overwrites in place.
  EXPECT_FALSE(fs::exists(temporaryOf(P)));
  Bytes File = readBytes(P);
  uint64_t N = 0;
  for (int I = 7; I >= 0; --I)
    N = N << 8 | File[I];
  EXPECT_EQ(N % 8, 0u);
  EXPECT_EQ(File.size(), 8 + N + 4 * (6 + 1 + 4 + 1));
  SafeTensorsFile F = readSafeTensors(P);
  EXPECT_EQ(F.metadata, Meta);
  ASSERT_EQ(F.tensors.size(), Ts.size());
  for (size_t I = 0; I < Ts.size(); ++I) {
    EXPECT_EQ(F.tensors[I].name, Ts[I].name);
    EXPECT_EQ(F.tensors[I].shape, Ts[I].shape);
    EXPECT_EQ(F.tensors[I].data, Ts[I].data);
  }
  ASSERT_NE(F.find("scalar"), nullptr);
  EXPECT_EQ(F.find("scalar")->data, std::vector<float>{3.25f});
  EXPECT_EQ(F.find("nope"), nullptr);

  writeSafeTensors(P, {}, {});
  F = readSafeTensors(P);
  EXPECT_TRUE(F.tensors.empty());
  EXPECT_TRUE(F.metadata.empty());
}

TEST(SafeTensors, ParsesForeignHeader) {
  TempDir Dir;
  std::string P = Dir.file("hf.safetensors");
  std::string Json = " { \"__metadata__\" : { \"format\" : \"pt\" } ,\n"
                     "  \"caf\\u00e9\\ud83d\\ude00\\/\\t\" : { \"data_offsets\""
                     " : [ 4 , 8 ], \"dtype\" : \"F32\", \"shape\" : [ 1 ],"
                     " \"extra\": [true, false, null, -3] },"
                     " \"first\": {\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]} } ";
  writeBytes(P, stBytes(Json, {0, 0, 0, 0, 0, 0, 0x80, 0x3f}));
  SafeTensorsFile F = readSafeTensors(P);
  EXPECT_EQ(F.metadata.at("format"), "pt");
  ASSERT_EQ(F.tensors.size(), 2u);
  EXPECT_EQ(F.tensors[0].name, "caf\xc3\xa9\xf0\x9f\x98\x80/\t");
  EXPECT_EQ(F.tensors[0].data, std::vector<float>{1.f});
  EXPECT_EQ(F.tensors[1].data, std::vector<float>{0.f});
}

TEST(SafeTensors, MalformedInputs) {
  TempDir Dir;
  std::string P = Dir.file("bad.safetensors");
  Bytes Sixteen(16);
  writeSafeTensors(P, {{"w", {2, 2}, {1, 2, 3, 4}}}, {});
  Bytes Good = readBytes(P);
  Good.resize(Good.size() - 4);
  writeBytes(P, Good);
  EXPECT_IO_ERROR(readSafeTensors(P), P, "truncated");
  writeBytes(P, {1, 2, 3});
  EXPECT_IO_ERROR(readSafeTensors(P), P, "truncated: file holds only 3 bytes");
  Bytes Huge = stBytes("{}", {});
  Huge[7] = 0x7f;
  writeBytes(P, Huge);
  EXPECT_IO_ERROR(readSafeTensors(P), P, "truncated: header length");
  for (std::string Json : std::vector<std::string>{
           "{\"t\": {\"dtype\": \"F32\", ", "[1, 2]", "{} x", "{\"a\":1.5}",
           "{\"a\":1,\"a\":2}", "{\"a\":\"\\q\"}", "{\"a\":\"\\ud800\"}",
           "{'a': 1}", "", "{\"a\":99999999999999999999}",
           std::string(100000, '[') + std::string(100000, ']')}) {
    writeBytes(P, stBytes(Json, {}));
    EXPECT_IO_ERROR(readSafeTensors(P), P, "bad JSON header");
  }
  writeBytes(P, stBytes(oneTensor("F32", "[2, 2]", "[0, 1000]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "data_offsets [0, 1000] out of range");
  writeBytes(P, stBytes(oneTensor("F32", "[2, 2]", "[0, 8]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "inconsistent with F32 shape [2, 2]");
  writeBytes(P, stBytes(oneTensor("F32", "[4294967296, 4294967296]", "[0, 16]"),
                        Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "inconsistent");
  writeBytes(P, stBytes(oneTensor("F32", "[2]", "[8, 0]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "begin <= end");
  writeBytes(P, stBytes(oneTensor("F32", "[-2]", "[0, 8]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "\"shape\" must be");
  writeBytes(P, stBytes(oneTensor("F16", "[2]", "[0, 4]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "unsupported dtype F16");
  // The tensors' ranges must tile the data section: no overlap, no byte of no tensor.
  auto two = [](const std::string &A, const std::string &B) {
    return "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + A +
           "},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":" + B + "}}";
  };
  writeBytes(P, stBytes(two("[0, 8]", "[4, 12]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P,
                  "tensors 'a' and 'b' overlap in the data section (their data_offsets "
                  "share bytes 4 to 8)");
  writeBytes(P, stBytes(two("[0, 8]", "[0, 8]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "overlap");
  writeBytes(P, stBytes(two("[8, 16]", "[0, 8]"), Sixteen));
  EXPECT_EQ(readSafeTensors(P).tensors.size(), 2u);
  writeBytes(P, stBytes(two("[0, 8]", "[8, 16]"), Bytes(20)));
  EXPECT_IO_ERROR(readSafeTensors(P), P,
                  "the data section holds 20 bytes but its tensors cover only 16");
  writeBytes(P, stBytes(oneTensor("F32", "[2]", "[4, 12]"), Sixteen));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "bytes 0 to 4 of the data section belong to no tensor");
  writeBytes(P, stBytes("{\"__metadata__\":{\"a\":1}}", {}));
  EXPECT_IO_ERROR(readSafeTensors(P), P, "not a string");
  EXPECT_IO_ERROR(readSafeTensors(Dir.file("none")), Dir.file("none"),
                  "cannot open for reading");
}

TEST(SafeTensors, WriteErrors) {
  TempDir Dir;
  std::string P = Dir.file("w.safetensors");
  EXPECT_IO_ERROR(writeSafeTensors(P, {{"w", {2, 2}, {1, 2, 3}}}, {}), P,
                  "does not match its 3 values");
  EXPECT_IO_ERROR(writeSafeTensors(P, {{"w", {1}, {1}}, {"w", {1}, {2}}}, {}),
                  P, "duplicate");
  EXPECT_IO_ERROR(writeSafeTensors(P, {{"__metadata__", {1}, {1}}}, {}), P,
                  "reserved");
  std::string Bad = Dir.file("no/such/dir/w.safetensors");
  EXPECT_IO_ERROR(writeSafeTensors(Bad, {}, {}), Bad,
                  "cannot open for writing");
  EXPECT_FALSE(fs::exists(P));
  // A path that is not a regular file is refused, not replaced by the renamed file.
  std::string Pipe = Dir.file("pipe"), Folder = Dir.file("folder");
  ASSERT_EQ(::mkfifo(Pipe.c_str(), 0600), 0);
  fs::create_directory(Folder);
  EXPECT_IO_ERROR(writeSafeTensors(Pipe, {{"w", {1}, {1}}}, {}), Pipe, "is not a regular file");
  EXPECT_IO_ERROR(writeSafeTensors(Folder, {{"w", {1}, {1}}}, {}), Folder, "is not a regular file");
  EXPECT_TRUE(fs::is_fifo(Pipe));
  EXPECT_TRUE(fs::is_directory(Folder));
  EXPECT_FALSE(fs::exists(temporaryOf(Pipe)));
  // So is a temporary file that is not a regular one: a pipe there is not waited on, and
  // a symbolic link's target is not written through.
  std::string Other = Dir.file("other"), Ckpt = Dir.file("c.safetensors"), Tmp = temporaryOf(Ckpt);
  writeBytes(Other, {1, 2, 3});
  fs::create_symlink(Other, Tmp);
  EXPECT_IO_ERROR(writeSafeTensors(Ckpt, {{"w", {1}, {1}}}, {}), Ckpt, "is not a regular file");
  EXPECT_EQ(fs::file_size(Other), 3u);
  EXPECT_FALSE(fs::exists(Ckpt));
  fs::remove(Tmp);
  ASSERT_EQ(::mkfifo((Tmp).c_str(), 0600), 0);
  EXPECT_IO_ERROR(writeSafeTensors(Ckpt, {{"w", {1}, {1}}}, {}), Ckpt, "is not a regular file");
  EXPECT_TRUE(fs::is_fifo(Tmp));
  EXPECT_FALSE(fs::exists(Ckpt));
  // A stale regular temporary file is replaced, and one that is a hard link to another
  // file is not written through.
  fs::remove(Tmp);
  writeBytes(Tmp, {9, 9});
  writeSafeTensors(Ckpt, {{"w", {1}, {1}}}, {});
  EXPECT_EQ(readSafeTensors(Ckpt).tensors.at(0).data, std::vector<float>{1});
  EXPECT_FALSE(fs::exists(Tmp));
  fs::create_hard_link(Other, Tmp);
  writeSafeTensors(Ckpt, {{"w", {1}, {2}}}, {});
  EXPECT_EQ(readSafeTensors(Ckpt).tensors.at(0).data, std::vector<float>{2});
  EXPECT_EQ(fs::file_size(Other), 3u);
  // Another process's temporary file (a run writing the same checkpoint) is left alone.
  const std::string Theirs = Ckpt + ".tmp.0";
  writeBytes(Theirs, {5, 5, 5, 5});
  writeSafeTensors(Ckpt, {{"w", {1}, {3}}}, {});
  EXPECT_EQ(readSafeTensors(Ckpt).tensors.at(0).data, std::vector<float>{3});
  EXPECT_EQ(fs::file_size(Theirs), 4u);
}

namespace {

/// Three 2x2 images and their labels {0, 2, 1}, as an MNIST folder.
DataSpec labelledFolder(const TempDir &Dir, const Bytes &Labels) {
  writeBytes(Dir.file("train-images-idx3-ubyte"), idxBytes(0x08, {3, 2, 2}, 12));
  writeBytes(Dir.file("train-labels-idx1-ubyte"), Labels);
  DataSpec S;
  S.name = "x";
  S.kind = "mnist";
  S.path = Dir.Path;
  S.shape = {4};
  S.labelsName = "y";
  S.classes = 3;
  return S;
}

Bytes withPayload(Bytes Header, const Bytes &Payload) {
  Header.resize(Header.size() - Payload.size());
  Header.insert(Header.end(), Payload.begin(), Payload.end());
  return Header;
}

} // namespace

TEST(Labels, BatchesCarryTheirSamplesClassesOneHot) {
  TempDir Dir;
  DataSpec S = labelledFolder(Dir, withPayload(idxBytes(0x08, {3}, 3), {0, 2, 1}));
  Dataset D = Dataset::load(S);
  ASSERT_EQ(D.classes(), 3);
  EXPECT_EQ(D.label(0), 0);
  EXPECT_EQ(D.label(1), 2);
  EXPECT_EQ(D.label(2), 1);
  // Over one epoch (a batch of all three samples), each row's one-hot label is the class
  // of the image in the same row.
  BatchSampler B(D, 7);
  std::vector<float> X(12), Y(9), Row(4);
  B.fill(X.data(), 3, 0, Y.data());
  for (int K = 0; K < 3; ++K) {
    int Sample = -1;
    for (int I = 0; I < 3; ++I) {
      D.copyRow(I, Row.data());
      if (std::equal(X.begin() + K * 4, X.begin() + K * 4 + 4, Row.begin()))
        Sample = I;
    }
    ASSERT_GE(Sample, 0);
    for (int C = 0; C < 3; ++C)
      EXPECT_EQ(Y[K * 3 + C], C == D.label(Sample) ? 1.f : 0.f) << "row " << K;
  }
}

TEST(Labels, PixelRowsReadScaledInBatchesAndHeldOut) {
  // Pixels stay bytes in memory; what a batch or the held-out set reads is the pixel
  // scaled to [lo, hi], the same value either way: pixel I * 7 of the file here.
  TempDir Dir;
  DataSpec S = labelledFolder(Dir, withPayload(idxBytes(0x08, {3}, 3), {0, 2, 1}));
  S.lo = -1;
  S.hi = 1;
  S.holdOut = 1;
  Dataset D = Dataset::load(S);
  ASSERT_EQ(D.size(), 2);
  ASSERT_EQ(D.heldOutSize(), 1);
  EXPECT_EQ(D.heldOutLabel(0), 1);
  auto Scaled = [](int Pixel) { return -1.f + float(2 / 255.0) * float(Pixel); };
  for (int J = 0; J < 4; ++J)
    EXPECT_EQ(D.heldOutRow(0)[J], Scaled((8 + J) * 7)) << J;
  BatchSampler B(D, 3);
  std::vector<float> X(8);
  B.fill(X.data(), 2, 0);
  for (int K = 0; K < 2; ++K) {
    const int Sample = X[K * 4] == Scaled(0) ? 0 : 1;
    for (int J = 0; J < 4; ++J)
      EXPECT_EQ(X[K * 4 + J], Scaled((Sample * 4 + J) * 7)) << K << " " << J;
  }
  EXPECT_NE(X[0], X[4]); // both samples, once each
  EXPECT_FLOAT_EQ(Scaled(0), -1.f);
  EXPECT_FLOAT_EQ(Scaled(255), 1.f);
}

TEST(Labels, MalformedInputs) {
  TempDir Dir;
  std::string L = Dir.file("train-labels-idx1-ubyte");
  EXPECT_IO_ERROR(Dataset::load(labelledFolder(Dir, withPayload(idxBytes(0x08, {2}, 2), {0, 1}))), L,
                  "holds 2 labels for the 3 samples");
  EXPECT_IO_ERROR(Dataset::load(labelledFolder(Dir, withPayload(idxBytes(0x08, {3}, 3), {0, 5, 1}))), L,
                  "label 5 of sample 1 is not a class of 3 (0 to 2)");
  EXPECT_IO_ERROR(Dataset::load(labelledFolder(Dir, idxBytes(0x08, {3, 1}, 3))), L,
                  "expected labels (1 dimension)");
}

TEST(Labels, NpyDataWithNpyLabels) {
  // npy() data: uint8 pixels are scaled like IDX ones, floats are used as stored (and a
  // `scale` for them is refused); labels may be a .npy of int64 classes.
  TempDir Dir;
  std::string X = Dir.file("x.npy"), Y = Dir.file("y.npy");
  writeBytes(X, npyBytes(1, npyDict("|u1", "(3, 2, 2)"), Bytes{0, 255, 51, 102, 0, 0, 0, 0, 255, 255, 255, 255}));
  Bytes Classes;
  for (int64_t C : {2, 0, 1})
    appendLE(Classes, uint64_t(C), 8);
  writeBytes(Y, npyBytes(1, npyDict("<i8", "(3,)"), Classes));
  DataSpec S;
  S.name = "x";
  S.kind = "npy";
  S.path = X;
  S.lo = -1;
  S.hi = 1;
  S.scaled = true;
  S.shape = {4};
  S.labelsName = "y";
  S.labelsPath = Y;
  S.classes = 3;
  Dataset D = Dataset::load(S);
  ASSERT_EQ(D.size(), 3);
  std::vector<float> Row(4);
  D.copyRow(0, Row.data());
  EXPECT_FLOAT_EQ(Row[0], -1.f);
  EXPECT_FLOAT_EQ(Row[1], 1.f);
  EXPECT_FLOAT_EQ(Row[2], -0.6f);
  EXPECT_EQ(D.label(0), 2);
  EXPECT_EQ(D.label(2), 1);

  std::vector<float> F = {0.5f, -0.5f, 2, 3, 4, 5};
  writeNpyF32(X, F.data(), {3, 2});
  S.shape = {2};
  EXPECT_IO_ERROR(Dataset::load(S), X, "used as stored; `scale` maps the 0..255 pixels");
  S.scaled = false;
  D = Dataset::load(S);
  D.copyRow(0, Row.data());
  EXPECT_EQ(std::vector<float>(Row.begin(), Row.begin() + 2), (std::vector<float>{0.5f, -0.5f}));
  // Float data holds out its last samples as they are stored.
  S.holdOut = 1;
  D = Dataset::load(S);
  ASSERT_EQ(D.size(), 2);
  EXPECT_EQ(std::vector<float>(D.heldOutRow(0), D.heldOutRow(0) + 2), (std::vector<float>{4, 5}));
  D.copyRow(1, Row.data());
  EXPECT_EQ(std::vector<float>(Row.begin(), Row.begin() + 2), (std::vector<float>{2, 3}));
  S.holdOut = 0;
  // Labels that are not classes, and data that is not finite, name the file and sample.
  std::vector<float> Half = {0, 1.5f, 2};
  writeNpyF32(Y, Half.data(), {3});
  EXPECT_IO_ERROR(Dataset::load(S), Y, "label 1.5 of sample 1 is not a class of 3 (0 to 2)");
  F[3] = std::nanf("");
  writeNpyF32(X, F.data(), {3, 2});
  EXPECT_IO_ERROR(Dataset::load(S), X, "value 3 (of sample 1) is not a finite number");
}
