//===- Npy.cpp - Reading and writing NumPy .npy files --------------------===//
//
// The reader loads the whole file, validates the fixed preamble, then parses
// the header dict with a tiny recursive-descent parser that understands just
// the literals NumPy emits (quoted strings, True/False, tuples of integers).
// Element counts are computed with overflow checks and compared with the
// bytes actually present before anything is converted.
//
//===----------------------------------------------------------------------===//

#include "io/Npy.h"
#include "io/FileOut.h"
#include "io/IoError.h"

#include <cctype>
#include <cstdio>
#include <cstring>

using namespace ganc::rt;

namespace {

const char NpyMagic[] = "\x93NUMPY";
constexpr size_t NpyMagicSize = 6;

/// Parsed contents of the header dict.
struct NpyHeader {
  std::string Descr;
  bool HasDescr = false, HasOrder = false, HasShape = false;
  bool FortranOrder = false;
  std::vector<int64_t> Shape;
};

/// Parser for the Python dict literal in a .npy header.
class HeaderParser {
public:
  HeaderParser(const std::string &FilePath, const std::string &HeaderText)
      : Path(FilePath), Text(HeaderText) {}

  NpyHeader parse() {
    NpyHeader H;
    expect('{');
    while (!consume('}')) {
      std::string Key = parseString("a quoted key");
      expect(':');
      if (Key == "descr") {
        if (peek() != '\'' && peek() != '"')
          throw IoError(Path, "unsupported dtype: structured dtypes are not "
                              "supported (expected '<f4' or '|u1')");
        H.Descr = parseString("a dtype string");
        H.HasDescr = true;
      } else if (Key == "fortran_order") {
        H.FortranOrder = parseBool();
        H.HasOrder = true;
      } else if (Key == "shape") {
        H.Shape = parseTuple();
        H.HasShape = true;
      } else {
        fail("unexpected key '" + Key + "'");
      }
      if (!consume(',') && peek() != '}')
        fail("expected ',' or '}'");
    }
    skipSpace();
    if (Pos != Text.size())
      fail("unexpected text after the closing '}'");
    if (!H.HasDescr || !H.HasOrder || !H.HasShape)
      fail("missing one of the keys 'descr', 'fortran_order', 'shape'");
    return H;
  }

private:
  [[noreturn]] void fail(const std::string &What) {
    std::string Shown = Text.substr(0, 200);
    for (char &C : Shown)
      if (C < 0x20 || C > 0x7e)
        C = '?';
    Shown.erase(Shown.find_last_not_of(" ?") + 1);
    throw IoError(Path, "malformed .npy header: " + What + " at position " +
                            std::to_string(Pos) + " in \"" + Shown + "\"");
  }
  void skipSpace() {
    while (Pos < Text.size() && std::isspace(uint8_t(Text[Pos])))
      ++Pos;
  }
  char peek() {
    skipSpace();
    return Pos < Text.size() ? Text[Pos] : '\0';
  }
  bool consume(char C) {
    if (peek() != C)
      return false;
    ++Pos;
    return true;
  }
  void expect(char C) {
    if (!consume(C))
      fail(std::string("expected '") + C + "'");
  }
  std::string parseString(const char *What) {
    char Quote = peek();
    if (Quote != '\'' && Quote != '"')
      fail(std::string("expected ") + What);
    size_t End = Text.find(Quote, Pos + 1);
    if (End == std::string::npos)
      fail("unterminated string");
    std::string Value = Text.substr(Pos + 1, End - Pos - 1);
    if (Value.find('\\') != std::string::npos)
      fail("escape sequences are not supported");
    Pos = End + 1;
    return Value;
  }
  bool parseBool() {
    skipSpace();
    if (Text.compare(Pos, 4, "True") == 0)
      return Pos += 4, true;
    if (Text.compare(Pos, 5, "False") == 0)
      return Pos += 5, false;
    fail("expected True or False");
  }
  std::vector<int64_t> parseTuple() {
    std::vector<int64_t> Dims;
    expect('(');
    while (!consume(')')) {
      skipSpace();
      if (Pos >= Text.size() || !std::isdigit(uint8_t(Text[Pos])))
        fail("expected a non-negative integer in shape");
      int64_t Value = 0;
      while (Pos < Text.size() && std::isdigit(uint8_t(Text[Pos]))) {
        int Digit = Text[Pos++] - '0';
        if (Value > (INT64_MAX - Digit) / 10)
          fail("shape dimension too large");
        Value = Value * 10 + Digit;
      }
      if (Pos < Text.size() && Text[Pos] == 'L')
        ++Pos; // Python 2 long literal.
      Dims.push_back(Value);
      if (Dims.size() > 64)
        fail("too many dimensions");
      if (!consume(',') && peek() != ')')
        fail("expected ',' or ')' in shape");
    }
    return Dims;
  }

  const std::string &Path;
  const std::string &Text;
  size_t Pos = 0;
};

std::string shapeText(const std::vector<int64_t> &Shape) {
  std::string Text = "(";
  for (size_t I = 0; I < Shape.size(); ++I)
    Text += (I ? ", " : "") + std::to_string(Shape[I]);
  return Text + (Shape.size() == 1 ? ",)" : ")");
}

uint32_t readLE(const uint8_t *Bytes, int Size) {
  uint32_t Value = 0;
  for (int I = Size - 1; I >= 0; --I)
    Value = Value << 8 | Bytes[I];
  return Value;
}

} // namespace

void ganc::rt::writeNpyF32(const std::string &path, const float *data,
                           const std::vector<int64_t> &shape) {
  uint64_t Count = 1;
  for (int64_t Dim : shape) {
    if (Dim < 0)
      throw IoError(path, "cannot write .npy: negative dimension in shape " +
                              shapeText(shape));
    if (Dim != 0 && Count > (SIZE_MAX / 4) / uint64_t(Dim))
      throw IoError(path, "cannot write .npy: shape " + shapeText(shape) +
                              " is too large");
    Count *= uint64_t(Dim);
  }
  if (Count > 0 && !data)
    throw IoError(path, "cannot write .npy: data pointer is null");

  std::string Header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': " + shapeText(shape) +
      ", }";
  size_t Unpadded = NpyMagicSize + 4 + Header.size() + 1;
  Header.append((64 - Unpadded % 64) % 64, ' ');
  Header += '\n';
  if (Header.size() > 65535)
    throw IoError(path, "cannot write .npy: header too long for format 1.0");
  std::string Preamble(NpyMagic, NpyMagicSize);
  Preamble +=
      {'\x01', '\x00', char(Header.size() & 0xff), char(Header.size() >> 8)};
  Preamble += Header;

  FileOut Out(path);
  std::FILE *File = Out.get();
  bool Ok =
      std::fwrite(Preamble.data(), 1, Preamble.size(), File) == Preamble.size();
  if (detail::isLittleEndianHost()) {
    Ok = Ok && (Count == 0 || std::fwrite(data, 4, Count, File) == Count);
  } else {
    for (uint64_t I = 0; Ok && I < Count; ++I) {
      uint32_t Bits;
      std::memcpy(&Bits, data + I, 4);
      uint8_t Le[4] = {uint8_t(Bits), uint8_t(Bits >> 8), uint8_t(Bits >> 16),
                       uint8_t(Bits >> 24)};
      Ok = std::fwrite(Le, 1, 4, File) == 4;
    }
  }
  Out.commit(Ok);
}

NpyArray ganc::rt::readNpyF32(const std::string &path, bool keepBytes) {
  std::vector<uint8_t> Bytes = detail::readWholeFile(path);
  if (Bytes.size() < NpyMagicSize + 2 ||
      std::memcmp(Bytes.data(), NpyMagic, NpyMagicSize) != 0)
    throw IoError(path, "not a .npy file (bad magic; expected \\x93NUMPY)");
  unsigned Major = Bytes[6], Minor = Bytes[7];
  if (!(Minor == 0 && (Major == 1 || Major == 2)))
    throw IoError(path, "unsupported .npy format version " +
                            std::to_string(Major) + "." +
                            std::to_string(Minor) + " (expected 1.0 or 2.0)");
  size_t LenSize = Major == 1 ? 2 : 4;
  size_t HeaderStart = 8 + LenSize;
  if (Bytes.size() < HeaderStart)
    throw IoError(path, "truncated: file ends inside the .npy preamble");
  size_t HeaderLen = readLE(Bytes.data() + 8, int(LenSize));
  if (HeaderLen > Bytes.size() - HeaderStart)
    throw IoError(path, "truncated: header length " +
                            std::to_string(HeaderLen) + " but only " +
                            std::to_string(Bytes.size() - HeaderStart) +
                            " bytes follow the preamble");
  std::string Text(reinterpret_cast<const char *>(Bytes.data()) + HeaderStart,
                   HeaderLen);
  NpyHeader H = HeaderParser(path, Text).parse();

  bool IsF32 = H.Descr == "<f4";
  bool IsU8 = H.Descr == "|u1" || H.Descr == "<u1" || H.Descr == ">u1";
  // Wider types, as NumPy writes by default (float64 arrays, int64 labels), are
  // converted to float.
  bool IsF64 = H.Descr == "<f8", IsI64 = H.Descr == "<i8", IsI32 = H.Descr == "<i4";
  const char *Expected = "(expected '<f4', '<f8', '<i4', '<i8' or '|u1')";
  if (H.Descr.size() == 3 && H.Descr[0] == '>' && !IsU8) // one byte has no byte order
    throw IoError(path, "unsupported dtype '" + H.Descr + "': big-endian data is not supported " + Expected);
  if (!IsF32 && !IsU8 && !IsF64 && !IsI64 && !IsI32)
    throw IoError(path, "unsupported dtype '" + H.Descr + "' " + Expected);
  if (H.FortranOrder)
    throw IoError(path, "fortran_order True is not supported (only C-order "
                        "arrays can be read)");

  size_t ItemSize = IsU8 ? 1 : IsF32 || IsI32 ? 4 : 8;
  size_t Available = Bytes.size() - HeaderStart - HeaderLen;
  // Count elements with a cap far below overflow; anything above the cap
  // cannot possibly be present in the file.
  const uint64_t Cap = UINT64_MAX / 8;
  uint64_t Count = 1;
  bool TooBig = false;
  for (int64_t Dim : H.Shape) {
    if (Dim == 0) {
      Count = 0;
      TooBig = false;
      break;
    }
    if (TooBig || Count > Cap / uint64_t(Dim))
      TooBig = true;
    else
      Count *= uint64_t(Dim);
  }
  if (TooBig || Count * ItemSize != Available) {
    bool Short = TooBig || Count * ItemSize > Available;
    std::string Need = TooBig ? "an impossibly large number of"
                              : std::to_string(Count * ItemSize);
    throw IoError(
        path, std::string(Short ? "truncated" : "size mismatch") + ": shape " +
                  shapeText(H.Shape) + " of '" + H.Descr + "' needs " + Need +
                  " bytes of data but file holds " + std::to_string(Available));
  }

  NpyArray Result;
  Result.shape = H.Shape;
  Result.dtype = IsU8 ? "|u1" : H.Descr; // '<u1', '>u1' and '|u1' are the same bytes
  const uint8_t *Src = Bytes.data() + HeaderStart + HeaderLen;
  if (IsU8 && keepBytes) {
    Result.bytes.assign(Src, Src + Count);
    return Result;
  }
  Result.data.resize(size_t(Count));
  if (IsU8) {
    for (size_t I = 0; I < Count; ++I)
      Result.data[I] = float(Src[I]);
  } else if (ItemSize == 8 || IsI32) {
    for (size_t I = 0; I < Count; ++I) {
      uint64_t Bits = 0;
      for (size_t B = 0; B < ItemSize; ++B)
        Bits |= uint64_t(Src[ItemSize * I + B]) << (8 * B);
      if (IsF64) {
        double D;
        std::memcpy(&D, &Bits, 8);
        Result.data[I] = float(D);
      } else if (IsI64) {
        Result.data[I] = float(int64_t(Bits));
      } else {
        Result.data[I] = float(int32_t(uint32_t(Bits)));
      }
    }
  } else if (Count == 0) {
    // Nothing to copy (and memcpy must not see a null pointer).
  } else if (detail::isLittleEndianHost()) {
    std::memcpy(Result.data.data(), Src, size_t(Count) * 4);
  } else {
    for (size_t I = 0; I < Count; ++I) {
      uint32_t Bits = readLE(Src + 4 * I, 4);
      std::memcpy(&Result.data[I], &Bits, 4);
    }
  }
  return Result;
}
