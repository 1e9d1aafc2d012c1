// Test helpers that Debian's Abseil and GoogleTest lack.
//
//   EXPECT_OK(LoadPlugin(path));
//   ASSERT_OK_AND_ASSIGN(Vocab v, Vocab::Load(p));
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("known encoders")));
//   std::string so = uer::testing::RunfilePath("testing/plugins/libuer_encoder_bad_stamp.so");
//   std::string data = uer::testing::SharedDir() + "/data/vocab/google_zh_vocab.txt";
#ifndef UER_TESTING_TEST_UTIL_H_
#define UER_TESTING_TEST_UTIL_H_

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/registry.h"

namespace uer::testing {

// Path of a file in the test's runfiles, given its path from the workspace root.
std::string RunfilePath(const std::string& workspace_relative);
// The shared data folder: $UER_SHARED_DIR, else ../shared beside the source tree. Empty if absent.
std::string SharedDir();
// A fresh folder under $TEST_TMPDIR.
std::string TempDir(const std::string& name);
// The bytes of a file ("" when it cannot be read).
std::string ReadFile(const std::string& path);
// Writes `dir`/vocab.txt in UER-py's layout ([PAD], [unused1..99], [UNK]=100, [CLS]=101, [SEP]=102,
// [MASK]=103), then one token a line for each character of `tokens` (from id 104). Returns the path.
std::string WriteUerVocab(const std::string& dir, const std::string& tokens);

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) { return s.status(); }

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = ::uer::testing::GetStatus(arg);
  *result_listener << "status is " << s;
  return s.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

// Registers a factory for the lifetime of the object (and removes it afterwards).
template <typename FactoryClass>
class ScopedFactoryOverride {
 public:
  ScopedFactoryOverride() {
    auto f = std::make_unique<FactoryClass>();
    kind_ = f->kind();
    name_ = f->name();
    status_ = ::uer::core::registry::Register(std::move(f), "test override");
  }
  ~ScopedFactoryOverride() {
    if (status_.ok()) ::uer::core::registry::Unregister(kind_, name_);
  }
  const absl::Status& status() const { return status_; }

 private:
  ::uer::core::PluginKind kind_;
  std::string name_;
  absl::Status status_;
};

}  // namespace uer::testing

#define EXPECT_OK(expr) EXPECT_TRUE(::uer::testing::GetStatus(expr).ok()) << ::uer::testing::GetStatus(expr)
#define ASSERT_OK(expr)                                          \
  do {                                                           \
    const auto& uer_assert_ok_ = (expr);                         \
    ASSERT_TRUE(::uer::testing::GetStatus(uer_assert_ok_).ok())  \
        << ::uer::testing::GetStatus(uer_assert_ok_);            \
  } while (0)

#define UER_TEST_CONCAT_INNER_(a, b) a##b
#define UER_TEST_CONCAT_(a, b) UER_TEST_CONCAT_INNER_(a, b)
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(UER_TEST_CONCAT_(uer_statusor_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(statusor, lhs, rexpr)        \
  auto statusor = (rexpr);                                      \
  ASSERT_TRUE(statusor.ok()) << statusor.status();              \
  lhs = std::move(statusor).value()

// Skips a test that needs ../shared when it is not there.
#define UER_REQUIRE_SHARED_DATA()                                                  \
  do {                                                                             \
    if (::uer::testing::SharedDir().empty()) GTEST_SKIP() << "no shared data dir"; \
  } while (0)

#endif  // UER_TESTING_TEST_UTIL_H_
