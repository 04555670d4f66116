//===- FileOut.h - how the runtime's writers put a file in place -*- C++ -*-===//
//
// Every file the runtime writes (checkpoints, sample grids, .npy and IDX arrays, the
// report) goes through FileOut: a regular file, or a path not there yet, is written
// beside its path under this process's own temporary name and renamed into place once
// complete, so a reader never sees half of it, two processes writing one path each put
// a whole file of theirs there, and a failed or interrupted write leaves the old file
// as it was. A device or a pipe (/dev/stdout, /dev/full) is written directly, unless
// the caller asks for regular files only.
//
//===----------------------------------------------------------------------===//
#ifndef GANC_RUNTIME_IO_FILEOUT_H
#define GANC_RUNTIME_IO_FILEOUT_H

#include <cstdio>
#include <string>

namespace ganc::rt {

class FileOut {
public:
  /// Opens the file to write for `path`; throws IoError naming `path`. With
  /// `regularOnly`, a path that exists and is not a regular file is refused rather than
  /// written directly (a checkpoint: renaming over a folder or a pipe would replace it).
  explicit FileOut(const std::string &path, bool regularOnly = false);
  /// Without commit(): closes and removes the temporary file.
  ~FileOut();
  FileOut(const FileOut &) = delete;
  FileOut &operator=(const FileOut &) = delete;

  std::FILE *get() const { return file_; }
  /// Finishes the file: `ok` says whether every write succeeded. Flushes (and, with
  /// `durable`, syncs to disk), closes and renames it into place; on any failure removes
  /// the temporary file and throws IoError naming the path.
  void commit(bool ok, bool durable = false);

private:
  std::string path_, temporary_; ///< temporary_ empty: written directly
  std::FILE *file_ = nullptr;
};

/// Writes `text` as the whole of `path` through FileOut; throws IoError naming it.
void writeTextFile(const std::string &path, const std::string &text, bool regularOnly = false);

} // namespace ganc::rt

#endif // GANC_RUNTIME_IO_FILEOUT_H
