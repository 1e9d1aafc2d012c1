// Python's `random` module (MT19937 with Python's seeding, random(), randint(), getrandbits()),
// reproduced bit for bit, so that preprocessing draws exactly the numbers UER-py's does for the same
// --seed. Not thread-safe: one per worker.
//
//   PythonRandom rng(7);          // random.seed(7)
//   double p = rng.Random();      // random.random()
//   int64_t i = rng.RandInt(1, 9);  // random.randint(1, 9)
#ifndef UER_CORE_PYTHON_RANDOM_H_
#define UER_CORE_PYTHON_RANDOM_H_

#include <cstdint>
#include <utility>

namespace uer::core {

class PythonRandom {
 public:
  explicit PythonRandom(uint64_t seed) { Seed(seed); }
  // random.seed(n) for a non-negative integer n.
  void Seed(uint64_t seed);
  // random.random(): a double in [0, 1) with 53 random bits.
  double Random();
  // random.getrandbits(k) for 1 <= k <= 32.
  uint32_t GetRandBits(int k);
  // random.randint(a, b): uniform in [a, b] by rejection sampling, as Python does.
  int64_t RandInt(int64_t a, int64_t b);
  // random.shuffle(v) for a random-access container.
  template <typename V>
  void Shuffle(V& v) {
    for (int64_t i = static_cast<int64_t>(v.size()) - 1; i > 0; --i) {
      int64_t j = RandBelow(i + 1);
      std::swap(v[i], v[j]);
    }
  }
  int64_t RandBelow(int64_t n);

 private:
  uint32_t GenRand();
  void InitGenRand(uint32_t s);
  uint32_t mt_[624];
  int mti_ = 625;
};


namespace python_random_internal {
inline constexpr int kN = 624;
inline constexpr int kM = 397;
inline constexpr uint32_t kMatrixA = 0x9908b0dfU;
inline constexpr uint32_t kUpper = 0x80000000U;
inline constexpr uint32_t kLower = 0x7fffffffU;
}  // namespace python_random_internal

inline uint32_t PythonRandom::GenRand() {
  namespace i = python_random_internal;
  static constexpr uint32_t mag01[2] = {0x0U, i::kMatrixA};
  uint32_t y;
  if (mti_ >= i::kN) {
    int kk;
    for (kk = 0; kk < i::kN - i::kM; ++kk) {
      y = (mt_[kk] & i::kUpper) | (mt_[kk + 1] & i::kLower);
      mt_[kk] = mt_[kk + i::kM] ^ (y >> 1) ^ mag01[y & 0x1U];
    }
    for (; kk < i::kN - 1; ++kk) {
      y = (mt_[kk] & i::kUpper) | (mt_[kk + 1] & i::kLower);
      mt_[kk] = mt_[kk + (i::kM - i::kN)] ^ (y >> 1) ^ mag01[y & 0x1U];
    }
    y = (mt_[i::kN - 1] & i::kUpper) | (mt_[0] & i::kLower);
    mt_[i::kN - 1] = mt_[i::kM - 1] ^ (y >> 1) ^ mag01[y & 0x1U];
    mti_ = 0;
  }
  y = mt_[mti_++];
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680U;
  y ^= (y << 15) & 0xefc60000U;
  y ^= (y >> 18);
  return y;
}

inline double PythonRandom::Random() {
  uint32_t a = GenRand() >> 5, b = GenRand() >> 6;
  return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

inline uint32_t PythonRandom::GetRandBits(int k) { return GenRand() >> (32 - k); }

inline int64_t PythonRandom::RandBelow(int64_t n) {
  if (n <= 0) return 0;
  int k = 0;
  for (uint64_t v = static_cast<uint64_t>(n); v; v >>= 1) ++k;  // n.bit_length()
  if (k > 32) {
    // Python concatenates 32-bit words for wider draws: low word first.
    uint64_t r;
    do {
      uint64_t lo = GenRand();
      uint64_t hi = GenRand() >> (64 - k);
      r = (hi << 32) | lo;
    } while (r >= static_cast<uint64_t>(n));
    return static_cast<int64_t>(r);
  }
  uint32_t r = GetRandBits(k);
  while (r >= static_cast<uint64_t>(n)) r = GetRandBits(k);
  return r;
}

inline int64_t PythonRandom::RandInt(int64_t a, int64_t b) { return a + RandBelow(b - a + 1); }

}  // namespace uer::core

#endif  // UER_CORE_PYTHON_RANDOM_H_
