#include "core/runtime/progress.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/status_line.h"

namespace uer::runtime {
namespace {

std::string Hms(double seconds) {
  const int64_t s = seconds > 0 ? static_cast<int64_t>(seconds + 0.5) : 0;
  return absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
}

}  // namespace

Progress::Progress(std::string what, int64_t total, Unit unit, std::string noun, int64_t first)
    : what_(std::move(what)), noun_(std::move(noun)), total_(total), unit_(unit), first_(first),
      enabled_(log::StatusLineEnabled()), start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() { Done(); }

std::string Progress::Line(int64_t done, double seconds, const std::string& detail) const {
  const double rate = seconds > 0 ? (done - first_) / seconds : 0;
  std::string line = what_ + ": ";
  if (unit_ == Unit::kBytes) {
    absl::StrAppendFormat(&line, "%.1f/%.1f MB", done / 1e6, total_ / 1e6);
  } else {
    absl::StrAppend(&line, noun_.empty() ? "" : noun_ + " ", done);
    if (total_ > 0) absl::StrAppend(&line, "/", total_);
  }
  if (total_ > 0) absl::StrAppendFormat(&line, " (%.1f%%)", 100.0 * done / total_);
  if (unit_ == Unit::kBytes) {
    absl::StrAppendFormat(&line, " | %.1f MB/s", rate / 1e6);
  } else {
    absl::StrAppendFormat(&line, " | %.2f %s/s", rate, noun_.empty() ? "items" : noun_);
  }
  if (!detail.empty()) absl::StrAppend(&line, " | ", detail);
  if (total_ > 0 && rate > 0 && done < total_) absl::StrAppend(&line, " | ETA ", Hms((total_ - done) / rate));
  return line;
}

void Progress::Update(int64_t done, const std::string& detail) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && now - last_draw_ < std::chrono::milliseconds(200) && done < total_) return;
  last_draw_ = now;
  shown_ = true;
  log::SetStatusLine(Line(done, std::chrono::duration<double>(now - start_).count(), detail));
}

void Progress::Done() {
  if (!shown_) return;
  shown_ = false;
  log::SetStatusLine("");
}

}  // namespace uer::runtime
