#include "core/runtime/serve/server.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>

#include <sys/socket.h>

#include <atomic>
#include <csignal>
#include <deque>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "core/log.h"
#include "core/runtime/serve/prometheus.h"
#include "core/runtime/serve/protocol.h"
#include "core/status_macros.h"

namespace uer::runtime::serve {
namespace {

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// The server's metrics (GET /metrics).
struct Metrics {
  Registry registry;
  Counter& requests = registry.AddCounter("uer_requests_total", "Requests answered, by model, route and HTTP status",
                                          {"model", "route", "code"});
  Counter& queue_size = registry.AddGauge("uer_queue_size", "Inputs waiting in a model's queue", {"model"});
  Counter& dropped = registry.AddGauge("uer_inputs_dropped", "Inputs dropped unrun: their client left or their timeout passed",
                                       {"model"});
  Counter& refused = registry.AddGauge("uer_inputs_refused", "Inputs refused because the model's queue was full", {"model"});
  Counter& in_flight = registry.AddGauge("uer_requests_in_flight", "Requests accepted and not yet answered", {});
  Counter& ready = registry.AddGauge("uer_ready", "1 once every model is loaded and warmed", {});
  Histogram& batch_size = registry.AddHistogram("uer_batch_size", "Inputs per batch run", {"model"}, PowerOfTwoBuckets(1024));
  Histogram& batch_tokens = registry.AddHistogram("uer_batch_tokens", "Padded tokens per batch run (inputs x longest)",
                                                  {"model"}, PowerOfTwoBuckets(1 << 20));
  Histogram& queue_seconds = registry.AddHistogram("uer_queue_seconds", "Time a request's inputs waited for a batch",
                                                   {"model"}, LatencyBuckets());
  Histogram& inference_seconds = registry.AddHistogram("uer_inference_seconds", "Time of the batch that answered a request",
                                                       {"model"}, LatencyBuckets());
  Histogram& request_seconds = registry.AddHistogram("uer_request_seconds", "Time from a request's arrival to its answer",
                                                     {"model"}, LatencyBuckets());
};

class HttpServer;

// An accepted inference request while its inputs are queued or running.
struct Pending {
  HttpServer* server = nullptr;
  evhttp_request* req = nullptr;
  ServedModel* model = nullptr;
  std::string route;
  InferCall call;
  Clock::time_point started;
  std::mutex mu;
  std::vector<std::optional<absl::StatusOr<Prediction>>> answers;
  std::vector<std::shared_ptr<Ticket<Prediction>>> tickets;
  size_t remaining = 0;
  absl::Status refused;  // the queue was full: what the request is answered, whatever its other inputs got
  int64_t queue_us = 0, run_us = 0;
  event* watch = nullptr;  // the client's socket, for its leaving while the inputs wait
  bool gone = false;       // the client left: nothing to answer
};

class HttpServer {
 public:
  HttpServer(ServerOptions options, std::vector<ModelSpec> specs) : options_(std::move(options)), specs_(std::move(specs)) {}
  ~HttpServer();
  absl::Status Run();

  // From a batcher's thread: an input of `p` is answered.
  void Answered(const std::shared_ptr<Pending>& p, size_t index, Ticket<Prediction>& ticket);

 private:
  absl::Status Bind();
  void LoadModels();
  static void OnRequest(evhttp_request* req, void* self) { static_cast<HttpServer*>(self)->Handle(req); }
  static void OnWake(evutil_socket_t, short, void* self) { static_cast<HttpServer*>(self)->Wake(); }
  static void OnSignal(evutil_socket_t, short, void* self) { static_cast<HttpServer*>(self)->Shutdown(); }
  static void OnClose(evhttp_connection*, void* pending);
  static void OnReadable(evutil_socket_t fd, short, void* pending);
  static void OnReplyDone(evhttp_request*, void* self);
  void Handle(evhttp_request* req);
  void Route(evhttp_request* req, const std::string& method, const std::string& path, const std::string& body,
             std::string* route, std::string* model_name);
  void Infer(evhttp_request* req, ServedModel* model, const std::string& route,
             const std::function<absl::StatusOr<InferCall>(const ModelInfo&)>& parse);
  ServedModel* FindModel(const std::string& name) const;
  // The model a TEI route runs: ?model=NAME, the body's "model", or the only one that answers it.
  absl::StatusOr<ServedModel*> TeiModel(const std::string& query_model, const std::string& body,
                                        const std::string& path, const JsonRoute& route) const;
  void Reply(evhttp_request* req, const HttpResponse& r, const std::string& route, const std::string& model,
             Clock::time_point started, const std::string& extra_log = "");
  void Finish(const std::shared_ptr<Pending>& p);
  void Wake();
  void Shutdown();
  void MaybeExit();

  const ServerOptions options_;
  const std::vector<ModelSpec> specs_;
  Metrics metrics_;
  event_base* base_ = nullptr;
  evhttp* http_ = nullptr;
  evhttp_bound_socket* bound_ = nullptr;
  event* wake_ = nullptr;
  event* sigterm_ = nullptr;
  event* sigint_ = nullptr;
  event* drain_deadline_ = nullptr;

  // Written by the loading thread before ready_ is set; read by the loop only after.
  std::map<std::string, std::unique_ptr<ServedModel>> models_;
  std::atomic<bool> ready_{false};
  std::thread loader_;
  absl::Status load_error_;  // set by the loader before it wakes the loop

  std::mutex done_mu_;
  std::deque<std::shared_ptr<Pending>> done_;  // answered, to reply from the loop
  std::atomic<bool> loaded_{false};
  std::map<Pending*, std::shared_ptr<Pending>> pending_;  // the loop's
  int64_t unflushed_ = 0;                                 // replies being written
  bool shutting_down_ = false;
  std::atomic<bool> drained_{false};
  std::thread drainer_;
};

HttpServer::~HttpServer() {
  if (loader_.joinable()) loader_.join();
  if (drainer_.joinable()) drainer_.join();
  models_.clear();  // drains and joins the batchers
  for (event* e : {wake_, sigterm_, sigint_, drain_deadline_}) {
    if (e) event_free(e);
  }
  if (http_) evhttp_free(http_);
  if (base_) event_base_free(base_);
}

absl::Status HttpServer::Bind() {
  evthread_use_pthreads();
  base_ = event_base_new();
  http_ = base_ ? evhttp_new(base_) : nullptr;
  if (!http_) return absl::InternalError("libevent: cannot create the event loop");
  evhttp_set_gencb(http_, OnRequest, this);
  evhttp_set_allowed_methods(http_, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
  evhttp_set_max_body_size(http_, options_.payload_limit);
  evhttp_set_max_headers_size(http_, 16384);
  evhttp_set_timeout(http_, options_.idle_timeout_s);
  bound_ = evhttp_bind_socket_with_handle(http_, options_.host.c_str(), static_cast<uint16_t>(options_.port));
  if (!bound_) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options_.host, ":", options_.port,
                                               " (in use, or not an address of this machine): ", strerror(errno)));
  }
  wake_ = event_new(base_, -1, 0, OnWake, this);
  sigterm_ = evsignal_new(base_, SIGTERM, OnSignal, this);
  sigint_ = evsignal_new(base_, SIGINT, OnSignal, this);
  event_add(sigterm_, nullptr);
  event_add(sigint_, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return absl::OkStatus();
}

absl::Status HttpServer::Run() {
  UER_RETURN_IF_ERROR(Bind());
  UER_LOG(INFO) << "listening on http://" << options_.host << ":" << options_.port << " (loading "
                << specs_.size() << " model" << (specs_.size() == 1 ? "" : "s") << ")";
  loader_ = std::thread([this] { LoadModels(); });
  event_base_dispatch(base_);
  if (loader_.joinable()) loader_.join();
  if (!load_error_.ok()) return load_error_;
  UER_LOG(INFO) << "stopped: every accepted request was answered";
  return absl::OkStatus();
}

void HttpServer::LoadModels() {
  std::map<std::string, std::unique_ptr<ServedModel>> models;
  for (const ModelSpec& spec : specs_) {
    absl::StatusOr<std::unique_ptr<ServedModel>> m = ServedModel::Load(spec);
    if (!m.ok()) {
      load_error_ = m.status();
      break;
    }
    absl::StatusOr<ServedRow> warm = (*m)->Read({"warm up", (*m)->info().text_pair ? "warm up" : ""}, true);
    if (warm.ok()) {
      auto out = (*m)->RunNow({&*warm});
      if (!out[0].ok()) {
        load_error_ = absl::Status(out[0].status().code(), absl::StrCat("model \"", spec.name, "\": warm-up: ",
                                                                        out[0].status().message()));
        break;
      }
    }
    const std::string name = spec.name;
    (*m)->set_batch_observer([this, name](int64_t inputs, int64_t tokens) {
      metrics_.batch_size.Observe({name}, static_cast<double>(inputs));
      metrics_.batch_tokens.Observe({name}, static_cast<double>(tokens));
    });
    UER_LOG(INFO) << "model \"" << name << "\" (" << spec.task << ") ready";
    models[name] = *std::move(m);
  }
  if (load_error_.ok()) {
    models_ = std::move(models);
    ready_.store(true);
    metrics_.ready.Set({}, 1);
    UER_LOG(INFO) << "ready";
  }
  loaded_.store(true);
  event_active(wake_, 0, 0);
}

ServedModel* HttpServer::FindModel(const std::string& name) const {
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second.get();
}

absl::StatusOr<ServedModel*> HttpServer::TeiModel(const std::string& query_model, const std::string& body,
                                                  const std::string& path, const JsonRoute& route) const {
  const std::string named = query_model.empty() ? RequestedModel(body) : query_model;
  if (!named.empty()) {
    ServedModel* m = FindModel(named);
    if (!m) return absl::NotFoundError(absl::StrCat("model \"", named, "\" is not served"));
    return m;
  }
  if (models_.size() == 1) return models_.begin()->second.get();
  std::vector<ServedModel*> fit;
  std::vector<std::string> names;
  for (const auto& [name, m] : models_) {
    if (route.answers(m->info())) fit.push_back(m.get());
    names.push_back(name);
  }
  if (fit.size() == 1) return fit[0];
  return absl::InvalidArgumentError(absl::StrCat("model: ", fit.size(), " of the models served answer ", path,
                                                 ": name one as ?model=NAME or in the body's \"model\" field (",
                                                 absl::StrJoin(names, ", "), ")"));
}

void HttpServer::Handle(evhttp_request* req) {
  const Clock::time_point started = Clock::now();
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(req);
  const char* raw_path = uri ? evhttp_uri_get_path(uri) : nullptr;
  const std::string path = raw_path && *raw_path ? raw_path : "/";
  const std::string method = evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET";
  std::string body;
  evbuffer* in = evhttp_request_get_input_buffer(req);
  if (size_t n = evbuffer_get_length(in); n > 0) {
    body.resize(n);
    evbuffer_remove(in, body.data(), n);
  }
  std::string route = "other", model;
  if (shutting_down_) {
    evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
    Reply(req, ErrorResponse(absl::UnavailableError("the server is shutting down")), route, model, started);
    return;
  }
  Route(req, method, path, body, &route, &model);
}

void HttpServer::Route(evhttp_request* req, const std::string& method, const std::string& path, const std::string& body,
                       std::string* route, std::string* model_name) {
  const Clock::time_point started = Clock::now();
  auto reply = [&](const HttpResponse& r) { Reply(req, r, *route, *model_name, started); };
  auto json_ok = [&](std::string text) {
    HttpResponse r;
    r.body = std::move(text);
    reply(r);
  };
  auto not_ready = [&] { reply(ErrorResponse(absl::UnavailableError("the models are still loading"))); };
  auto want = [&](const char* m) {
    if (method == m) return true;
    reply(ErrorResponse(absl::InvalidArgumentError(absl::StrCat(path, " takes ", m, ", not ", method))));
    return false;
  };
  const bool ready = ready_.load();
  if (path == "/metrics") {
    *route = "metrics";
    if (ready) {
      for (const auto& [name, m] : models_) {
        const BatcherStats st = m->stats();
        metrics_.queue_size.Set({name}, st.queued);
        metrics_.dropped.Set({name}, st.cancelled);
        metrics_.refused.Set({name}, st.refused);
      }
    }
    metrics_.in_flight.Set({}, static_cast<double>(pending_.size()));
    HttpResponse r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = metrics_.registry.Text();
    return reply(r);
  }
  if (path == "/v2/health/live") return json_ok("{}");
  if (path == "/v2/health/ready" || path == "/health") return ready ? json_ok("{}") : not_ready();
  if (path == "/v2" || path == "/v2/") return json_ok(KserveServerMetadata());
  if (absl::StartsWith(path, "/v2/models/")) {
    *route = "kserve";
    std::vector<std::string> parts = absl::StrSplit(path.substr(strlen("/v2/models/")), '/');
    *model_name = parts[0];
    if (parts.size() >= 3 && parts[1] == "versions") parts.erase(parts.begin() + 1, parts.begin() + 3);
    const std::string action = parts.size() > 1 ? parts[1] : "";
    if (!ready) return not_ready();
    ServedModel* m = FindModel(*model_name);
    if (!m) return reply(ErrorResponse(absl::NotFoundError(absl::StrCat("model \"", *model_name, "\" is not served"))));
    if (parts.size() > 2) return reply(ErrorResponse(absl::NotFoundError(absl::StrCat("no route ", path))));
    if (action.empty()) return want("GET") ? json_ok(KserveModelMetadata(m->info())) : void();
    if (action == "ready") return json_ok("{}");
    if (action == "config") return json_ok(KserveModelConfig(m->info()));
    if (action == "infer" && want("POST")) {
      const std::string header = [&] {
        const char* h = evhttp_find_header(evhttp_request_get_input_headers(req), "Inference-Header-Content-Length");
        return std::string(h ? h : "");
      }();
      return Infer(req, m, "kserve", [&](const ModelInfo& info) { return ParseKserveInfer(info, {body, header}); });
    }
    if (action != "infer") reply(ErrorResponse(absl::NotFoundError(absl::StrCat("no route ", path))));
    return;
  }
  if (auto it = JsonRoutes().find(path); it != JsonRoutes().end()) {
    const JsonRoute& json_route = it->second;
    *route = path.substr(1);
    if (!ready) return not_ready();
    if (!want(json_route.get ? "GET" : "POST")) return;
    std::string query_model;
    if (const char* q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req))) {
      evkeyvalq params;
      if (evhttp_parse_query_str(q, &params) == 0) {
        if (const char* v = evhttp_find_header(&params, "model")) query_model = v;
        evhttp_clear_headers(&params);
      }
    }
    absl::StatusOr<ServedModel*> m = TeiModel(query_model, body, path, json_route);
    if (!m.ok()) return reply(ErrorResponse(m.status()));
    *model_name = (*m)->info().name;
    if (path == "/info") return json_ok(TeiInfo((*m)->info(), options_.max_concurrent_requests));
    if (path == "/tokenize") {
      absl::StatusOr<std::string> t = Tokenize(**m, body);
      return t.ok() ? json_ok(*t) : reply(ErrorResponse(t.status()));
    }
    return Infer(req, *m, *route, [&](const ModelInfo& info) { return json_route.parse(info, body); });
  }
  reply(ErrorResponse(absl::NotFoundError(absl::StrCat("no route ", path, " (KServe v2: /v2/models/NAME/infer; TEI: "
                                                       "/predict, /embed, /tokenize, /info; /ner, /mrc; /metrics)"))));
}

void HttpServer::Infer(evhttp_request* req, ServedModel* model, const std::string& route,
                       const std::function<absl::StatusOr<InferCall>(const ModelInfo&)>& parse) {
  const Clock::time_point started = Clock::now();
  const std::string& name = model->info().name;
  if (static_cast<int64_t>(pending_.size()) >= options_.max_concurrent_requests) {
    return Reply(req, ErrorResponse(absl::ResourceExhaustedError(absl::StrCat(
                          "the server holds max_concurrent_requests (", options_.max_concurrent_requests,
                          ") requests: retry later"))),
                 route, name, started);
  }
  absl::StatusOr<InferCall> call = parse(model->info());
  if (!call.ok()) return Reply(req, ErrorResponse(call.status()), route, name, started);
  if (static_cast<int64_t>(call->inputs.size()) > model->info().batching.max_queued) {
    return Reply(req, ErrorResponse(absl::OutOfRangeError(absl::StrCat(
                          "inputs: ", call->inputs.size(), " in one request; at most ", model->info().batching.max_queued,
                          " (the model's max_queued)"))),
                 route, name, started);
  }
  std::vector<ServedRow> rows;
  for (size_t i = 0; i < call->inputs.size(); ++i) {
    absl::StatusOr<ServedRow> row = model->Read(call->inputs[i], call->truncate);
    if (!row.ok()) {
      const absl::StatusCode code = row.status().code() == absl::StatusCode::kInvalidArgument
                                        ? absl::StatusCode::kFailedPrecondition : row.status().code();
      return Reply(req, ErrorResponse(absl::Status(code, absl::StrCat("inputs[", i, "]: ", row.status().message()))),
                   route, name, started);
    }
    rows.push_back(*std::move(row));
  }
  auto p = std::make_shared<Pending>();
  p->server = this;
  p->req = req;
  p->model = model;
  p->route = route;
  p->started = started;
  p->answers.resize(rows.size());
  p->remaining = rows.size();
  p->call = *std::move(call);
  const Clock::time_point deadline =
      p->call.timeout_us > 0 ? started + std::chrono::microseconds(p->call.timeout_us) : Clock::time_point::max();
  pending_[p.get()] = p;
  std::lock_guard<std::mutex> lock(p->mu);  // answers wait until every input is queued
  for (size_t i = 0; i < rows.size(); ++i) {
    auto ticket = model->Submit(std::move(rows[i]), deadline,
                                [p, i](Ticket<Prediction>& t) { p->server->Answered(p, i, t); });
    if (!ticket.ok()) {  // full: the inputs queued so far are dropped unrun
      for (auto& t : p->tickets) t->Cancel();
      p->refused = ticket.status();
      p->answers[i] = ticket.status();
      p->remaining -= rows.size() - i - 1;  // never queued
      if (--p->remaining == 0) {
        std::lock_guard<std::mutex> d(done_mu_);
        done_.push_back(p);
        event_active(wake_, 0, 0);
      }
      break;
    }
    p->tickets.push_back(*ticket);
  }
  if (evhttp_connection* c = evhttp_request_get_connection(req)) {
    evhttp_connection_set_closecb(c, OnClose, p.get());
    // evhttp stops reading a connection while its request is answered: watch the socket for the
    // client's leaving ourselves.
    if (bufferevent* bev = evhttp_connection_get_bufferevent(c); bev && bufferevent_getfd(bev) >= 0) {
      p->watch = event_new(base_, bufferevent_getfd(bev), EV_READ, OnReadable, p.get());
      event_add(p->watch, nullptr);
    }
  }
}

void HttpServer::OnReadable(evutil_socket_t fd, short, void* pending) {
  char c;
  const ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
    static_cast<Pending*>(pending)->gone = true;
    OnClose(nullptr, pending);
  }
}

void HttpServer::Answered(const std::shared_ptr<Pending>& p, size_t index, Ticket<Prediction>& ticket) {
  std::lock_guard<std::mutex> lock(p->mu);
  p->answers[index] = ticket.Wait();
  p->queue_us = std::max(p->queue_us, ticket.queue_us());
  p->run_us = std::max(p->run_us, ticket.run_us());
  if (--p->remaining > 0) return;
  {
    std::lock_guard<std::mutex> d(done_mu_);
    done_.push_back(p);
  }
  event_active(wake_, 0, 0);
}

void HttpServer::OnClose(evhttp_connection*, void* pending) {
  auto* p = static_cast<Pending*>(pending);
  std::lock_guard<std::mutex> lock(p->mu);
  for (auto& t : p->tickets) t->Cancel();
}

void HttpServer::Finish(const std::shared_ptr<Pending>& p) {
  pending_.erase(p.get());
  if (p->watch) event_free(p->watch);
  const std::string& name = p->model->info().name;
  if (evhttp_connection* c = evhttp_request_get_connection(p->req)) {
    evhttp_connection_set_closecb(c, nullptr, nullptr);
    if (p->gone) {  // its socket is closed: free the connection (and the request) instead of writing to it
      metrics_.requests.Add({name, p->route, "499"});
      evhttp_connection_free(c);
      return;
    }
  }
  std::vector<Prediction> predictions;
  absl::Status failed = p->refused;
  for (auto& a : p->answers) {
    if (a && a->ok()) {
      predictions.push_back(**std::move(a));
    } else if (failed.ok()) {
      failed = a ? a->status() : absl::InternalError("an input was not answered");
    }
  }
  HttpResponse r = failed.ok() ? p->call.respond(p->model->info(), predictions) : ErrorResponse(failed);
  r.headers.emplace_back("x-queue-time", absl::StrFormat("%.3f", p->queue_us / 1000.0));
  r.headers.emplace_back("x-inference-time", absl::StrFormat("%.3f", p->run_us / 1000.0));
  metrics_.queue_seconds.Observe({name}, p->queue_us / 1e6);
  metrics_.inference_seconds.Observe({name}, p->run_us / 1e6);
  Reply(p->req, r, p->route, name, p->started, absl::StrCat(" inputs=", p->answers.size()));
}

void HttpServer::Reply(evhttp_request* req, const HttpResponse& r, const std::string& route, const std::string& model,
                       Clock::time_point started, const std::string& extra_log) {
  const double total = Seconds(Clock::now() - started);
  evkeyvalq* headers = evhttp_request_get_output_headers(req);
  evhttp_add_header(headers, "Content-Type", r.content_type.c_str());
  for (const auto& [k, v] : r.headers) evhttp_add_header(headers, k.c_str(), v.c_str());
  evhttp_add_header(headers, "x-total-time", absl::StrFormat("%.3f", total * 1000).c_str());
  metrics_.requests.Add({model, route, std::to_string(r.status)});
  if (!model.empty()) metrics_.request_seconds.Observe({model}, total);
  if (options_.access_log) {
    const char* uri = evhttp_request_get_uri(req);
    std::cerr << absl::StrFormat("access: %s %s %d %dB %.3fms model=%s%s\n",
                                 evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "GET", uri ? uri : "",
                                 r.status, r.body.size(), total * 1000, model.empty() ? "-" : model, extra_log);
  }
  evbuffer* out = evbuffer_new();
  evbuffer_add(out, r.body.data(), r.body.size());
  if (evhttp_request_get_connection(req)) {
    ++unflushed_;
    evhttp_request_set_on_complete_cb(req, OnReplyDone, this);
  }
  evhttp_send_reply(req, r.status, nullptr, out);
  evbuffer_free(out);
}

void HttpServer::OnReplyDone(evhttp_request*, void* self) {
  auto* s = static_cast<HttpServer*>(self);
  --s->unflushed_;
  s->MaybeExit();
}

void HttpServer::Wake() {
  std::deque<std::shared_ptr<Pending>> done;
  {
    std::lock_guard<std::mutex> lock(done_mu_);
    done.swap(done_);
  }
  for (const auto& p : done) Finish(p);
  if (loaded_.load() && !load_error_.ok()) {
    event_base_loopexit(base_, nullptr);
    return;
  }
  MaybeExit();
}

void HttpServer::Shutdown() {
  if (shutting_down_) return;
  shutting_down_ = true;
  UER_LOG(INFO) << "stopping: no new connections; answering the " << pending_.size() << " accepted requests";
  evhttp_del_accept_socket(http_, bound_);
  bound_ = nullptr;
  drain_deadline_ = evtimer_new(base_, [](evutil_socket_t, short, void* base) {
    UER_LOG(WARNING) << "the drain timeout passed with replies unsent";
    event_base_loopexit(static_cast<event_base*>(base), nullptr);
  }, base_);
  timeval tv{options_.drain_timeout_s, 0};
  evtimer_add(drain_deadline_, &tv);
  drainer_ = std::thread([this] {
    while (!loaded_.load()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    for (auto& [name, m] : models_) m->Drain();
    drained_.store(true);
    event_active(wake_, 0, 0);
  });
}

void HttpServer::MaybeExit() {
  if (shutting_down_ && drained_.load() && pending_.empty() && unflushed_ == 0) event_base_loopexit(base_, nullptr);
}

}  // namespace

absl::Status ValidateServerOptions(const ServerOptions& o) {
  if (o.port < 0 || o.port > 65535) return absl::InvalidArgumentError(absl::StrCat("--port ", o.port, ": expected 0..65535"));
  if (o.max_concurrent_requests < 1) return absl::InvalidArgumentError("--max_concurrent_requests must be >= 1");
  if (o.payload_limit < 1) return absl::InvalidArgumentError("--payload_limit must be >= 1");
  if (o.idle_timeout_s < 1) return absl::InvalidArgumentError("--idle_timeout_s must be >= 1");
  if (o.drain_timeout_s < 1) return absl::InvalidArgumentError("--drain_timeout_s must be >= 1");
  return absl::OkStatus();
}

absl::Status Serve(const ServerOptions& options, const std::vector<ModelSpec>& specs) {
  UER_RETURN_IF_ERROR(ValidateServerOptions(options));
  if (specs.empty()) return absl::InvalidArgumentError("no model to serve");
  HttpServer server(options, specs);
  return server.Run();
}

}  // namespace uer::runtime::serve
