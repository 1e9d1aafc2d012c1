#include "core/runtime/serve/prometheus.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace uer::runtime::serve {
namespace {

// Label values escape backslash, double quote and newline; help text backslash and newline.
std::string Escape(const std::string& s, bool quote) {
  std::string out;
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrCat(static_cast<int64_t>(v));
  return absl::StrFormat("%.9g", v);
}

}  // namespace

std::string Metric::Series(const std::string& name, const LabelValues& values, const std::string& extra) const {
  std::string out = name;
  if (labels_.empty() && extra.empty()) return out;
  out += '{';
  for (size_t i = 0; i < labels_.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", labels_[i], "=\"", Escape(i < values.size() ? values[i] : "", true), "\"");
  }
  if (!extra.empty()) absl::StrAppend(&out, labels_.empty() ? "" : ",", extra);
  out += '}';
  return out;
}

void Metric::AppendHeader(std::string* out, const char* type) const {
  absl::StrAppend(out, "# HELP ", name_, " ", Escape(help_, false), "\n# TYPE ", name_, " ", type, "\n");
}

void Counter::Add(const LabelValues& values, double by) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[values] += by;
}

void Counter::Set(const LabelValues& values, double value) {
  std::lock_guard<std::mutex> lock(mu_);
  values_[values] = value;
}

double Counter::Get(const LabelValues& values) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = values_.find(values);
  return it == values_.end() ? 0 : it->second;
}

void Counter::AppendText(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  AppendHeader(out, gauge_ ? "gauge" : "counter");
  for (const auto& [values, v] : values_) absl::StrAppend(out, Series(name_, values), " ", Number(v), "\n");
}

void Histogram::Observe(const LabelValues& values, double value) {
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  std::lock_guard<std::mutex> lock(mu_);
  Series_& s = series_[values];
  if (s.counts.empty()) s.counts.assign(bounds_.size() + 1, 0);
  ++s.counts[bucket];
  s.sum += value;
  ++s.count;
}

void Histogram::AppendText(std::string* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  AppendHeader(out, "histogram");
  for (const auto& [values, s] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
      cumulative += s.counts[i];
      const std::string le = i < bounds_.size() ? Number(bounds_[i]) : "+Inf";
      absl::StrAppend(out, Series(name_ + "_bucket", values, absl::StrCat("le=\"", le, "\"")), " ", cumulative, "\n");
    }
    absl::StrAppend(out, Series(name_ + "_sum", values), " ", Number(s.sum), "\n");
    absl::StrAppend(out, Series(name_ + "_count", values), " ", s.count, "\n");
  }
}

std::vector<double> LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
}

std::vector<double> PowerOfTwoBuckets(double largest) {
  std::vector<double> b;
  for (double v = 1; v <= largest; v *= 2) b.push_back(v);
  return b;
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  metrics_.push_back(std::make_unique<Counter>(name, help, std::move(labels), false));
  return static_cast<Counter&>(*metrics_.back());
}

Counter& Registry::AddGauge(const std::string& name, const std::string& help, std::vector<std::string> labels) {
  metrics_.push_back(std::make_unique<Counter>(name, help, std::move(labels), true));
  return static_cast<Counter&>(*metrics_.back());
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help, std::vector<std::string> labels,
                                  std::vector<double> bounds) {
  metrics_.push_back(std::make_unique<Histogram>(name, help, std::move(labels), std::move(bounds)));
  return static_cast<Histogram&>(*metrics_.back());
}

std::string Registry::Text() const {
  std::string out;
  for (const auto& m : metrics_) m->AppendText(&out);
  return out;
}

}  // namespace uer::runtime::serve
