#include "core/target_data.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace uer::core {

InstanceSink::~InstanceSink() = default;
InstanceBuilder::~InstanceBuilder() = default;
TargetDataFactory::~TargetDataFactory() = default;

void InstanceStats::Add(const InstanceStats& other) {
  instances += other.instances;
  tokens += other.tokens;
  input_tokens += other.input_tokens;
  for (const auto& [k, v] : other.counts) counts[k] += v;
}

double ReportSums::Mean(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() || steps == 0 ? 0.0 : it->second / static_cast<double>(steps);
}

double ReportSums::Ratio(const std::string& num, const std::string& den) const {
  auto n = values.find(num), d = values.find(den);
  if (n == values.end() || d == values.end() || d->second == 0) return 0.0;
  return n->second / d->second;
}

double ReportSums::PerInstance(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() || instances == 0 ? 0.0 : it->second / static_cast<double>(instances);
}

std::string TargetDataFactory::ReportLine(const ReportSums& sums) const {
  std::string line;
  for (const auto& [name, value] : ReportScalars(sums)) absl::StrAppendFormat(&line, "| %s: %3.3f", name, value);
  return line;
}

absl::StatusOr<const TargetDataFactory*> FindTargetData(const std::string& target) {
  auto f = FindFactory<TargetDataFactory>(target);
  if (!f.ok() && f.status().code() == absl::StatusCode::kNotFound) {
    return absl::NotFoundError(absl::StrCat("target \"", target, "\" has no data side (preprocess and pretrain need one): ",
                                            f.status().message()));
  }
  return f;
}

}  // namespace uer::core
