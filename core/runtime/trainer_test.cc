// The training loop with a fake job (one weight learning y = 2x): steps, accumulation, the saves
// on a signal and their resume, the non-finite loss policy, and the output folder's checks.
#include "core/runtime/trainer.h"

#include <csignal>
#include <cmath>
#include <filesystem>
#include <limits>

#include <torch/nn/modules/linear.h>

#include "testing/test_util.h"

namespace uer::runtime {
namespace {

using ::testing::HasSubstr;
using ::uer::testing::StatusIs;

class FakeJob : public TrainingJob {
 public:
  FakeJob() : linear_(torch::nn::LinearOptions(1, 1).bias(false)) {
    torch::NoGradGuard no_grad;
    linear_->weight.fill_(0.5);
  }
  torch::nn::Module& model() override { return *linear_; }
  absl::StatusOr<StepOutput> Forward(int64_t step) override {
    ++position_;
    const double x = static_cast<double>(position_ % 5 + 1);
    torch::Tensor input = torch::full({1, 1}, x);
    torch::Tensor loss = (linear_->forward(input) - 2 * x).pow(2).mean();
    if (position_ == nan_at) loss = loss * std::numeric_limits<double>::quiet_NaN();
    if (step == signal_at && stop != nullptr) stop->store(SIGTERM);
    StepOutput s;
    s.out.loss = loss;
    s.out.values = {{"loss", loss}};
    s.tokens = s.instances = 1;
    return s;
  }
  int64_t position() const override { return position_; }
  void Seek(int64_t position) override { position_ = position; }
  std::string ReportLine(const ReportContext& c) const override {
    reported.push_back(c.step);
    return "step " + std::to_string(c.step);
  }
  absl::Status AfterStep(int64_t step, bool, MetricsWriter*) override {
    weights.push_back(weight());
    return absl::OkStatus();
  }
  double weight() const { return linear_->weight.item<double>(); }

  int64_t nan_at = -1;     // the data position whose loss is NaN
  int64_t signal_at = -1;  // the step during which a signal arrives
  std::atomic<int>* stop = nullptr;
  std::vector<double> weights;  // after each step
  mutable std::vector<int64_t> reported;

 private:
  torch::nn::Linear linear_;
  int64_t position_ = 0;
};

TrainerOptions Options(const std::string& dir, int64_t steps) {
  TrainerOptions o;
  o.output_model_path = dir + "/model.bin";
  o.total_steps = steps;
  o.report_steps = 2;
  o.optimizer.learning_rate = 0.01;
  o.optimizer.warmup = 0;
  o.optimizer.total_steps = steps;
  o.optimizer.schedule = "warmup_constant";
  return o;
}

TEST(TrainerTest, LearnsReportsAndSavesTheFinalModel) {
  const std::string dir = uer::testing::TempDir("learns");
  FakeJob job;
  ASSERT_OK_AND_ASSIGN(TrainResult r, Train(job, Options(dir, 60)));
  EXPECT_EQ(r.steps_done, 60);
  ASSERT_EQ(r.losses.size(), 60u);
  EXPECT_LT(r.losses.back(), r.losses.front() / 10);
  EXPECT_NEAR(job.weight(), 2.0, 0.2);
  EXPECT_EQ(job.reported.size(), 30u);  // every second step
  EXPECT_TRUE(std::filesystem::exists(dir + "/model.bin"));
  EXPECT_TRUE(CheckpointSteps(dir + "/model.bin").empty());
}

TEST(TrainerTest, AccumulationStepsTheOptimizerOnceAGroup) {
  const std::string dir = uer::testing::TempDir("accumulation");
  FakeJob job;
  TrainerOptions o = Options(dir, 6);
  o.accumulation_steps = 3;
  ASSERT_OK(Train(job, o).status());
  ASSERT_EQ(job.weights.size(), 6u);
  // The weight moves after steps 3 and 6 only.
  EXPECT_EQ(job.weights[0], 0.5);
  EXPECT_EQ(job.weights[1], 0.5);
  EXPECT_NE(job.weights[2], 0.5);
  EXPECT_EQ(job.weights[3], job.weights[2]);
  EXPECT_EQ(job.weights[4], job.weights[2]);
  EXPECT_NE(job.weights[5], job.weights[2]);
}

TEST(TrainerTest, ASignalSavesACheckpointThatResumesToTheSameWeights) {
  const std::string whole_dir = uer::testing::TempDir("whole");
  FakeJob whole;
  ASSERT_OK(Train(whole, Options(whole_dir, 10)).status());

  const std::string dir = uer::testing::TempDir("signal");
  std::atomic<int> stop{0};
  FakeJob first;
  first.signal_at = 4;
  first.stop = &stop;
  TrainerOptions o = Options(dir, 10);
  o.stop_signal = &stop;
  ASSERT_OK_AND_ASSIGN(TrainResult stopped, Train(first, o));
  EXPECT_EQ(stopped.stopped_by_signal, SIGTERM);
  EXPECT_EQ(stopped.last_checkpoint, CheckpointPath(o.output_model_path, 4));
  EXPECT_EQ(LatestCheckpoint(o.output_model_path), 4);
  EXPECT_FALSE(std::filesystem::exists(o.output_model_path));

  // Without --resume the checkpoint is refused, not silently overwritten.
  stop.store(0);
  FakeJob refused;
  EXPECT_THAT(Train(refused, o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--resume")));

  FakeJob second;
  o.resume = true;
  ASSERT_OK_AND_ASSIGN(TrainResult resumed, Train(second, o));
  EXPECT_EQ(resumed.losses.size(), 6u);  // steps 5..10
  EXPECT_EQ(second.position(), 10);      // the data went on where it stopped
  EXPECT_EQ(second.weight(), whole.weight());
}

TEST(TrainerTest, ANonFiniteLossStopsWithoutSaving) {
  const std::string dir = uer::testing::TempDir("nan");
  FakeJob job;
  job.nan_at = 3;
  EXPECT_THAT(Train(job, Options(dir, 10)),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("at step 3; stopped without saving (no checkpoint")));
  EXPECT_FALSE(std::filesystem::exists(dir + "/model.bin"));

  const std::string saved_dir = uer::testing::TempDir("nan_after_save");
  FakeJob later;
  later.nan_at = 5;
  TrainerOptions o = Options(saved_dir, 10);
  o.save_checkpoint_steps = 2;
  EXPECT_THAT(Train(later, o), StatusIs(absl::StatusCode::kInternal,
                                        HasSubstr("the last good checkpoint is " + CheckpointPath(o.output_model_path, 4))));
}

TEST(TrainerTest, OverwriteCheckpointsDeletesAnEarlierRuns) {
  const std::string dir = uer::testing::TempDir("overwrite");
  TrainerOptions o = Options(dir, 4);
  o.save_checkpoint_steps = 2;
  FakeJob first;
  ASSERT_OK(Train(first, o).status());
  EXPECT_EQ(CheckpointSteps(o.output_model_path), (std::vector<int64_t>{2, 4}));
  o.total_steps = o.optimizer.total_steps = 3;
  o.overwrite_checkpoints = true;
  FakeJob second;
  ASSERT_OK(Train(second, o).status());
  EXPECT_EQ(CheckpointSteps(o.output_model_path), (std::vector<int64_t>{2}));
}

TEST(TrainerTest, RefusesAFolderAsTheOutputAndBadSteps) {
  const std::string dir = uer::testing::TempDir("folder");
  FakeJob job;
  TrainerOptions o = Options(dir, 4);
  o.output_model_path = dir;
  EXPECT_THAT(Train(job, o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("is a directory")));
  o = Options(dir, 4);
  o.accumulation_steps = 0;
  EXPECT_THAT(Train(job, o), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--accumulation_steps")));
}

}  // namespace
}  // namespace uer::runtime
