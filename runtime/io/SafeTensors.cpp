//===- SafeTensors.cpp - Reading and writing .safetensors files ----------===//
//
// The header is JSON, so this file carries a deliberately small JSON parser:
// objects (key order preserved, duplicates rejected), arrays, strings with
// all escapes including surrogate pairs, integers, true/false/null, and a
// nesting limit so hostile input cannot exhaust the stack. Every offset and
// shape from the header is checked against the real file size before any
// tensor data is touched.
//
//===----------------------------------------------------------------------===//

#include "io/SafeTensors.h"
#include "io/FileOut.h"
#include "io/IoError.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>

using namespace ganc::rt;

namespace {

/// A parsed JSON value; objects keep their keys in file order.
struct Json {
  enum KindTy { Null, Bool, Int, String, Array, Object } Kind = Null;
  int64_t IntValue = 0;
  std::string Str;
  std::vector<Json> Items;       ///< Array elements or object values.
  std::vector<std::string> Keys; ///< Object keys, parallel to Items.
};

class JsonParser {
public:
  JsonParser(const std::string &FilePath, const std::string &HeaderText)
      : Path(FilePath), Text(HeaderText) {}

  Json parseDocument() {
    Json Value = parseValue(0);
    skipSpace();
    if (Pos != Text.size())
      fail("unexpected text after the top-level value");
    return Value;
  }

private:
  [[noreturn]] void fail(const std::string &What) {
    throw IoError(Path, "bad JSON header: " + What + " at byte " +
                            std::to_string(Pos) + " of the header");
  }
  void skipSpace() {
    while (Pos < Text.size() && (Text[Pos] == ' ' || Text[Pos] == '\t' ||
                                 Text[Pos] == '\r' || Text[Pos] == '\n'))
      ++Pos;
  }
  bool consume(char C) {
    skipSpace();
    if (Pos >= Text.size() || Text[Pos] != C)
      return false;
    ++Pos;
    return true;
  }
  void expect(char C) {
    if (!consume(C))
      fail(std::string("expected '") + C + "'");
  }
  bool consumeWord(const char *Word) {
    size_t Len = std::strlen(Word);
    if (Text.compare(Pos, Len, Word) != 0)
      return false;
    Pos += Len;
    return true;
  }

  Json parseValue(int Depth) {
    if (Depth > 32)
      fail("nesting too deep");
    skipSpace();
    if (Pos >= Text.size())
      fail("unexpected end of header");
    Json V;
    char C = Text[Pos];
    if (C == '{') {
      V.Kind = Json::Object;
      ++Pos;
      std::set<std::string> Seen;
      for (bool First = true; !consume('}'); First = false) {
        if (!First)
          expect(',');
        skipSpace();
        std::string Key = parseString();
        if (!Seen.insert(Key).second)
          fail("duplicate key \"" + Key + "\"");
        expect(':');
        V.Keys.push_back(Key);
        V.Items.push_back(parseValue(Depth + 1));
      }
    } else if (C == '[') {
      V.Kind = Json::Array;
      ++Pos;
      for (bool First = true; !consume(']'); First = false) {
        if (!First)
          expect(',');
        V.Items.push_back(parseValue(Depth + 1));
      }
    } else if (C == '"') {
      V.Kind = Json::String;
      V.Str = parseString();
    } else if (C == '-' || (C >= '0' && C <= '9')) {
      V.Kind = Json::Int;
      V.IntValue = parseInt();
    } else if (consumeWord("true") || consumeWord("false")) {
      V.Kind = Json::Bool; // The value itself is never needed.
    } else if (!consumeWord("null")) {
      fail(std::string("unexpected character '") + C + "'");
    }
    return V;
  }

  int64_t parseInt() {
    bool Negative = Text[Pos] == '-';
    Pos += Negative;
    if (Pos >= Text.size() || Text[Pos] < '0' || Text[Pos] > '9')
      fail("expected digits");
    int64_t Value = 0;
    while (Pos < Text.size() && Text[Pos] >= '0' && Text[Pos] <= '9') {
      int Digit = Text[Pos++] - '0';
      if (Value > (INT64_MAX - Digit) / 10)
        fail("integer too large");
      Value = Value * 10 + Digit;
    }
    if (Pos < Text.size() &&
        (Text[Pos] == '.' || Text[Pos] == 'e' || Text[Pos] == 'E'))
      fail("non-integer numbers are not supported");
    return Negative ? -Value : Value;
  }

  unsigned parseHex4() {
    if (Text.size() - Pos < 4)
      fail("truncated \\u escape");
    unsigned Code = 0;
    for (int I = 0; I < 4; ++I) {
      char H = Text[Pos++];
      int Digit = H >= '0' && H <= '9'   ? H - '0'
                  : H >= 'a' && H <= 'f' ? H - 'a' + 10
                  : H >= 'A' && H <= 'F' ? H - 'A' + 10
                                         : -1;
      if (Digit < 0)
        fail("bad hex digit in \\u escape");
      Code = Code << 4 | unsigned(Digit);
    }
    return Code;
  }

  static void appendUtf8(std::string &Out, unsigned Cp) {
    if (Cp < 0x80) {
      Out += char(Cp);
    } else if (Cp < 0x800) {
      Out += char(0xC0 | Cp >> 6);
      Out += char(0x80 | (Cp & 0x3F));
    } else if (Cp < 0x10000) {
      Out += char(0xE0 | Cp >> 12);
      Out += char(0x80 | (Cp >> 6 & 0x3F));
      Out += char(0x80 | (Cp & 0x3F));
    } else {
      Out += char(0xF0 | Cp >> 18);
      Out += char(0x80 | (Cp >> 12 & 0x3F));
      Out += char(0x80 | (Cp >> 6 & 0x3F));
      Out += char(0x80 | (Cp & 0x3F));
    }
  }

  std::string parseString() {
    if (Pos >= Text.size() || Text[Pos] != '"')
      fail("expected a string");
    ++Pos;
    std::string Out;
    while (true) {
      if (Pos >= Text.size())
        fail("unterminated string");
      char C = Text[Pos++];
      if (C == '"')
        return Out;
      if (uint8_t(C) < 0x20)
        fail("control character in string");
      if (C != '\\') {
        Out += C;
        continue;
      }
      if (Pos >= Text.size())
        fail("unterminated escape");
      char E = Text[Pos++];
      static const char From[] = "\"\\/bfnrt", To[] = "\"\\/\b\f\n\r\t";
      if (const char *P = E ? std::strchr(From, E) : nullptr) {
        Out += To[P - From];
        continue;
      }
      if (E != 'u')
        fail(std::string("bad escape '\\") + E + "'");
      unsigned Cp = parseHex4();
      if (Cp >= 0xD800 && Cp < 0xDC00) {
        if (!consumeWord("\\u"))
          fail("unpaired surrogate in \\u escape");
        unsigned Low = parseHex4();
        if (Low < 0xDC00 || Low >= 0xE000)
          fail("bad low surrogate in \\u escape");
        Cp = 0x10000 + ((Cp - 0xD800) << 10) + (Low - 0xDC00);
      } else if (Cp >= 0xDC00 && Cp < 0xE000) {
        fail("unpaired surrogate in \\u escape");
      }
      appendUtf8(Out, Cp);
    }
  }

  const std::string &Path;
  const std::string &Text;
  size_t Pos = 0;
};

void appendJsonString(std::string &Out, const std::string &S) {
  Out += '"';
  for (char C : S) {
    if (C == '"' || C == '\\') {
      Out += '\\';
      Out += C;
    } else if (uint8_t(C) < 0x20) {
      char Buf[8];
      std::snprintf(Buf, sizeof(Buf), "\\u%04x", unsigned(C));
      Out += Buf;
    } else {
      Out += C;
    }
  }
  Out += '"';
}

std::string shapeText(const std::vector<int64_t> &Shape) {
  std::string Text = "[";
  for (size_t I = 0; I < Shape.size(); ++I)
    Text += (I ? ", " : "") + std::to_string(Shape[I]);
  return Text + "]";
}

/// Element count of \p Shape, or -1 if a dim is negative or the count would
/// exceed \p Limit (which keeps all later byte arithmetic overflow-free).
int64_t elementCount(const std::vector<int64_t> &Shape, uint64_t Limit) {
  uint64_t Count = 1;
  for (int64_t Dim : Shape)
    if (Dim < 0)
      return -1;
  for (int64_t Dim : Shape) {
    if (Dim == 0)
      return 0;
    if (Count > Limit / uint64_t(Dim))
      return -1;
    Count *= uint64_t(Dim);
  }
  return int64_t(Count);
}

/// Returns the value stored under \p Key in object \p Obj, or nullptr.
const Json *member(const Json &Obj, const char *Key) {
  for (size_t I = 0; I < Obj.Keys.size(); ++I)
    if (Obj.Keys[I] == Key)
      return &Obj.Items[I];
  return nullptr;
}

/// Reads a JSON array of non-negative integers, or returns false.
bool intList(const Json *V, std::vector<int64_t> &Out) {
  if (!V || V->Kind != Json::Array)
    return false;
  for (const Json &Item : V->Items) {
    if (Item.Kind != Json::Int || Item.IntValue < 0)
      return false;
    Out.push_back(Item.IntValue);
  }
  return true;
}

} // namespace

const NamedTensor *SafeTensorsFile::find(const std::string &name) const {
  for (const NamedTensor &T : tensors)
    if (T.name == name)
      return &T;
  return nullptr;
}

void ganc::rt::writeSafeTensors(
    const std::string &path, const std::vector<NamedTensor> &tensors,
    const std::map<std::string, std::string> &metadata) {
  std::string Header = "{";
  if (!metadata.empty()) {
    Header += "\"__metadata__\":{";
    for (const auto &[Key, Value] : metadata) {
      if (Header.back() != '{')
        Header += ',';
      appendJsonString(Header, Key);
      Header += ':';
      appendJsonString(Header, Value);
    }
    Header += '}';
  }
  std::set<std::string> Names;
  uint64_t Offset = 0;
  for (const NamedTensor &T : tensors) {
    if (T.name == "__metadata__" || !Names.insert(T.name).second)
      throw IoError(path, "cannot write tensor named '" + T.name +
                              "' (duplicate or reserved name)");
    int64_t Count = elementCount(T.shape, SIZE_MAX / 8);
    if (Count < 0 || uint64_t(Count) != T.data.size())
      throw IoError(path, "cannot write tensor '" + T.name + "': shape " +
                              shapeText(T.shape) + " does not match its " +
                              std::to_string(T.data.size()) + " values");
    if (Header.size() > 1)
      Header += ',';
    appendJsonString(Header, T.name);
    Header += ":{\"dtype\":\"F32\",\"shape\":" + shapeText(T.shape) +
              ",\"data_offsets\":[" + std::to_string(Offset) + ",";
    Offset += uint64_t(Count) * 4;
    Header += std::to_string(Offset) + "]}";
  }
  Header += '}';
  Header.append((8 - Header.size() % 8) % 8, ' ');

  // Renamed into place once whole (FileOut), and synced first: a checkpoint is what a
  // crash must not lose.
  FileOut Out(path, /*regularOnly=*/true);
  std::FILE *File = Out.get();
  uint8_t Len[8];
  for (int I = 0; I < 8; ++I)
    Len[I] = uint8_t(uint64_t(Header.size()) >> (8 * I));
  bool Ok = std::fwrite(Len, 1, 8, File) == 8 &&
            std::fwrite(Header.data(), 1, Header.size(), File) == Header.size();
  const bool Le = detail::isLittleEndianHost();
  for (const NamedTensor &T : tensors) {
    if (Le) {
      Ok = Ok && (T.data.empty() || std::fwrite(T.data.data(), 4, T.data.size(),
                                                File) == T.data.size());
      continue;
    }
    for (size_t I = 0; Ok && I < T.data.size(); ++I) {
      uint32_t Bits;
      std::memcpy(&Bits, &T.data[I], 4);
      uint8_t B[4] = {uint8_t(Bits), uint8_t(Bits >> 8), uint8_t(Bits >> 16),
                      uint8_t(Bits >> 24)};
      Ok = std::fwrite(B, 1, 4, File) == 4;
    }
  }
  Out.commit(Ok, /*durable=*/true);
}

SafeTensorsFile ganc::rt::readSafeTensors(const std::string &path) {
  std::vector<uint8_t> Bytes = detail::readWholeFile(path);
  if (Bytes.size() < 8)
    throw IoError(path, "truncated: file holds only " +
                            std::to_string(Bytes.size()) +
                            " bytes, too short for the 8-byte header length");
  uint64_t HeaderLen = 0;
  for (int I = 7; I >= 0; --I)
    HeaderLen = HeaderLen << 8 | Bytes[size_t(I)];
  if (HeaderLen > Bytes.size() - 8)
    throw IoError(path, "truncated: header length is " +
                            std::to_string(HeaderLen) + " bytes but only " +
                            std::to_string(Bytes.size() - 8) +
                            " bytes follow it");
  std::string Text(reinterpret_cast<const char *>(Bytes.data()) + 8,
                   size_t(HeaderLen));
  Json Root = JsonParser(path, Text).parseDocument();
  if (Root.Kind != Json::Object)
    throw IoError(path, "bad JSON header: top level is not an object");

  const uint8_t *Data = Bytes.data() + 8 + HeaderLen;
  const uint64_t DataSize = Bytes.size() - 8 - HeaderLen;
  SafeTensorsFile Result;
  // Each tensor's byte range, for the check that they tile the data section.
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> Ranges;
  for (size_t K = 0; K < Root.Keys.size(); ++K) {
    const std::string &Name = Root.Keys[K];
    const Json &Entry = Root.Items[K];
    if (Name == "__metadata__") {
      if (Entry.Kind != Json::Object)
        throw IoError(path, "bad JSON header: __metadata__ is not an object");
      for (size_t I = 0; I < Entry.Keys.size(); ++I) {
        if (Entry.Items[I].Kind != Json::String)
          throw IoError(path, "bad JSON header: __metadata__ value for \"" +
                                  Entry.Keys[I] + "\" is not a string");
        Result.metadata[Entry.Keys[I]] = Entry.Items[I].Str;
      }
      continue;
    }
    const std::string Where = "tensor '" + Name + "': ";
    const Json *Dtype =
        Entry.Kind == Json::Object ? member(Entry, "dtype") : nullptr;
    if (!Dtype || Dtype->Kind != Json::String)
      throw IoError(path, "bad JSON header: " + Where + "missing \"dtype\"");
    if (Dtype->Str != "F32")
      throw IoError(path, Where + "unsupported dtype " + Dtype->Str +
                              " (only F32 is supported)");
    NamedTensor T;
    T.name = Name;
    std::vector<int64_t> Offsets;
    if (!intList(member(Entry, "shape"), T.shape))
      throw IoError(path, "bad JSON header: " + Where +
                              "\"shape\" must be a list of non-negative "
                              "integers");
    if (!intList(member(Entry, "data_offsets"), Offsets) ||
        Offsets.size() != 2 || Offsets[0] > Offsets[1])
      throw IoError(path, "bad JSON header: " + Where +
                              "\"data_offsets\" must be [begin, end] with "
                              "begin <= end");
    const std::string Range = "data_offsets [" + std::to_string(Offsets[0]) +
                              ", " + std::to_string(Offsets[1]) + "]";
    if (uint64_t(Offsets[1]) > DataSize)
      throw IoError(path, Where + Range +
                              " out of range: data section holds "
                              "only " +
                              std::to_string(DataSize) +
                              " bytes (file truncated?)");
    int64_t Count = elementCount(T.shape, DataSize / 4);
    uint64_t Span = uint64_t(Offsets[1] - Offsets[0]);
    if (Count < 0 || uint64_t(Count) * 4 != Span)
      throw IoError(path, Where + Range + " span " + std::to_string(Span) +
                              " bytes, inconsistent with F32 shape " +
                              shapeText(T.shape));
    Ranges.push_back({{uint64_t(Offsets[0]), uint64_t(Offsets[1])}, Name});
    T.data.resize(size_t(Count));
    const uint8_t *Src = Data + Offsets[0];
    if (Span == 0) {
      // Nothing to copy (and memcpy must not see a null pointer).
    } else if (detail::isLittleEndianHost()) {
      std::memcpy(T.data.data(), Src, Span);
    } else {
      for (size_t I = 0; I < T.data.size(); ++I) {
        uint32_t Bits = uint32_t(Src[4 * I]) | uint32_t(Src[4 * I + 1]) << 8 |
                        uint32_t(Src[4 * I + 2]) << 16 |
                        uint32_t(Src[4 * I + 3]) << 24;
        std::memcpy(&T.data[I], &Bits, 4);
      }
    }
    Result.tensors.push_back(std::move(T));
  }
  // As the format requires, the tensors' ranges cover the data section without gaps or
  // overlaps: two tensors sharing bytes, or bytes that belong to none, mean a damaged
  // or forged file.
  std::sort(Ranges.begin(), Ranges.end());
  uint64_t Covered = 0;
  for (size_t I = 0; I < Ranges.size(); ++I) {
    const auto &[Range, Name] = Ranges[I];
    if (Range.first < Covered)
      throw IoError(path, "tensors '" + Ranges[I - 1].second + "' and '" + Name +
                              "' overlap in the data section (their data_offsets share bytes " +
                              std::to_string(Range.first) + " to " +
                              std::to_string(std::min(Covered, Range.second)) + ")");
    if (Range.first > Covered)
      throw IoError(path, "bytes " + std::to_string(Covered) + " to " +
                              std::to_string(Range.first) +
                              " of the data section belong to no tensor");
    Covered = Range.second;
  }
  if (Covered != DataSize)
    throw IoError(path, "the data section holds " + std::to_string(DataSize) +
                            " bytes but its tensors cover only " + std::to_string(Covered));
  return Result;
}
