// The HTTP server: libevent's evhttp on one event-loop thread (every connection non-blocking, so a
// slow or half-open client holds no thread), the models' batchers running inference on their own
// threads, answers handed back to the loop. Routes: KServe v2 (/v2, /v2/health/{live,ready},
// /v2/models/NAME[/versions/V][/ready|/config|/infer]), TEI (/predict, /embed, /tokenize, /info,
// /health), /ner, /mrc, and /metrics (Prometheus). Live at once; ready once every model is loaded and
// warmed. SIGTERM or SIGINT: stop accepting, answer every accepted request, return.
//
//   UER_RETURN_IF_ERROR(Serve(options, specs));
#ifndef UER_CORE_RUNTIME_SERVE_SERVER_H_
#define UER_CORE_RUNTIME_SERVE_SERVER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/runtime/serve/served_model.h"

namespace uer::runtime::serve {

struct ServerOptions {
  std::string host = "0.0.0.0";
  int port = 8000;
  // Requests accepted and not yet answered, beyond which a request is refused at once (429).
  int64_t max_concurrent_requests = 512;
  int64_t payload_limit = 1 << 20;  // request body bytes, beyond: 413
  int idle_timeout_s = 30;          // a connection silent this long (mid-request or idle) is closed
  bool access_log = false;          // a line per request on stderr
  int drain_timeout_s = 30;         // on SIGTERM, the longest the queued requests may take
};

absl::Status ValidateServerOptions(const ServerOptions& options);

// Binds the port, loads the models (on a thread: the server is live meanwhile, ready after), serves
// until SIGTERM or SIGINT, then drains. An error when the port cannot be bound or a model fails to
// load (the server then exits: a half-loaded repository is not served).
absl::Status Serve(const ServerOptions& options, const std::vector<ModelSpec>& specs);

}  // namespace uer::runtime::serve

#endif  // UER_CORE_RUNTIME_SERVE_SERVER_H_
