//===- IoError.h - Error type for runtime file I/O -------------*- C++ -*-===//
//
// Every failure in the runtime file readers and writers (IDX, PNG, NPY,
// safetensors) is reported as an IoError. Its message always starts with the
// path of the file involved, followed by the problem in plain words, e.g.
// "out/a.png: cannot open for writing: Permission denied", so that a user can
// act on it without a debugger. The header also holds the two tiny helpers
// the readers share (whole-file read and host endianness test), so that each
// format's .cpp stays free of duplicated boilerplate.
//
//===----------------------------------------------------------------------===//

#ifndef GANC_RUNTIME_IO_IOERROR_H
#define GANC_RUNTIME_IO_IOERROR_H

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/stat.h>

namespace ganc {
namespace rt {

/// The single exception type thrown by the runtime file I/O functions.
class IoError : public std::runtime_error {
public:
  /// Builds the message "<path>: <problem>".
  IoError(const std::string &path, const std::string &problem)
      : std::runtime_error(path + ": " + problem), Path(path) {}

  /// Builds "<path>: <action>: <strerror(errnoValue)>", for failed syscalls.
  static IoError fromErrno(const std::string &path, const std::string &action,
                           int errnoValue) {
    return IoError(path, action + ": " + std::strerror(errnoValue));
  }

  /// The file the error is about.
  const std::string &path() const { return Path; }

private:
  std::string Path;
};

namespace detail {

/// True if the host stores integers least-significant byte first.
inline bool isLittleEndianHost() {
  const uint32_t One = 1;
  uint8_t First;
  std::memcpy(&First, &One, 1);
  return First == 1;
}

/// Reads all of \p path into memory; throws IoError if it cannot.
inline std::vector<uint8_t> readWholeFile(const std::string &path) {
  std::FILE *File = std::fopen(path.c_str(), "rb");
  if (!File)
    throw IoError::fromErrno(path, "cannot open for reading", errno);
  std::vector<uint8_t> Bytes;
  uint8_t Buf[1 << 16];
  size_t Got;
  while ((Got = std::fread(Buf, 1, sizeof(Buf), File)) > 0)
    Bytes.insert(Bytes.end(), Buf, Buf + Got);
  bool Failed = std::ferror(File);
  int SavedErrno = errno;
  std::fclose(File);
  if (Failed)
    throw IoError::fromErrno(path, "read failed", SavedErrno);
  return Bytes;
}

/// Removes what a failed write left at \p path, if it is a regular file: a path naming a
/// device (/dev/full) or a pipe is left alone, where removing it would unlink the node.
inline void removePartial(const std::string &path) {
  struct stat St;
  if (::stat(path.c_str(), &St) == 0 && S_ISREG(St.st_mode))
    std::remove(path.c_str());
}

/// Closes \p File, written to \p path (or to \p temporary, to be renamed to it later);
/// \p ok says whether every write succeeded. On any failure, the write's or the
/// close's, removes the partial file and throws IoError naming \p path.
inline void closeWritten(std::FILE *File, const std::string &path, bool ok,
                         const std::string &temporary = {}) {
  int SavedErrno = errno;
  if (std::fclose(File) != 0 && ok) {
    ok = false;
    SavedErrno = errno;
  }
  if (ok)
    return;
  removePartial(temporary.empty() ? path : temporary);
  throw IoError::fromErrno(
      path, temporary.empty() ? "write failed" : "write failed (temporary file " + temporary + ")",
      SavedErrno);
}

} // namespace detail

} // namespace rt
} // namespace ganc

#endif // GANC_RUNTIME_IO_IOERROR_H
