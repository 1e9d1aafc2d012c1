#include "core/config.h"

#include <fstream>
#include <sstream>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"

namespace uer::core {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Reflection;

class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(std::string_view name) : name_(name) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) first_ = absl::StrCat(name_, ":", line + 1, ":", column + 1, ": ", message);
  }
  void AddWarning(int line, int column, const std::string& message) override {}
  const std::string& first() const { return first_; }

 private:
  std::string name_;
  std::string first_;
};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open config file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int LineOf(std::string_view text, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

// Line of the first occurrence of "key" as a JSON key, or 0.
int LineOfKey(std::string_view text, const std::string& key) {
  size_t pos = text.find("\"" + key + "\"");
  return pos == std::string_view::npos ? 0 : LineOf(text, pos);
}

bool Contains(const nlohmann::json& list, const char* item) {
  for (const auto& v : list) {
    if (v.is_string() && v.get<std::string>() == item) return true;
  }
  return false;
}

}  // namespace

absl::Status SetModelConfigField(const std::string& field, const std::string& value,
                                 v1::ModelConfig* config) {
  const Descriptor* d = config->GetDescriptor();
  const Reflection* r = config->GetReflection();
  const FieldDescriptor* f = d->FindFieldByName(field);
  if (f == nullptr || f->is_repeated()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown model config field \"", field, "\""));
  }
  auto bad = [&](const char* expected) {
    return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\": expected ", expected,
                                                   ", got \"", value, "\""));
  };
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32: {
      int32_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      r->SetInt32(config, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t v;
      if (!absl::SimpleAtoi(value, &v)) return bad("an integer");
      r->SetInt64(config, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_FLOAT: {
      float v;
      if (!absl::SimpleAtof(value, &v)) return bad("a number");
      r->SetFloat(config, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_DOUBLE: {
      double v;
      if (!absl::SimpleAtod(value, &v)) return bad("a number");
      r->SetDouble(config, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool v;
      if (!absl::SimpleAtob(value, &v)) return bad("true or false");
      r->SetBool(config, f, v);
      break;
    }
    case FieldDescriptor::CPPTYPE_STRING:
      r->SetString(config, f, value);
      break;
    case FieldDescriptor::CPPTYPE_ENUM: {
      const auto* ev = f->enum_type()->FindValueByName(value);
      if (ev == nullptr) {
        std::vector<std::string> names;
        for (int i = 0; i < f->enum_type()->value_count(); ++i) names.push_back(f->enum_type()->value(i)->name());
        return bad(absl::StrCat("one of ", absl::StrJoin(names, ", ")).c_str());
      }
      r->SetEnum(config, f, ev);
      break;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("field \"", field, "\" cannot be set from a flag"));
  }
  return absl::OkStatus();
}

absl::Status MergeModelConfigFromText(std::string_view text, std::string_view name_view,
                                      v1::ModelConfig* config) {
  const std::string name(name_view);
  google::protobuf::TextFormat::Parser parser;
  CollectingErrors errors(name);
  parser.RecordErrorsTo(&errors);
  v1::ModelConfig parsed;
  if (!parser.ParseFromString(std::string(text), &parsed)) {
    return absl::InvalidArgumentError(
        errors.first().empty() ? absl::StrCat(name, ": malformed config") : errors.first());
  }
  config->MergeFrom(parsed);
  return absl::OkStatus();
}

absl::Status MergeModelConfigFromJson(std::string_view text, std::string_view name_view,
                                      v1::ModelConfig* config) {
  const std::string name(name_view);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(name, ":", LineOf(text, e.byte > 0 ? e.byte - 1 : 0), ": malformed JSON: ", e.what()));
  } catch (const nlohmann::json::exception& e) {  // a number too large for any type, ...
    return absl::InvalidArgumentError(absl::StrCat(name, ": malformed JSON: ", e.what()));
  }
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(name, ":1: a config must be a JSON object"));
  }
  v1::ModelConfig parsed;
  auto where = [&](const std::string& key) { return absl::StrCat(name, ":", LineOfKey(text, key)); };
  std::vector<std::string> ignored;
  std::string mask;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& v = it.value();
    // UER-py's newer generations name the modules as lists: map them to the seed's names.
    if (key == "embedding" && v.is_array()) {
      parsed.set_embedding(Contains(v, "pos") && Contains(v, "seg") ? "bert" : "word");
      continue;
    }
    if (key == "target" && v.is_array()) {
      if (Contains(v, "mlm") && Contains(v, "sp")) parsed.set_target("bert");
      else if (Contains(v, "mlm") && Contains(v, "nsp")) parsed.set_target("bert");
      else if (v.size() == 1 && v[0].is_string()) parsed.set_target(v[0].get<std::string>());
      else return absl::InvalidArgumentError(absl::StrCat(where(key), ": field \"target\": unsupported target list ", v.dump()));
      continue;
    }
    if (key == "mask" && v.is_string()) {
      mask = v.get<std::string>();
      continue;
    }
    if (key == "layernorm_positioning" && v.is_string()) {
      if (v.get<std::string>() != "post") {
        return absl::InvalidArgumentError(absl::StrCat(where(key), ": field \"", key, "\": \"",
                                                       v.get<std::string>(), "\" is not supported (only \"post\")"));
      }
      continue;
    }
    const FieldDescriptor* f = parsed.GetDescriptor()->FindFieldByName(key);
    if (f == nullptr || f->is_repeated() || f->is_map()) {
      ignored.push_back(key);
      continue;
    }
    std::string value;
    if (v.is_string()) value = v.get<std::string>();
    else if (v.is_boolean()) value = v.get<bool>() ? "true" : "false";
    else if (v.is_number_integer()) value = std::to_string(v.get<int64_t>());
    else if (v.is_number_float()) {
      if (f->cpp_type() == FieldDescriptor::CPPTYPE_INT32 || f->cpp_type() == FieldDescriptor::CPPTYPE_INT64) {
        return absl::InvalidArgumentError(absl::StrCat(where(key), ": field \"", key,
                                                       "\": expected an integer, got ", v.dump()));
      }
      value = v.dump();
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where(key), ": field \"", key,
                                                     "\": expected a scalar, got ", v.dump()));
    }
    if (v.is_string() && f->cpp_type() != FieldDescriptor::CPPTYPE_STRING &&
        f->cpp_type() != FieldDescriptor::CPPTYPE_ENUM) {
      return absl::InvalidArgumentError(absl::StrCat(where(key), ": field \"", key,
                                                     "\": expected a number, got ", v.dump()));
    }
    absl::Status st = SetModelConfigField(key, value, &parsed);
    if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat(where(key), ": ", st.message()));
  }
  if (parsed.encoder() == "transformer") parsed.set_encoder(mask == "causal" ? "gpt" : "bert");
  if (!ignored.empty()) {
    UER_LOG(WARNING) << name << ": keys that uer-cc does not use were ignored: " << absl::StrJoin(ignored, ", ");
  }
  config->MergeFrom(parsed);
  return absl::OkStatus();
}

absl::Status MergeModelConfigFromFile(const std::string& path, v1::ModelConfig* config) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) return text.status();
  const bool json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  return json ? MergeModelConfigFromJson(*text, path, config)
              : MergeModelConfigFromText(*text, path, config);
}

absl::StatusOr<v1::ModelConfig> LoadModelConfig(const std::string& path) {
  v1::ModelConfig config;
  absl::Status st = MergeModelConfigFromFile(path, &config);
  if (!st.ok()) return st;
  return config;
}

absl::Status ValidateModelConfig(const v1::ModelConfig& c) {
  auto positive = [](const char* name, int v) -> absl::Status {
    if (v <= 0) return absl::InvalidArgumentError(absl::StrCat("field \"", name, "\" must be > 0, got ", v));
    return absl::OkStatus();
  };
  for (auto [name, v] : std::vector<std::pair<const char*, int>>{
           {"emb_size", c.emb_size()}, {"hidden_size", c.hidden_size()},
           {"feedforward_size", c.feedforward_size()}, {"heads_num", c.heads_num()},
           {"layers_num", c.layers_num()}, {"kernel_size", c.kernel_size()},
           {"block_size", c.block_size()}, {"max_seq_length", c.max_seq_length()},
           {"labels_num", c.labels_num()}, {"sub_layers_num", c.sub_layers_num()}}) {
    absl::Status st = positive(name, v);
    if (!st.ok()) return st;
  }
  if (!(c.dropout() >= 0.0f && c.dropout() < 1.0f)) {
    return absl::InvalidArgumentError(absl::StrCat("field \"dropout\" must be in [0, 1), got ", c.dropout()));
  }
  static const std::set<std::string> kActs = {"gelu", "gelu_fast", "gelu_new", "gelu_pytorch_tanh"};
  if (!kActs.count(c.hidden_act())) {
    return absl::InvalidArgumentError(absl::StrCat("field \"hidden_act\" must be gelu, or gelu_fast / gelu_new / "
                                                   "gelu_pytorch_tanh (tanh approximation), got \"", c.hidden_act(), "\""));
  }
  if (c.pooling() != "mean" && c.pooling() != "max" && c.pooling() != "first" && c.pooling() != "last") {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"pooling\" must be mean, max, first or last, got \"", c.pooling(), "\""));
  }
  return absl::OkStatus();
}

std::string ModelConfigToText(const v1::ModelConfig& config) {
  // Show every field, defaults included, so the log says exactly what ran.
  v1::ModelConfig full = config;
  const Descriptor* d = full.GetDescriptor();
  const Reflection* r = full.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->is_repeated() || r->HasField(full, f)) continue;
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: r->SetInt32(&full, f, r->GetInt32(full, f)); break;
      case FieldDescriptor::CPPTYPE_INT64: r->SetInt64(&full, f, r->GetInt64(full, f)); break;
      case FieldDescriptor::CPPTYPE_FLOAT: r->SetFloat(&full, f, r->GetFloat(full, f)); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: r->SetDouble(&full, f, r->GetDouble(full, f)); break;
      case FieldDescriptor::CPPTYPE_BOOL: r->SetBool(&full, f, r->GetBool(full, f)); break;
      case FieldDescriptor::CPPTYPE_STRING: r->SetString(&full, f, r->GetString(full, f)); break;
      case FieldDescriptor::CPPTYPE_ENUM: r->SetEnum(&full, f, r->GetEnum(full, f)); break;
      default: break;
    }
  }
  std::string out;
  google::protobuf::TextFormat::PrintToString(full, &out);
  return out;
}

}  // namespace uer::core
