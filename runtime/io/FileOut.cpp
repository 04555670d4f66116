//===- FileOut.cpp - how the runtime's writers put a file in place --------===//
#include "io/FileOut.h"
#include "io/IoError.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace ganc::rt;

FileOut::FileOut(const std::string &path, bool regularOnly) : path_(path) {
  struct stat St;
  if (::stat(path.c_str(), &St) == 0 && !S_ISREG(St.st_mode)) {
    if (regularOnly || S_ISDIR(St.st_mode))
      throw IoError(path, "is not a regular file (the file is written beside it and renamed over it, "
                          "which would replace it)");
    file_ = std::fopen(path.c_str(), "wb"); // a device or a pipe, written as it is
    if (!file_)
      throw IoError::fromErrno(path, "cannot open for writing", errno);
    return;
  }
  // The temporary file is this process's own (with one shared name, one run's rename
  // could move another's half-written file into place). It is created anew (O_EXCL): a
  // regular one left by an earlier process of the same id is removed first, so that
  // neither a hard link (whose other names would see the file emptied) nor a symbolic
  // link (whose target would be written) is written through, and anything else there
  // (a pipe would block the write forever) is refused.
  temporary_ = path + ".tmp." + std::to_string(::getpid());
  if (::lstat(temporary_.c_str(), &St) == 0) {
    if (!S_ISREG(St.st_mode))
      throw IoError(path, "cannot write: its temporary file " + temporary_ + " is not a regular file");
    if (::unlink(temporary_.c_str()) != 0)
      throw IoError::fromErrno(path, "cannot remove the old temporary file " + temporary_, errno);
  }
  const std::string cannotOpen = "cannot open for writing (temporary file " + temporary_ + ")";
  const int fd = ::open(temporary_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
  if (fd < 0)
    throw IoError::fromErrno(path, cannotOpen, errno);
  file_ = ::fdopen(fd, "wb");
  if (!file_) {
    const int saved = errno;
    ::close(fd);
    detail::removePartial(temporary_);
    throw IoError::fromErrno(path, cannotOpen, saved);
  }
}

FileOut::~FileOut() {
  if (!file_)
    return;
  std::fclose(file_);
  if (!temporary_.empty())
    detail::removePartial(temporary_);
}

void FileOut::commit(bool ok, bool durable) {
  std::FILE *f = file_;
  file_ = nullptr;
  ok = ok && std::fflush(f) == 0 && !std::ferror(f);
  if (ok && durable && !temporary_.empty())
    ok = ::fsync(fileno(f)) == 0;
  detail::closeWritten(f, path_, ok, temporary_);
  if (temporary_.empty())
    return;
  if (std::rename(temporary_.c_str(), path_.c_str()) != 0) {
    const int saved = errno;
    detail::removePartial(temporary_);
    throw IoError::fromErrno(path_, "cannot rename " + temporary_ + " into place", saved);
  }
}

void ganc::rt::writeTextFile(const std::string &path, const std::string &text, bool regularOnly) {
  FileOut out(path, regularOnly);
  out.commit(std::fwrite(text.data(), 1, text.size(), out.get()) == text.size());
}
