// Metrics in Prometheus' text exposition format (version 0.0.4), for the server's GET /metrics:
// counters and gauges by label values, and histograms with fixed buckets. Thread-safe.
//
//   Registry r;
//   Counter& requests = r.AddCounter("uer_requests_total", "Requests answered", {"model", "outcome"});
//   requests.Add({"cls", "ok"});
//   Histogram& latency = r.AddHistogram("uer_request_seconds", "...", {"model"}, LatencyBuckets());
//   latency.Observe({"cls"}, 0.004);
//   std::string text = r.Text();
#ifndef UER_CORE_RUNTIME_SERVE_PROMETHEUS_H_
#define UER_CORE_RUNTIME_SERVE_PROMETHEUS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace uer::runtime::serve {

using LabelValues = std::vector<std::string>;

class Metric {
 public:
  Metric(std::string name, std::string help, std::vector<std::string> labels)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)) {}
  virtual ~Metric() = default;
  virtual void AppendText(std::string* out) const = 0;

 protected:
  // `name{label="value",...}` with the values escaped; `extra` adds one more label (le="...").
  std::string Series(const std::string& name, const LabelValues& values, const std::string& extra = "") const;
  void AppendHeader(std::string* out, const char* type) const;
  std::string name_, help_;
  std::vector<std::string> labels_;
  mutable std::mutex mu_;
};

// A counter, or a gauge (Set) when made by AddGauge.
class Counter : public Metric {
 public:
  Counter(std::string name, std::string help, std::vector<std::string> labels, bool gauge)
      : Metric(std::move(name), std::move(help), std::move(labels)), gauge_(gauge) {}
  void Add(const LabelValues& values, double by = 1);
  void Set(const LabelValues& values, double value);
  double Get(const LabelValues& values) const;
  void AppendText(std::string* out) const override;

 private:
  bool gauge_;
  std::map<LabelValues, double> values_;
};

class Histogram : public Metric {
 public:
  Histogram(std::string name, std::string help, std::vector<std::string> labels, std::vector<double> bounds)
      : Metric(std::move(name), std::move(help), std::move(labels)), bounds_(std::move(bounds)) {}
  void Observe(const LabelValues& values, double value);
  void AppendText(std::string* out) const override;

 private:
  struct Series_ {
    std::vector<uint64_t> counts;  // per bucket, not cumulative; the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  std::vector<double> bounds_;
  std::map<LabelValues, Series_> series_;
};

// Seconds from 0.5 ms to 30 s; sizes 1, 2, 4, ... up to `largest`.
std::vector<double> LatencyBuckets();
std::vector<double> PowerOfTwoBuckets(double largest);

class Registry {
 public:
  Counter& AddCounter(const std::string& name, const std::string& help, std::vector<std::string> labels);
  Counter& AddGauge(const std::string& name, const std::string& help, std::vector<std::string> labels);
  Histogram& AddHistogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                          std::vector<double> bounds);
  std::string Text() const;

 private:
  std::vector<std::unique_ptr<Metric>> metrics_;
};

}  // namespace uer::runtime::serve

#endif  // UER_CORE_RUNTIME_SERVE_PROMETHEUS_H_
