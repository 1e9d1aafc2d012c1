// The text format Prometheus scrapes: HELP/TYPE lines, labels escaped, cumulative buckets.
#include "core/runtime/serve/prometheus.h"

#include "testing/test_util.h"

namespace uer::runtime::serve {
namespace {

using ::testing::HasSubstr;

TEST(PrometheusTest, CountersAndGaugesByLabelValues) {
  Registry r;
  Counter& c = r.AddCounter("uer_requests_total", "Requests answered", {"model", "outcome"});
  c.Add({"cls", "ok"});
  c.Add({"cls", "ok"}, 2);
  c.Add({"a\"b\\c\nd", "error"});
  Counter& g = r.AddGauge("uer_queue_size", "Requests queued", {"model"});
  g.Set({"cls"}, 7);
  g.Set({"cls"}, 5);
  EXPECT_EQ(c.Get({"cls", "ok"}), 3);
  EXPECT_EQ(r.Text(),
            "# HELP uer_requests_total Requests answered\n"
            "# TYPE uer_requests_total counter\n"
            "uer_requests_total{model=\"a\\\"b\\\\c\\nd\",outcome=\"error\"} 1\n"
            "uer_requests_total{model=\"cls\",outcome=\"ok\"} 3\n"
            "# HELP uer_queue_size Requests queued\n"
            "# TYPE uer_queue_size gauge\n"
            "uer_queue_size{model=\"cls\"} 5\n");
}

TEST(PrometheusTest, HistogramBucketsAreCumulativeWithSumAndCount) {
  Registry r;
  Histogram& h = r.AddHistogram("uer_batch_size", "Rows per batch", {"model"}, PowerOfTwoBuckets(4));
  for (double v : {1.0, 3.0, 3.0, 9.0}) h.Observe({"m"}, v);
  const std::string text = r.Text();
  EXPECT_THAT(text, HasSubstr("# TYPE uer_batch_size histogram\n"));
  EXPECT_THAT(text, HasSubstr("uer_batch_size_bucket{model=\"m\",le=\"1\"} 1\n"
                              "uer_batch_size_bucket{model=\"m\",le=\"2\"} 1\n"
                              "uer_batch_size_bucket{model=\"m\",le=\"4\"} 3\n"
                              "uer_batch_size_bucket{model=\"m\",le=\"+Inf\"} 4\n"
                              "uer_batch_size_sum{model=\"m\"} 16\n"
                              "uer_batch_size_count{model=\"m\"} 4\n"));
  Histogram& s = r.AddHistogram("uer_request_seconds", "Time", {}, LatencyBuckets());
  s.Observe({}, 0.0042);
  EXPECT_THAT(r.Text(), HasSubstr("uer_request_seconds_bucket{le=\"0.005\"} 1\nuer_request_seconds_bucket{le=\"0.01\"} 1\n"));
  EXPECT_THAT(r.Text(), HasSubstr("uer_request_seconds_sum 0.0042\n"));
}

}  // namespace
}  // namespace uer::runtime::serve
