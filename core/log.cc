// The only file of uer-cc that includes glog (see log.h).
#include "core/log.h"

#include <glog/logging.h>

namespace uer::log {

Message::Message(Severity severity, const char* file, int line)
    : severity_(severity), file_(file), line_(line) {}

Message::~Message() {
  google::LogMessage(file_, line_, static_cast<google::LogSeverity>(severity_)).stream()
      << stream_.str();
}

}  // namespace uer::log
