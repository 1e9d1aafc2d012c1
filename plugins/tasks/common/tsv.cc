#include "plugins/tasks/common/tsv.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/text.h"

namespace uer::tasks::tsv {

namespace fs = std::filesystem;

absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path, bool replace_invalid_utf8) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return absl::InvalidArgumentError(absl::StrCat(path, " is a directory, not a file"));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    lines.push_back(std::move(line));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("error reading ", path));
  if (lines.empty()) return absl::InvalidArgumentError(absl::StrCat(path, ": empty file (expected a header line)"));
  if (lines[0].rfind("\xEF\xBB\xBF", 0) == 0) lines[0].erase(0, 3);  // Excel's UTF-8 export
  for (size_t i = 0; i < lines.size(); ++i) {
    const long bad = core::FindInvalidUtf8(lines[i]);
    if (bad < 0) continue;
    if (!replace_invalid_utf8) {
      return absl::InvalidArgumentError(core::InvalidUtf8Message(path, static_cast<int64_t>(i) + 1, bad));
    }
    lines[i] = core::ReplaceInvalidUtf8(lines[i]);
  }
  return lines;
}

std::vector<std::string> SplitTabs(const std::string& line) { return absl::StrSplit(line, '\t'); }

absl::StatusOr<std::map<std::string, size_t>> Header(const std::string& path, const std::string& line,
                                                     const std::vector<std::string>& required) {
  std::map<std::string, size_t> columns;
  std::vector<std::string> names = SplitTabs(line);
  for (size_t i = 0; i < names.size(); ++i) columns[names[i]] = i;
  for (const std::string& r : required) {
    if (!columns.count(r)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":1: the header (", absl::StrJoin(names, ", "),
                                                     ") has no column \"", r, "\""));
    }
  }
  return columns;
}

absl::Status BadLines::Bad(int64_t line, const std::string& why) {
  const std::string msg = absl::StrCat(path_, ":", line, ": ", why);
  if (!skip_) return absl::InvalidArgumentError(absl::StrCat(msg, " (--skip_bad_lines skips such lines)"));
  if (++count_ <= 5) UER_LOG(WARNING) << "skipped " << msg;
  return absl::OkStatus();
}

void CutAndPad(std::vector<int64_t>* src, std::vector<int64_t>* seg, int64_t seq_length, int64_t pad_id) {
  if (static_cast<int64_t>(src->size()) > seq_length) {
    src->resize(seq_length);
    seg->resize(seq_length);
  }
  src->resize(seq_length, pad_id);
  seg->resize(seq_length, 0);
}

torch::Tensor Rows(const std::vector<std::vector<int64_t>>& rows, int64_t width) {
  torch::Tensor t = torch::empty({static_cast<int64_t>(rows.size()), width}, torch::kLong);
  int64_t* p = t.data_ptr<int64_t>();
  for (const auto& r : rows) p = std::copy(r.begin(), r.end(), p);
  return t;
}

absl::Status WriteAtomically(const std::string& path, const std::string& text) {
  const fs::path parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  if (ec) return absl::PermissionDeniedError(absl::StrCat("cannot create ", parent.string(), ": ", ec.message()));
  const std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(tmp, std::ios::binary);
    out << text;
    out.flush();
    if (!out) {
      out.close();
      fs::remove(tmp, ec);
      return absl::DataLossError(absl::StrCat("cannot write ", tmp));
    }
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    return absl::DataLossError(absl::StrCat("cannot write ", path, ": ", ec.message()));
  }
  return absl::OkStatus();
}

}  // namespace uer::tasks::tsv
