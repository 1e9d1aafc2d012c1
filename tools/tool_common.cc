#include "tools/tool_common.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gflags/gflags.h>
#include <glog/logging.h>
#include <google/protobuf/descriptor.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

#include "core/log.h"
#include "core/runtime/hf_config.h"
#include "core/status_macros.h"
#include "core/runtime/loader.h"

DEFINE_string(plugins, "",
              "Comma-separated paths of plugin shared libraries (or folders of libuer_*.so) to load "
              "after the built-in plugins; $UER_PLUGIN_PATH (':'-separated) is loaded after them.");

DEFINE_string(log_path, "", "Also write the log to this file, appended (UER-py HEAD's --log_path).");
DEFINE_string(log_level, "INFO", "Console log level: ERROR, INFO, DEBUG or NOTSET (uer-cc's finest level is INFO).");
DEFINE_string(log_file_level, "INFO", "--log_path's level: ERROR, INFO, DEBUG or NOTSET.");

namespace uer::tools {

namespace {

// UER-py HEAD's log levels as glog's: its ERROR, and INFO for INFO, DEBUG and NOTSET (uer-cc logs
// nothing finer than INFO). -1 for another name.
int GlogLevel(const std::string& name) {
  if (name == "ERROR") return google::GLOG_ERROR;
  if (name == "INFO" || name == "DEBUG" || name == "NOTSET") return google::GLOG_INFO;
  return -1;
}

// --log_path: every message at or above --log_file_level, as HEAD's file handler writes it
// ("[2026-12-07 21:33:35,123 INFO] message").
class LogFileSink : public google::LogSink {
 public:
  LogFileSink(FILE* file, int level) : file_(file), level_(level) {}
  void send(google::LogSeverity severity, const char*, const char*, int, const struct ::tm* tm,
            const char* message, size_t length) override {
    if (severity < level_) return;
    static const char* const kNames[] = {"INFO", "WARNING", "ERROR", "CRITICAL"};
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count() % 1000;
    std::fprintf(file_, "[%04d-%02d-%02d %02d:%02d:%02d,%03d %s] %.*s\n", tm->tm_year + 1900, tm->tm_mon + 1,
                 tm->tm_mday, tm->tm_hour, tm->tm_min, tm->tm_sec, static_cast<int>(ms),
                 kNames[std::min<int>(severity, 3)], static_cast<int>(length), message);
    std::fflush(file_);
  }

 private:
  FILE* file_;
  int level_;
};

// HEAD's --log_level (the console's), --log_path and --log_file_level; a bad value ends the tool
// with one line naming the flag.
void ConfigureLogging() {
  const int console = GlogLevel(FLAGS_log_level), file = GlogLevel(FLAGS_log_file_level);
  for (const auto& [flag, value, level] : {std::tuple<const char*, const std::string&, int>{"log_level", FLAGS_log_level, console},
                                           {"log_file_level", FLAGS_log_file_level, file}}) {
    if (level < 0) {
      std::cerr << "error: --" << flag << " " << value << ": expected ERROR, INFO, DEBUG or NOTSET" << std::endl;
      std::exit(2);
    }
  }
  if (console > google::GLOG_INFO) {  // stderr from that level on, and no glog files
    FLAGS_logtostderr = false;
    FLAGS_stderrthreshold = console;
    for (int s = google::GLOG_INFO; s < google::NUM_SEVERITIES; ++s) google::SetLogDestination(s, "");
  }
  if (FLAGS_log_path.empty()) return;
  FILE* f = std::fopen(FLAGS_log_path.c_str(), "a");
  if (f == nullptr) {
    std::cerr << "error: --log_path " << FLAGS_log_path << ": " << std::strerror(errno) << std::endl;
    std::exit(2);
  }
  static LogFileSink sink(f, file);
  google::AddLogSink(&sink);
}

// A LibTorch check failing deep inside a module throws; whatever escapes a tool's own error handling
// ends the tool with its first line and status 2 (bad input or config), never an abort with a
// backtrace.
[[noreturn]] void OnTerminate() {
  std::string what = "an unknown exception";
  try {
    if (std::exception_ptr e = std::current_exception()) std::rethrow_exception(e);
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
  }
  if (const size_t nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
  std::cerr << "error: " << what << std::endl;
  std::_Exit(2);
}

// UER-py spells a rank list "--gpu_ranks 0 1 2 3"; gflags would keep the first and leave the others
// as positional arguments. Joins them into "--gpu_ranks=0,1,2,3".
void JoinRankList(int* argc, char*** argv) {
  static std::vector<std::string> storage;
  static std::vector<char*> pointers;
  std::vector<std::string> out;
  for (int i = 0; i < *argc; ++i) {
    const std::string a = (*argv)[i];
    if (a != "--gpu_ranks" && a != "-gpu_ranks") {
      out.push_back(a);
      continue;
    }
    std::string ranks;
    int j = i + 1;
    for (; j < *argc; ++j) {
      const std::string v = (*argv)[j];
      if (v.empty() || v.find_first_not_of("0123456789, ") != std::string::npos) break;
      absl::StrAppend(&ranks, ranks.empty() ? "" : ",", v);
    }
    out.push_back("--gpu_ranks=" + ranks);
    i = j - 1;
  }
  storage = std::move(out);
  pointers.clear();
  for (std::string& s : storage) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  *argc = static_cast<int>(storage.size());
  *argv = pointers.data();
}

// The seed's spellings of flags that uer-cc names as UER-py's code reads them (the seed's scripts
// define --subencoder_type but build the model from args.subencoder).
void RenameSeedFlags(int argc, char** argv) {
  static const struct { const char* seed; const char* ours; } kRenamed[] = {{"subencoder_type", "subencoder"}};
  static std::deque<std::string> storage;  // argv points into it: it never moves its strings
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    for (const auto& r : kRenamed) {
      for (const std::string dash : {"-", "--"}) {
        const std::string seed = dash + r.seed;
        if (a == seed || absl::StartsWith(a, seed + "=")) {
          storage.push_back("--" + std::string(r.ours) + a.substr(seed.size()));
          argv[i] = storage.back().data();
        }
      }
    }
  }
}

// Under `bazel run` a tool starts in its runfiles folder, and the user's relative paths mean the
// folder the command was typed in (BUILD_WORKING_DIRECTORY). Going there before anything is read
// makes every path (inputs, outputs, lists, --plugins) mean what the user meant, and messages name
// it as typed. Elsewhere the current folder is already the user's.
void EnterUsersFolder() {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (dir == nullptr || *dir == '\0') return;
  if (chdir(dir) != 0) {
    std::cerr << "error: cannot enter " << dir << " (BUILD_WORKING_DIRECTORY, the folder bazel run was typed in): "
              << std::strerror(errno) << std::endl;
    std::_Exit(2);
  }
}

// gflags ends a bad command line with exit status 1; a usage error is 2 for uer-cc's tools. So the
// flags are checked first: an unknown one is named with the list of this tool's flags, a value that
// does not parse is named with the flag's type.
void CheckFlags(int argc, char** argv) {
  auto fail = [](const std::string& message) {
    std::cerr << "error: " << message << std::endl;
    std::_Exit(2);
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    a.erase(0, a[1] == '-' ? 2 : 1);
    const size_t eq = a.find('=');
    std::string name = a.substr(0, eq);
    if (name == "help" || name == "helpfull" || name == "helpshort" || name == "version" || name == "flagfile" ||
        name == "fromenv" || name == "tryfromenv" || name == "undefok" || name.rfind("help", 0) == 0) {
      continue;
    }
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(name.c_str(), &info)) {
      if (name.rfind("no", 0) == 0 && gflags::GetCommandLineFlagInfo(name.substr(2).c_str(), &info) && info.type == "bool" &&
          eq == std::string::npos) {
        continue;
      }
      std::vector<std::string> own;
      std::vector<gflags::CommandLineFlagInfo> all;
      gflags::GetAllFlags(&all);
      for (const auto& f : all) {
        if (f.filename.find("gflags") == std::string::npos && f.filename.find("glog") == std::string::npos &&
            f.filename.find("logging") == std::string::npos && f.filename.find("utilities") == std::string::npos &&
            f.filename.find("vlog") == std::string::npos) {
          own.push_back("--" + f.name);
        }
      }
      fail(absl::StrCat("unknown flag --", name, "; this tool's flags: ", absl::StrJoin(own, " ")));
    }
    std::string value;
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
    } else if (info.type == "bool") {
      continue;
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      fail(absl::StrCat("flag --", name, " is missing its value (", info.type, ")"));
    }
    // Parsing the value into a scratch copy of the flag's state would be nicer; gflags parses it into
    // the flag itself, which ParseCommandLineFlags sets again right after.
    if (gflags::SetCommandLineOption(name.c_str(), value.c_str()).empty()) {
      fail(absl::StrCat("--", name, " ", value, ": not a valid ", info.type));
    }
  }
}

}  // namespace

std::vector<std::string>& MutableOriginalArgv() {
  static auto* argv = new std::vector<std::string>();
  return *argv;
}

const std::vector<std::string>& OriginalArgv() { return MutableOriginalArgv(); }

bool FlagIsSet(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

std::string CommandLineValue(int argc, char** argv, const std::string& name) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a.size() < 2 || a[0] != '-') continue;
    a.erase(0, a[1] == '-' ? 2 : 1);
    if (a == name && i + 1 < argc) return argv[i + 1];
    if (absl::StartsWith(a, name + "=")) return a.substr(name.size() + 1);
  }
  return "";
}

namespace {
// A new gflag whose value lives as long as the process (gflags keeps pointers to all of it).
template <typename T>
void NewFlag(const core::PluginOption& o, const std::string& origin, T value) {
  new gflags::FlagRegisterer(strdup(o.name.c_str()), strdup(o.help.c_str()), strdup(origin.c_str()), new T(value),
                             new T(value));
}
}  // namespace

void OfferPluginOptions(const core::FactoryBase& plugin) {
  const std::string origin = absl::StrCat(core::KindName(plugin.kind()), " ", plugin.name());
  for (const core::PluginOption& o : plugin.Options()) {
    const std::string type = core::OptionTypeName(o.type);
    gflags::CommandLineFlagInfo info;
    if (gflags::GetCommandLineFlagInfo(o.name.c_str(), &info)) {
      if (info.type == type) continue;  // the tool's own flag, read by the plugin too
      std::cerr << "error: " << origin << " declares option --" << o.name << " (" << type << "), but this tool's --"
                << o.name << " is " << info.type << std::endl;
      std::_Exit(2);
    }
    bool b = false;
    int64_t i = 0;
    double d = 0;
    switch (o.type) {
      case core::PluginOption::Type::kBool: NewFlag(o, origin, absl::SimpleAtob(o.default_value, &b) && b); break;
      case core::PluginOption::Type::kInt64: NewFlag<int64_t>(o, origin, absl::SimpleAtoi(o.default_value, &i) ? i : 0); break;
      case core::PluginOption::Type::kDouble: NewFlag(o, origin, absl::SimpleAtod(o.default_value, &d) ? d : 0.0); break;
      case core::PluginOption::Type::kString: NewFlag(o, origin, o.default_value); break;
    }
  }
}

std::map<std::string, std::string> PluginOptionValues(const core::FactoryBase& plugin) {
  std::map<std::string, std::string> values;
  for (const core::PluginOption& o : plugin.Options()) {
    gflags::CommandLineFlagInfo info;
    if (gflags::GetCommandLineFlagInfo(o.name.c_str(), &info)) values[o.name] = info.current_value;
  }
  return values;
}

void InitTool(const char* usage, int* argc, char*** argv, const std::function<void(int argc, char** argv)>& before_check) {
  MutableOriginalArgv().assign(*argv, *argv + *argc);
  // MKL may otherwise change its thread count with the machine's load, and with it the rounding of
  // a run: a resumed run would no longer be bit-identical to an uninterrupted one.
  setenv("MKL_DYNAMIC", "FALSE", /*overwrite=*/0);
  std::set_terminate(OnTerminate);
  EnterUsersFolder();
  JoinRankList(argc, argv);
  RenameSeedFlags(*argc, *argv);
  gflags::SetUsageMessage(usage);
  if (before_check) before_check(*argc, *argv);
  CheckFlags(*argc, *argv);
  gflags::SetVersionString("uer-cc 0.1.0");
  gflags::ParseCommandLineFlags(argc, argv, /*remove_flags=*/true);
  FLAGS_logtostderr = true;
  google::InitGoogleLogging((*argv)[0]);
  ConfigureLogging();
  google::InstallFailureSignalHandler();
  // SIGTERM is a request to stop, not a crash: no stack trace. Tools that can stop cleanly
  // (preprocess, pretrain, fine-tuning) install their own handler.
  std::signal(SIGTERM, SIG_DFL);
  // At exit, once main's objects and everything made since are gone (outputs committed, process
  // groups shut down), the process ends without running LibTorch's static destructors: they only
  // free memory, and take 80 ms of every tool's run. The streams are flushed first. Not under
  // the sanitizers, whose reports run after them.
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
  on_exit(
      [](int status, void*) {
        std::cout.flush();
        std::cerr.flush();
        std::fflush(nullptr);
        google::FlushLogFiles(google::GLOG_INFO);
        _exit(status);
      },
      nullptr);
#endif
}

void LoadPluginsFromFlags() { LoadPlugins(FLAGS_plugins); }

void LoadPlugins(const std::string& list) {
  // Built-in plugins load when a name is first looked up; the list and $UER_PLUGIN_PATH now, once
  // (a tool that loads a task's plugin before parsing its flags does not read the files again).
  static std::set<std::string> loaded;
  if (!loaded.insert(list).second) return;
  runtime::EnableLazyBuiltinPlugins();
  absl::Status st = runtime::LoadPluginList(list, ',');
  static bool env_loaded = false;
  if (st.ok() && !env_loaded) {
    env_loaded = true;
    const char* env = std::getenv("UER_PLUGIN_PATH");
    if (env) st = runtime::LoadPluginList(env, ':');
  }
  if (!st.ok()) {
    UER_LOG(ERROR) << st.message();
    std::exit(2);
  }
}

namespace {
// The HuggingFace model folder (with its config.json) that --pretrained_model_path or
// --load_model_path names, as a folder or as its .safetensors file; empty if none.
std::filesystem::path HuggingFaceFolderOfFlags() {
  for (const char* flag : {"pretrained_model_path", "load_model_path"}) {
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(flag, &info) || info.current_value.empty()) continue;
    const std::filesystem::path p(info.current_value);
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::is_directory(p, ec) ? p : p.parent_path();
    if (std::filesystem::exists(dir / "config.json", ec) &&
        (std::filesystem::is_directory(p, ec) || absl::EndsWith(info.current_value, ".safetensors"))) {
      return dir;
    }
  }
  return {};
}
}  // namespace

std::string ResolveVocabPath() {
  gflags::CommandLineFlagInfo vocab;
  if (!gflags::GetCommandLineFlagInfo("vocab_path", &vocab)) return "";
  if (!vocab.current_value.empty()) return vocab.current_value;
  const std::filesystem::path dir = HuggingFaceFolderOfFlags();
  if (dir.empty()) return "";
  std::error_code ec;
  for (const char* file : {"vocab.txt", "tokenizer.json"}) {
    if (std::filesystem::exists(dir / file, ec)) {
      UER_LOG(INFO) << "vocabulary from " << (dir / file).string() << " (HuggingFace)";
      return (dir / file).string();
    }
  }
  return "";
}

absl::StatusOr<core::v1::ModelConfig> ResolveModelConfig(const std::string& config_path) {
  core::v1::ModelConfig config;
  // A HuggingFace model as the weights to start from, without a config: its config.json.
  const std::filesystem::path hf_folder = HuggingFaceFolderOfFlags();
  const std::string hf_config = hf_folder.empty() ? "" : (hf_folder / "config.json").string();
  if (config_path.empty() && !hf_config.empty()) {
    UER_ASSIGN_OR_RETURN(config, runtime::ConfigFromHuggingFace(hf_config));
    UER_LOG(INFO) << "model config from " << hf_config << " (HuggingFace)";
  }
  if (!config_path.empty()) {
    UER_ASSIGN_OR_RETURN(config, runtime::ReadModelConfigFile(config_path));
  }
  // Flags the user gave on the command line win over the file.
  const auto* d = config.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    gflags::CommandLineFlagInfo info;
    if (!gflags::GetCommandLineFlagInfo(f->name().c_str(), &info) || info.is_default) continue;
    absl::Status st = core::SetModelConfigField(f->name(), info.current_value, &config);
    if (!st.ok()) return absl::InvalidArgumentError(absl::StrCat("--", f->name(), ": ", st.message()));
  }
  absl::Status st = core::ValidateModelConfig(config);
  if (!st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the command line's model flags: ", st.message()));
  }
  UER_LOG(INFO) << "resolved model config:\n" << core::ModelConfigToText(config);
  return config;
}

absl::StatusOr<bool> ParseLossNormalization(const std::string& text) {
  if (text == "global") return true;
  if (text == "per_rank") return false;
  return absl::InvalidArgumentError(absl::StrCat("--loss_normalization must be global or per_rank, got \"", text, "\""));
}

absl::StatusOr<std::vector<int>> ParseGpuRanks(const std::string& text) {
  std::vector<int> ranks;
  for (absl::string_view r : absl::StrSplit(text, absl::ByAnyChar(", "), absl::SkipWhitespace())) {
    int rank;
    if (!absl::SimpleAtoi(r, &rank) || rank < 0) {
      return absl::InvalidArgumentError(absl::StrCat("--gpu_ranks must be comma-separated integers >= 0, got \"", text, "\""));
    }
    ranks.push_back(rank);
  }
  return ranks;
}


int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  UER_LOG(ERROR) << status.message();
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
      return 2;
    default:
      return 1;
  }
}

}  // namespace uer::tools
