#include "core/runtime/metrics.h"

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/log.h"
#include "core/runtime/checksum.h"
#include "core/runtime/dataset.h"
#include "core/runtime/tensorboard_event.pb.h"

namespace uer::runtime {
namespace {

double WallTime() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// The JSON lines of a stopped run up to `step` (a torn last line is dropped), written back atomically.
absl::Status KeepLinesUpTo(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return absl::OkStatus();  // nothing recorded yet
  std::string kept, line;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
    if (j["step"].get<int64_t>() <= step) absl::StrAppend(&kept, line, "\n");
  }
  if (absl::Status st = WriteFileAtomically(path, kept); !st.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("--metrics_path: ", st.message()));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TfRecord(std::string_view data) {
  std::string out, len;
  PutFixed(&len, data.size(), 8);
  out.reserve(data.size() + 16);
  out += len;
  PutFixed(&out, MaskCrc(Crc32c(len.data(), len.size())), 4);
  out += data;
  PutFixed(&out, MaskCrc(Crc32c(data.data(), data.size())), 4);
  return out;
}

absl::StatusOr<std::unique_ptr<MetricsWriter>> MetricsWriter::Open(const MetricsOptions& o) {
  std::unique_ptr<MetricsWriter> m(new MetricsWriter());
  std::error_code ec;
  if (!o.tensorboard_dir.empty()) {
    std::filesystem::create_directories(o.tensorboard_dir, ec);
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("--tensorboard_dir: cannot create ", o.tensorboard_dir, ": ", ec.message()));
    }
    char host[256] = "localhost";
    gethostname(host, sizeof(host) - 1);
    static int counter = 0;
    m->event_path_ = absl::StrFormat("%s/events.out.tfevents.%010d.%s.%d.%d", o.tensorboard_dir,
                                     static_cast<int64_t>(WallTime()), host, getpid(), counter++);
    m->events_ = std::fopen(m->event_path_.c_str(), "wb");
    if (!m->events_) {
      return absl::FailedPreconditionError(
          absl::StrCat("--tensorboard_dir: cannot write ", m->event_path_, ": ", std::strerror(errno)));
    }
    tensorboard::Event first;
    first.set_wall_time(WallTime());
    first.set_file_version("brain.Event:2");
    const std::string r = TfRecord(first.SerializeAsString());
    if (std::fwrite(r.data(), 1, r.size(), m->events_) != r.size() || std::fflush(m->events_) != 0) {
      return absl::FailedPreconditionError(absl::StrCat("--tensorboard_dir: cannot write ", m->event_path_));
    }
  }
  if (!o.metrics_path.empty()) {
    const std::filesystem::path parent = std::filesystem::path(o.metrics_path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (o.resume_step >= 0) {
      absl::Status s = KeepLinesUpTo(o.metrics_path, o.resume_step);
      if (!s.ok()) return s;
    }
    m->jsonl_path_ = o.metrics_path;
    m->jsonl_ = std::fopen(o.metrics_path.c_str(), o.resume_step >= 0 ? "ab" : "wb");
    if (!m->jsonl_) {
      return absl::FailedPreconditionError(
          absl::StrCat("--metrics_path: cannot write ", o.metrics_path, ": ", std::strerror(errno)));
    }
  }
  return m;
}

MetricsWriter::~MetricsWriter() {
  if (events_) std::fclose(events_);
  if (jsonl_) std::fclose(jsonl_);
}

void MetricsWriter::Fail(const std::string& path) {
  UER_LOG(WARNING) << "cannot write " << path << " (" << std::strerror(errno) << "): metrics are no longer recorded";
  failed_ = true;
}

void MetricsWriter::Write(int64_t step, const std::vector<Scalar>& scalars) {
  if (failed_ || scalars.empty()) return;
  const double now = WallTime();
  if (events_) {
    tensorboard::Event e;
    e.set_wall_time(now);
    e.set_step(step);
    for (const Scalar& s : scalars) {
      tensorboard::SummaryValue* v = e.mutable_summary()->add_value();
      v->set_tag(s.tag);
      v->set_simple_value(static_cast<float>(s.value));
    }
    const std::string r = TfRecord(e.SerializeAsString());
    if (std::fwrite(r.data(), 1, r.size(), events_) != r.size() || std::fflush(events_) != 0) return Fail(event_path_);
  }
  if (jsonl_) {
    nlohmann::ordered_json j;
    j["step"] = step;
    j["wall_time"] = now;
    for (const Scalar& s : scalars) j[s.tag] = s.value;  // NaN and infinities are written as null
    const std::string line = j.dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), jsonl_) != line.size() || std::fflush(jsonl_) != 0) {
      return Fail(jsonl_path_);
    }
  }
}

}  // namespace uer::runtime
