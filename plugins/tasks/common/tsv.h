// What the built-in tasks' data sides share: reading UER-py's TSV files (a header naming the
// columns, one example a line), cutting and padding rows, and writing a file atomically.
//
//   UER_ASSIGN_OR_RETURN(std::vector<std::string> lines, tsv::ReadLines(path));
//   UER_ASSIGN_OR_RETURN(auto columns, tsv::Header(path, lines[0], {"label", "text_a"}));
#ifndef UER_PLUGINS_TASKS_COMMON_TSV_H_
#define UER_PLUGINS_TASKS_COMMON_TSV_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "absl/status/statusor.h"

namespace uer::tasks::tsv {

// The lines of a text file without their line ends (a UTF-8 byte order mark is dropped); an error
// names a missing, unreadable, directory or empty file.
absl::StatusOr<std::vector<std::string>> ReadLines(const std::string& path, bool replace_invalid_utf8 = false);
std::vector<std::string> SplitTabs(const std::string& line);
// Column name -> index from a header line; `required` columns must be there.
absl::StatusOr<std::map<std::string, size_t>> Header(const std::string& path, const std::string& line,
                                                     const std::vector<std::string>& required);

// Reports a bad line: an error, or (skip_bad_lines) a warning for the first few and a count.
class BadLines {
 public:
  BadLines(const std::string& path, bool skip) : path_(path), skip_(skip) {}
  absl::Status Bad(int64_t line, const std::string& why);
  int64_t count() const { return count_; }

 private:
  std::string path_;
  bool skip_;
  int64_t count_ = 0;
};

void CutAndPad(std::vector<int64_t>* src, std::vector<int64_t>* seg, int64_t seq_length, int64_t pad_id);
// Rows of equal width as a [rows, width] int64 tensor.
torch::Tensor Rows(const std::vector<std::vector<int64_t>>& rows, int64_t width);
// Writes `text` to `path` through a temporary file in the same folder (made if missing).
absl::Status WriteAtomically(const std::string& path, const std::string& text);

}  // namespace uer::tasks::tsv

#endif  // UER_PLUGINS_TASKS_COMMON_TSV_H_
