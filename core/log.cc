// The only file of uer-cc that includes glog (see log.h).
#include "core/log.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include <glog/logging.h>

#include "core/status_line.h"

namespace uer::log {
namespace {

std::mutex& StatusMutex() {
  static std::mutex m;
  return m;
}
std::string& Status() {
  static std::string s;
  return s;
}

void WriteStderr(const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    const ssize_t w = write(STDERR_FILENO, s.data() + done, s.size() - done);
    if (w <= 0) return;
    done += static_cast<size_t>(w);
  }
}

// "\r", the line cut to the terminal's width (one column spare: a full line would wrap), erase to
// the end. The cut counts UTF-8 characters as one column each.
std::string Draw(const std::string& line) {
  struct winsize ws;
  size_t width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col - 1 : 79;
  size_t cut = 0, cols = 0;
  while (cut < line.size() && cols < width) {
    ++cut;
    while (cut < line.size() && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) ++cut;
    ++cols;
  }
  return "\r" + line.substr(0, cut) + "\x1b[K";
}

}  // namespace

bool StatusLineEnabled() {
  static const bool enabled = [] {
    const char* term = std::getenv("TERM");
    const char* progress = std::getenv("UER_PROGRESS");
    return isatty(STDERR_FILENO) == 1 && (term == nullptr || std::strcmp(term, "dumb") != 0) &&
           (progress == nullptr || std::strcmp(progress, "0") != 0);
  }();
  return enabled;
}

void SetStatusLine(const std::string& line) {
  if (!StatusLineEnabled()) return;
  std::lock_guard<std::mutex> lock(StatusMutex());
  if (line.empty()) {
    if (!Status().empty()) WriteStderr("\r\x1b[K");
  } else {
    WriteStderr(Draw(line));
  }
  Status() = line;
}

Message::Message(Severity severity, const char* file, int line)
    : severity_(severity), file_(file), line_(line) {}

Message::~Message() {
  // A status line on the terminal is cleared first and drawn again below the message.
  std::unique_lock<std::mutex> lock(StatusMutex(), std::defer_lock);
  const bool status = StatusLineEnabled();
  if (status) {
    lock.lock();
    if (!Status().empty()) WriteStderr("\r\x1b[K");
  }
  {
    google::LogMessage m(file_, line_, static_cast<google::LogSeverity>(severity_));
    m.stream() << stream_.str();
  }  // written here
  if (status && !Status().empty()) WriteStderr(Draw(Status()));
}

}  // namespace uer::log
