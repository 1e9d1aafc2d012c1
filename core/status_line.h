// One status line at the bottom of a terminal (the progress of a long tool: core/runtime/progress.h),
// kept apart from the log: each UER_LOG message first clears the line, then draws it again under
// the message. Standard error only, and only when it is a terminal; elsewhere nothing is drawn, so
// logs and CI output hold the plain report lines alone. Not part of the plugin SDK.
#ifndef UER_CORE_STATUS_LINE_H_
#define UER_CORE_STATUS_LINE_H_

#include <string>

namespace uer::log {

// Whether a status line is drawn: standard error is a terminal, TERM is not "dumb", and
// UER_PROGRESS is not "0".
bool StatusLineEnabled();
// Draws `line` in place of the current one (cut to the terminal's width); "" clears it.
void SetStatusLine(const std::string& line);

}  // namespace uer::log

#endif  // UER_CORE_STATUS_LINE_H_
