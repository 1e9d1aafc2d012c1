// The main of a fuzz harness in the normal (gcc) build, so that the suite runs every harness briefly:
// each seed file as it is, then RUNS inputs made from the seeds by libFuzzer's kinds of mutation
// (bit flips, interesting bytes, erased, repeated and inserted ranges, cuts, splices), from a fixed
// random seed. The long runs use libFuzzer itself with ASan and UBSan (bench/fuzz.sh).
//
//   harness [--runs=N] [--seed=S] SEED_FILE_OR_DIR...
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) __attribute__((weak));

namespace {

uint64_t state = 0x9E3779B97F4A7C15ULL;
uint64_t Next() {  // xorshift64*
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 2685821657736338717ULL;
}
size_t Below(size_t n) { return n == 0 ? 0 : Next() % n; }

std::string Mutate(std::string s, const std::vector<std::string>& seeds) {
  static const uint8_t kInteresting[] = {0, 1, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x20, '\n', '\t', '"', '{', '}', '#'};
  const int edits = 1 + static_cast<int>(Below(4));
  for (int e = 0; e < edits; ++e) {
    switch (Below(7)) {
      case 0:  // flip a bit
        if (!s.empty()) s[Below(s.size())] ^= static_cast<char>(1 << Below(8));
        break;
      case 1:  // an interesting byte
        if (!s.empty()) s[Below(s.size())] = static_cast<char>(kInteresting[Below(sizeof(kInteresting))]);
        break;
      case 2: {  // erase a range
        if (s.empty()) break;
        const size_t at = Below(s.size());
        s.erase(at, 1 + Below(std::min<size_t>(64, s.size() - at)));
        break;
      }
      case 3: {  // repeat a range
        if (s.empty()) break;
        const size_t at = Below(s.size()), n = 1 + Below(std::min<size_t>(64, s.size() - at));
        s.insert(at, s.substr(at, n));
        break;
      }
      case 4: {  // random bytes
        std::string r(1 + Below(8), '\0');
        for (char& c : r) c = static_cast<char>(Next());
        s.insert(Below(s.size() + 1), r);
        break;
      }
      case 5:  // cut
        s.resize(Below(s.size() + 1));
        break;
      default: {  // splice with another seed
        const std::string& o = seeds[Below(seeds.size())];
        if (o.empty()) break;
        const size_t from = Below(o.size());
        s = s.substr(0, Below(s.size() + 1)) + o.substr(from, Below(o.size() - from) + 1);
        break;
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
  long runs = 1000;
  std::vector<std::string> seeds;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--runs=", 0) == 0) {
      runs = std::strtol(a.c_str() + 7, nullptr, 10);
    } else if (a.rfind("--seed=", 0) == 0) {
      state = std::strtoull(a.c_str() + 7, nullptr, 10) | 1;
    } else {
      std::vector<std::filesystem::path> files;
      if (std::filesystem::is_directory(a)) {
        for (const auto& e : std::filesystem::directory_iterator(a)) files.push_back(e.path());
      } else {
        files.push_back(a);
      }
      std::sort(files.begin(), files.end());
      for (const auto& f : files) {
        std::ifstream in(f, std::ios::binary);
        if (!in) {
          std::fprintf(stderr, "cannot read seed %s\n", f.c_str());
          return 2;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        seeds.push_back(ss.str());
      }
    }
  }
  if (seeds.empty()) seeds.push_back("");
  for (const std::string& s : seeds) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  for (long r = 0; r < runs; ++r) {
    const std::string in = Mutate(seeds[Below(seeds.size())], seeds);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(in.data()), in.size());
  }
  std::printf("%zu seeds and %ld mutated inputs: no crash\n", seeds.size(), runs);
  return 0;
}
