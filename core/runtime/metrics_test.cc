#include "core/runtime/metrics.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/runtime/checksum.h"
#include "core/runtime/progress.h"
#include "core/runtime/tensorboard_event.pb.h"
#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::ReadFile;
using ::uer::testing::StatusIs;

// The records of an event file, their framing and CRCs checked as TensorBoard's reader checks them.
std::vector<tensorboard::Event> ReadEvents(const std::string& path) {
  const std::string b = ReadFile(path);
  std::vector<tensorboard::Event> out;
  size_t at = 0;
  while (at < b.size()) {
    EXPECT_LE(at + 12, b.size());
    uint64_t len;
    uint32_t len_crc, data_crc;
    std::memcpy(&len, b.data() + at, 8);
    std::memcpy(&len_crc, b.data() + at + 8, 4);
    EXPECT_EQ(len_crc, MaskCrc(Crc32c(b.data() + at, 8)));
    EXPECT_LE(at + 16 + len, b.size());
    std::memcpy(&data_crc, b.data() + at + 12 + len, 4);
    EXPECT_EQ(data_crc, MaskCrc(Crc32c(b.data() + at + 12, len)));
    tensorboard::Event e;
    EXPECT_TRUE(e.ParseFromArray(b.data() + at + 12, static_cast<int>(len)));
    out.push_back(e);
    at += 16 + len;
  }
  return out;
}

std::vector<nlohmann::json> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(MetricsTest, EventsAndJsonLinesHoldTheSameScalars) {
  const std::string dir = uer::testing::TempDir("metrics");
  MetricsOptions o;
  o.tensorboard_dir = dir + "/tb";
  o.metrics_path = dir + "/m.jsonl";
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsWriter> m, MetricsWriter::Open(o));
  m->Write(10, {{"train/loss", 6.25}, {"train/acc", 0.5}});
  m->Write(20, {{"train/loss", 5.5}, {"train/acc", 0.625}});
  m->Write(20, {{"dev/acc", 0.75}});
  EXPECT_THAT(m->event_path(), HasSubstr(dir + "/tb/events.out.tfevents."));
  const std::vector<tensorboard::Event> events = ReadEvents(m->event_path());
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].file_version(), "brain.Event:2");
  EXPECT_EQ(events[1].step(), 10);
  ASSERT_EQ(events[1].summary().value_size(), 2);
  EXPECT_EQ(events[1].summary().value(0).tag(), "train/loss");
  EXPECT_EQ(events[1].summary().value(0).simple_value(), 6.25f);
  EXPECT_EQ(events[3].summary().value(0).tag(), "dev/acc");
  const std::vector<nlohmann::json> lines = ReadLines(o.metrics_path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["step"], 20);
  EXPECT_EQ(lines[1]["train/acc"], 0.625);
  EXPECT_EQ(lines[2]["dev/acc"], 0.75);
}

// A resumed run keeps the JSON lines up to its checkpoint (a torn last line is dropped) and goes on.
TEST(MetricsTest, ResumeKeepsTheLinesUpToItsStep) {
  const std::string dir = uer::testing::TempDir("metrics_resume");
  const std::string path = dir + "/m.jsonl";
  std::ofstream(path) << "{\"step\":10,\"train/loss\":3}\n{\"step\":20,\"train/loss\":2}\n{\"step\":30,\"train/loss\":1}\n{\"step\":4";
  MetricsOptions o;
  o.metrics_path = path;
  o.resume_step = 20;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsWriter> m, MetricsWriter::Open(o));
    m->Write(30, {{"train/loss", 1.5}});
  }
  std::vector<nlohmann::json> lines = ReadLines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1]["step"], 20);
  EXPECT_EQ(lines[2]["train/loss"], 1.5);
  // A new run starts the file afresh.
  o.resume_step = -1;
  {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<MetricsWriter> m, MetricsWriter::Open(o));
  }
  EXPECT_TRUE(ReadLines(path).empty());
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  }
}

TEST(MetricsTest, AnUnwritableDirectoryIsNamed) {
  const std::string dir = uer::testing::TempDir("metrics_bad");
  std::ofstream(dir + "/file") << "x";
  MetricsOptions o;
  o.tensorboard_dir = dir + "/file/tb";
  EXPECT_THAT(MetricsWriter::Open(o),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("--tensorboard_dir: cannot create " + dir)));
}

// The progress line's wording (drawn only on a terminal: testing/e2e/progress_test.sh).
TEST(ProgressTest, LineSaysDoneRateAndEta) {
  Progress steps("pretrain", 100, Progress::Unit::kItems, "steps", /*first=*/20);
  EXPECT_EQ(steps.Line(50, 10.0, "loss 6.125"), "pretrain: steps 50/100 (50.0%) | 3.00 steps/s | loss 6.125 | ETA 0:00:17");
  Progress bytes("preprocess", 200000000, Progress::Unit::kBytes);
  EXPECT_EQ(bytes.Line(50000000, 2.0, ""), "preprocess: 50.0/200.0 MB (25.0%) | 25.0 MB/s | ETA 0:00:06");
  Progress open_ended("generate", 0, Progress::Unit::kItems, "lines");
  EXPECT_EQ(open_ended.Line(7, 2.0, ""), "generate: lines 7 | 3.50 lines/s");
}

}  // namespace
}  // namespace uer::runtime
