// The protocols clients speak to the server, as pure functions of a request's body (no sockets):
// KServe v2 / the Open Inference Protocol (Triton's, with its classification and binary tensor data
// extensions) and HuggingFace text-embeddings-inference's JSON routes (/predict, /embed, /tokenize,
// /info), with /ner and /mrc beside them. A request becomes an InferCall (the texts to run and how
// to write the answer) or an error status; errors become {"error", "error_type"} with the HTTP
// status of their code (HttpStatus).
#ifndef UER_CORE_RUNTIME_SERVE_PROTOCOL_H_
#define UER_CORE_RUNTIME_SERVE_PROTOCOL_H_

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/runtime/serve/served_model.h"

namespace uer::runtime::serve {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// InvalidArgument 400, NotFound 404, FailedPrecondition 422 (a valid request the model cannot
// take), OutOfRange 413, ResourceExhausted 429, Cancelled 499, Unimplemented 501, Unavailable 503,
// DeadlineExceeded 504, else 500.
int HttpStatus(absl::StatusCode code);
// The JSON error body: {"error": message, "error_type": "validation" | "not_found" | ...}.
HttpResponse ErrorResponse(const absl::Status& status);

// What a route asks the model to run, and how the answers become the response.
struct InferCall {
  std::vector<core::TextInput> inputs;
  bool truncate = true;
  int64_t timeout_us = 0;  // 0: the server's default (KServe's parameters.timeout, as Triton's)
  std::function<HttpResponse(const ModelInfo&, const std::vector<Prediction>&)> respond;
};

// A request's body and the header a binary KServe request carries.
struct HttpRequestView {
  std::string body;
  std::string inference_header_length;  // Inference-Header-Content-Length ("" when absent)
};

// KServe v2: server and model metadata, the model's config, and POST .../infer.
std::string KserveServerMetadata();
std::string KserveModelMetadata(const ModelInfo& info);
std::string KserveModelConfig(const ModelInfo& info);
absl::StatusOr<InferCall> ParseKserveInfer(const ModelInfo& info, const HttpRequestView& request);

// TEI's routes. `model`: the model a body names in its "model" field ("" when none), read first so
// that the server can pick the model before parsing the rest.
std::string RequestedModel(const std::string& body);
absl::StatusOr<InferCall> ParsePredict(const ModelInfo& info, const std::string& body);
absl::StatusOr<InferCall> ParseEmbed(const ModelInfo& info, const std::string& body);
absl::StatusOr<InferCall> ParseNer(const ModelInfo& info, const std::string& body);
// /mrc, as transformers' question-answering pipeline takes and answers it:
// {"inputs": {"question", "context"} | [{...}, ...]} -> {"answer", "score", "start", "end"} (null: none).
absl::StatusOr<InferCall> ParseMrc(const ModelInfo& info, const std::string& body);
std::string TeiInfo(const ModelInfo& info, int64_t max_concurrent_requests);

// TEI's routes with /ner and /mrc, by path ("/predict"): which models answer one, whether it is a
// GET, and how an inference route parses its body (none for /tokenize and /info).
struct JsonRoute {
  std::function<bool(const ModelInfo&)> answers;
  bool get = false;
  std::function<absl::StatusOr<InferCall>(const ModelInfo&, const std::string&)> parse;
};
const std::map<std::string, JsonRoute>& JsonRoutes();
// /tokenize: the inputs read by `model` ([[{id, text, special, start, stop}]]).
absl::StatusOr<std::string> Tokenize(const ServedModel& model, const std::string& body);

}  // namespace uer::runtime::serve

#endif  // UER_CORE_RUNTIME_SERVE_PROTOCOL_H_
