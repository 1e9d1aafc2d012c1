// A vocabulary in UER-py's format: one token a line, the line number (from 0) is the id.
//
//   UER_ASSIGN_OR_RETURN(Vocab vocab, Vocab::Load("google_zh_vocab.txt"));
//   int64_t id = vocab.IdOrUnk("中");
//
// The special tokens are found by their strings ([PAD] [UNK] [CLS] [SEP] [MASK]), so Google's
// vocabularies give UER-py's ids. Errors name the file and line.
#ifndef UER_CORE_VOCAB_H_
#define UER_CORE_VOCAB_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"

namespace uer::core {

inline constexpr std::string_view kPadToken = "[PAD]";
inline constexpr std::string_view kUnkToken = "[UNK]";
inline constexpr std::string_view kClsToken = "[CLS]";
inline constexpr std::string_view kSepToken = "[SEP]";
inline constexpr std::string_view kMaskToken = "[MASK]";

class Vocab {
 public:
  // Reads a vocabulary file. Refuses a missing or empty file, a token repeated on two lines (both
  // line numbers named), and a vocabulary without [UNK].
  static absl::StatusOr<Vocab> Load(const std::string& path);
  // The same from tokens in id order; `name` stands for the file in messages.
  static absl::StatusOr<Vocab> FromTokens(std::vector<std::string> tokens, std::string_view name);

  int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
  const std::string& Token(int64_t id) const { return tokens_.at(id); }
  const std::vector<std::string>& tokens() const { return tokens_; }
  bool Contains(std::string_view token) const;
  // -1 when absent.
  int64_t Id(std::string_view token) const;
  int64_t IdOrUnk(std::string_view token) const;

  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }
  int64_t mask_id() const { return mask_id_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> tokens_;
  absl::flat_hash_map<std::string, int64_t> ids_;
  int64_t pad_id_ = -1, unk_id_ = -1, cls_id_ = -1, sep_id_ = -1, mask_id_ = -1;
};

}  // namespace uer::core

#endif  // UER_CORE_VOCAB_H_
