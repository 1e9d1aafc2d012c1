// The uer logging facade. Files that include torch headers must not include glog (their LOG/CHECK
// macros clash), so all of uer-cc logs through this; log.cc is the one file that includes glog.
//
//   UER_LOG(INFO) << "loaded " << n << " plugins";
//   UER_LOG(WARNING) << "unknown key " << key;
#ifndef UER_CORE_LOG_H_
#define UER_CORE_LOG_H_

#include <sstream>

namespace uer::log {

enum class Severity { kINFO = 0, kWARNING = 1, kERROR = 2, kFATAL = 3 };

// Collects one message and hands it to the backend (glog) when destroyed.
class Message {
 public:
  Message(Severity severity, const char* file, int line);
  ~Message();
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Severity severity_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

}  // namespace uer::log

#define UER_LOG(severity) \
  ::uer::log::Message(::uer::log::Severity::k##severity, __FILE__, __LINE__).stream()

#endif  // UER_CORE_LOG_H_
