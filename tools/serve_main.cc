// Serves fine-tuned models and pre-trained encoders over HTTP: KServe v2 (Triton's clients), TEI's
// routes, Prometheus metrics (core/runtime/serve/server.h). Every folder of --model_repository with
// a model.pbtxt, or one model from the flags `infer` takes:
//
//   bazel run //tools:serve -- --model_repository models/ --port 8000
//   bazel run //tools:serve -- --task classifier --load_model_path m.bin --vocab_path vocab.txt
//       --config_path config.json --model_name sentiment
#include <ATen/Parallel.h>
#include <gflags/gflags.h>

#include "core/runtime/serve/server.h"
#include "tools/finetune_flags.h"
#include "tools/tool_common.h"

DEFINE_string(model_repository, "", "A folder of model folders, each with a model.pbtxt (Triton's layout).");
DEFINE_string(model_name, "default", "The name of the model the flags describe (without --model_repository).");
DEFINE_bool(text_pair, false, "The model given by the flags takes a text pair (TEXT_PAIR).");
DEFINE_string(host, "0.0.0.0", "The address to listen on.");
DEFINE_int32(port, 8000, "The port to listen on.");
DEFINE_int32(threads, 0, "Threads of each forward pass (LibTorch's intra-op threads); 0: LibTorch's default.");
DEFINE_int32(inter_op_threads, 0, "LibTorch's inter-op threads; 0: its default.");
DEFINE_int32(workers, 1, "Threads running batches, per model.");
DEFINE_int64(max_batch_requests, 32, "Inputs per batch, at most (a model.pbtxt may set its own).");
DEFINE_int64(max_batch_tokens, 16384, "Inputs x the longest input's tokens per batch, at most.");
DEFINE_int64(max_queue_delay_us, 0, "The longest an input waits for others to batch with (Triton's knob). 0: a batch "
             "leaves as soon as a worker is free, holding what queued while the last one ran.");
DEFINE_int64(max_queued, 1024, "Inputs waiting per model before requests are refused (429).");
DEFINE_int64(max_concurrent_requests, 512, "Requests accepted and unanswered before more are refused (429).");
DEFINE_int64(payload_limit, 2000000, "The largest request body in bytes (413 beyond).");
DEFINE_int32(idle_timeout_s, 30, "Seconds a silent connection (idle, or mid-request) is kept.");
DEFINE_int32(drain_timeout_s, 30, "On SIGTERM, the longest the accepted requests may take before the server exits.");
DEFINE_bool(access_log, false, "A line per request on stderr.");

DECLARE_string(task);
DECLARE_string(load_model_path);
DECLARE_string(config_path);
DECLARE_string(sub_vocab_path);
DECLARE_int64(seq_length);
DECLARE_string(pooling);
DECLARE_string(precision);

namespace uer::tools {
namespace {

using runtime::serve::ModelSpec;

// What a model.pbtxt leaves unset.
ModelSpec Defaults() {
  ModelSpec d;
  d.seq_length = FLAGS_seq_length;
  d.precision = FLAGS_precision;
  d.pooling = FLAGS_pooling;
  d.batching.max_batch_requests = FLAGS_max_batch_requests;
  d.batching.max_batch_tokens = FLAGS_max_batch_tokens;
  d.batching.max_queue_delay_us = FLAGS_max_queue_delay_us;
  d.batching.max_queued = FLAGS_max_queued;
  d.workers = FLAGS_workers;
  return d;
}

absl::StatusOr<std::vector<ModelSpec>> SpecsFromFlags() {
  if (!FLAGS_model_repository.empty()) {
    if (FlagIsSet("load_model_path")) {
      return absl::InvalidArgumentError("give --model_repository or --load_model_path (one model), not both");
    }
    return runtime::serve::ReadModelRepository(FLAGS_model_repository, Defaults());
  }
  if (FLAGS_load_model_path.empty() || FLAGS_task.empty()) {
    return absl::InvalidArgumentError(
        "give --model_repository DIR, or one model: --task (classifier, ner, ..., or embedding) --load_model_path "
        "--vocab_path --config_path");
  }
  ModelSpec s = Defaults();
  s.name = FLAGS_model_name;
  s.task = FLAGS_task;
  UER_ASSIGN_OR_RETURN(s.config, ResolveModelConfig(FLAGS_config_path));
  s.load_model_path = FLAGS_load_model_path;
  s.vocab_path = ResolveVocabPath();
  s.sub_vocab_path = FLAGS_sub_vocab_path;
  if (s.task != runtime::serve::kEmbeddingTask) s.task_options = TaskOptions(s.task);
  s.text_pair = FLAGS_text_pair;
  return std::vector<ModelSpec>{s};
}

int Main() {
  LoadPluginsFromFlags();
  if (FLAGS_threads < 0 || FLAGS_inter_op_threads < 0) return ExitCode(absl::InvalidArgumentError("--threads and --inter_op_threads must be >= 0"));
  if (FLAGS_inter_op_threads > 0) at::set_num_interop_threads(FLAGS_inter_op_threads);
  if (FLAGS_threads > 0) at::set_num_threads(FLAGS_threads);
  auto specs = SpecsFromFlags();
  if (!specs.ok()) return ExitCode(specs.status());
  runtime::serve::ServerOptions o;
  o.host = FLAGS_host;
  o.port = FLAGS_port;
  o.max_concurrent_requests = FLAGS_max_concurrent_requests;
  o.payload_limit = FLAGS_payload_limit;
  o.idle_timeout_s = FLAGS_idle_timeout_s;
  o.drain_timeout_s = FLAGS_drain_timeout_s;
  o.access_log = FLAGS_access_log;
  return ExitCode(runtime::serve::Serve(o, *specs));
}

}  // namespace
}  // namespace uer::tools

int main(int argc, char** argv) {
  uer::tools::InitTaskTool("Serves models over HTTP (KServe v2, TEI's routes, Prometheus metrics).\nUsage: serve "
                           "--model_repository DIR [--port 8000], or serve --task NAME --load_model_path M "
                           "--vocab_path V --config_path C",
                           &argc, &argv, "", uer::runtime::serve::kEmbeddingTask);
  return uer::tools::Main();
}
