#include "core/vocab.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace uer::core {

absl::StatusOr<Vocab> Vocab::Load(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat("vocabulary ", path, " is a directory, not a file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open vocabulary ", path));
  if (path.size() >= 14 && path.compare(path.size() - 14, 14, "tokenizer.json") == 0) {
    // HuggingFace's tokenizers file: a WordPiece model's vocab, {token: id}, ids 0..n-1.
    nlohmann::json j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("model") || !j["model"].is_object() || !j["model"].contains("vocab") ||
        !j["model"]["vocab"].is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(path, " holds no model.vocab map (not a WordPiece tokenizer.json)"));
    }
    if (j["model"].value("type", std::string("WordPiece")) != "WordPiece") {
      return absl::InvalidArgumentError(absl::StrCat(path, ": a ", j["model"].value("type", std::string()),
                                                     " tokenizer; uer-cc reads WordPiece vocabularies"));
    }
    const nlohmann::json& v = j["model"]["vocab"];
    std::vector<std::string> by_id(v.size());
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it.value().is_number_unsigned() || it.value().get<uint64_t>() >= by_id.size() ||
          !by_id[it.value().get<size_t>()].empty()) {
        return absl::InvalidArgumentError(absl::StrCat(path, ": token \"", it.key(), "\" has id ", it.value().dump(),
                                                       "; ids must be 0..", by_id.size() - 1, ", each once"));
      }
      by_id[it.value().get<size_t>()] = it.key();
    }
    // transformers writes an empty token where vocab.txt held a line separator (U+2028): it can
    // never be matched, so it keeps its id under a name that cannot be matched either.
    for (size_t i = 0; i < by_id.size(); ++i) {
      if (by_id[i].empty()) by_id[i] = absl::StrCat("<empty token ", i, ">");
    }
    return FromTokens(std::move(by_id), path);
  }
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // A UTF-8 byte order mark (an editor's or Excel's export) is not part of the first token.
    if (tokens.empty() && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
    // UER-py keeps the first whitespace-separated field of the line ("token count" files work).
    size_t b = line.find_first_not_of(" \t");
    std::string token;
    if (b != std::string::npos) {
      size_t e = line.find_first_of(" \t", b);
      token = line.substr(b, e == std::string::npos ? std::string::npos : e - b);
    }
    tokens.push_back(std::move(token));
  }
  return FromTokens(std::move(tokens), path);
}

absl::StatusOr<Vocab> Vocab::FromTokens(std::vector<std::string> tokens, std::string_view name) {
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat("vocabulary ", std::string(name), " is empty"));
  Vocab v;
  v.path_ = std::string(name);
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(std::string(name), ":", i + 1, ": empty line in vocabulary (one token a line)"));
    }
    auto [it, inserted] = v.ids_.emplace(tokens[i], static_cast<int64_t>(i));
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(name), ":", i + 1, ": token \"", tokens[i],
                                                     "\" repeats line ", it->second + 1));
    }
  }
  v.tokens_ = std::move(tokens);
  v.pad_id_ = v.Id(kPadToken);
  v.unk_id_ = v.Id(kUnkToken);
  v.cls_id_ = v.Id(kClsToken);
  v.sep_id_ = v.Id(kSepToken);
  v.mask_id_ = v.Id(kMaskToken);
  if (v.unk_id_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat("vocabulary ", std::string(name), " has no ", std::string(kUnkToken), " token"));
  }
  return v;
}

bool Vocab::Contains(std::string_view token) const {
  return ids_.contains(absl::string_view(token.data(), token.size()));
}

int64_t Vocab::Id(std::string_view token) const {
  auto it = ids_.find(absl::string_view(token.data(), token.size()));
  return it == ids_.end() ? -1 : it->second;
}

int64_t Vocab::IdOrUnk(std::string_view token) const {
  int64_t id = Id(token);
  return id < 0 ? unk_id_ : id;
}

}  // namespace uer::core
