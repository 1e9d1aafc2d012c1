#include "core/python_random.h"

#include "testing/test_util.h"

namespace uer::core {
namespace {

// The expected numbers are what CPython 3.11 prints for the same calls.
TEST(PythonRandomTest, MatchesCPython) {
  PythonRandom r(7);
  EXPECT_DOUBLE_EQ(r.Random(), 0.32383276483316237);
  EXPECT_DOUBLE_EQ(r.Random(), 0.15084917392450192);
  EXPECT_DOUBLE_EQ(r.Random(), 0.6509344730398537);
  std::vector<int64_t> ints;
  for (int i = 0; i < 5; ++i) ints.push_back(r.RandInt(1, 21127));
  EXPECT_EQ(ints, (std::vector<int64_t>{2374, 17560, 3085, 11983, 19097}));
  EXPECT_EQ(r.RandInt(2, 125), 9);
  EXPECT_EQ(r.RandInt(2, 125), 118);
  EXPECT_EQ(r.RandInt(2, 125), 66);
  EXPECT_EQ(r.GetRandBits(32), 922121676u);
  PythonRandom big(123456789012ULL);  // a seed of two 32-bit words
  EXPECT_DOUBLE_EQ(big.Random(), 0.37701448538609916);
  EXPECT_EQ(big.RandInt(0, 1), 0);
}

}  // namespace
}  // namespace uer::core
