// Key functions of the plugin interfaces (their type_info lives in libuer_core.so only, so that
// dynamic_cast works across plugins) and model assembly.
#include "core/plugin_api.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace uer::core {

PluginModule::~PluginModule() = default;
Embedding::~Embedding() = default;
Encoder::~Encoder() = default;
torch::Tensor Encoder::ForwardIncremental(const torch::Tensor&, std::vector<torch::Tensor>*) {
  TORCH_CHECK(false, "this encoder does not decode incrementally (Encoder::Incremental is false)");
}
Target::~Target() = default;
torch::Tensor Target::GreedyDecode(const torch::Tensor&, const torch::Tensor&, int64_t, int64_t, int64_t) {
  TORCH_CHECK(false, "this target does not generate sequences (Target::Decodes is false)");
}
torch::Tensor Target::TokenLogits(const torch::Tensor&) {
  TORCH_CHECK(false, "this target predicts no token over the vocabulary (Target::Predicts is kNone)");
}
Subencoder::~Subencoder() = default;
Task::~Task() = default;
EmbeddingFactory::~EmbeddingFactory() = default;
EncoderFactory::~EncoderFactory() = default;
TargetFactory::~TargetFactory() = default;
SubencoderFactory::~SubencoderFactory() = default;
TaskFactory::~TaskFactory() = default;
Evaluator::~Evaluator() = default;
PredictionWriter::~PredictionWriter() = default;
TaskData::~TaskData() = default;
absl::StatusOr<TaskDataset> TaskData::ReadText(const TextInput&, const TaskReadOptions&) const {
  return absl::UnimplementedError("this task does not serve: its data side reads no request text (TaskData::ReadText)");
}
absl::StatusOr<ServedAnswer> TaskData::Answer(const TextInput&, const TaskDataset&, const TargetOutput&) const {
  return absl::UnimplementedError("this task does not serve: its data side gives no answer (TaskData::Answer)");
}

std::string TaskDataContext::Option(const std::string& name) const {
  auto it = options.find(name);
  return it == options.end() ? std::string() : it->second;
}
bool TaskDataContext::BoolOption(const std::string& name) const {
  bool v = false;
  return absl::SimpleAtob(Option(name), &v) && v;
}
int64_t TaskDataContext::IntOption(const std::string& name) const {
  int64_t v = 0;
  return absl::SimpleAtoi(Option(name), &v) ? v : 0;
}

namespace {

template <typename F>
auto CreateModule(const std::string& name, const v1::ModelConfig& config, const BuildContext& ctx)
    -> decltype(std::declval<const F&>().Create(config, ctx)) {
  UER_RETURN_IF_ERROR(ValidateModelConfig(config));
  UER_ASSIGN_OR_RETURN(const F* factory, FindFactory<F>(name));
  absl::Status st = factory->Validate(config);
  if (!st.ok()) {
    return absl::Status(st.code(), absl::StrCat(KindName(F::kKind), " \"", name, "\": ", st.message()));
  }
  // A module's constructor may throw (LibTorch checks its shapes): a config the module cannot be
  // built from is a usage error naming the plugin, never an abort.
  decltype(factory->Create(config, ctx)) created = absl::InternalError("not created");
  try {
    created = factory->Create(config, ctx);
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);  // LibTorch's backtrace follows
    return absl::InvalidArgumentError(absl::StrCat(KindName(F::kKind), " \"", name,
                                                   "\" cannot be built from this config: ", what));
  }
  if (!created.ok()) {
    return absl::Status(created.status().code(), absl::StrCat(KindName(F::kKind), " \"", name,
                                                              "\": ", created.status().message()));
  }
  if (*created == nullptr) {
    return absl::InternalError(absl::StrCat(KindName(F::kKind), " \"", name, "\" returned no module"));
  }
  return created;
}

}  // namespace

absl::StatusOr<std::shared_ptr<Embedding>> CreateEmbedding(const v1::ModelConfig& c, const BuildContext& ctx) {
  return CreateModule<EmbeddingFactory>(c.embedding(), c, ctx);
}
absl::StatusOr<std::shared_ptr<Encoder>> CreateEncoder(const v1::ModelConfig& c, const BuildContext& ctx) {
  return CreateModule<EncoderFactory>(c.encoder(), c, ctx);
}
absl::StatusOr<std::shared_ptr<Target>> CreateTarget(const v1::ModelConfig& c, const BuildContext& ctx) {
  return CreateModule<TargetFactory>(c.target(), c, ctx);
}
absl::StatusOr<std::shared_ptr<Subencoder>> CreateSubencoder(const v1::ModelConfig& c, const BuildContext& ctx) {
  return CreateModule<SubencoderFactory>(c.subencoder(), c, ctx);
}
absl::StatusOr<std::shared_ptr<Task>> CreateTask(const std::string& name, const v1::ModelConfig& c,
                                                 const BuildContext& ctx) {
  return CreateModule<TaskFactory>(name, c, ctx);
}

}  // namespace uer::core
