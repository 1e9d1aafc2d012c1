#include "core/registry.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"

namespace uer::core {

FactoryBase::~FactoryBase() = default;

const char* KindName(PluginKind kind) {
  switch (kind) {
    case PluginKind::kEmbedding: return "embedding";
    case PluginKind::kEncoder: return "encoder";
    case PluginKind::kTarget: return "target";
    case PluginKind::kTokenizer: return "tokenizer";
    case PluginKind::kSubencoder: return "subencoder";
    case PluginKind::kTask: return "task";
    case PluginKind::kTargetData: return "target_data";
  }
  return "unknown";
}

const char* OptionTypeName(PluginOption::Type type) {
  switch (type) {
    case PluginOption::Type::kBool: return "bool";
    case PluginOption::Type::kInt64: return "int64";
    case PluginOption::Type::kDouble: return "double";
    case PluginOption::Type::kString: return "string";
  }
  return "unknown";
}

namespace {
bool ParsesAs(PluginOption::Type type, const std::string& value) {
  bool b;
  int64_t i;
  double d;
  switch (type) {
    case PluginOption::Type::kBool: return absl::SimpleAtob(value, &b);
    case PluginOption::Type::kInt64: return absl::SimpleAtoi(value, &i);
    case PluginOption::Type::kDouble: return absl::SimpleAtod(value, &d);
    case PluginOption::Type::kString: return true;
  }
  return false;
}
}  // namespace

absl::StatusOr<std::map<std::string, std::string>> ResolveOptions(const std::vector<PluginOption>& declared,
                                                                  std::map<std::string, std::string> given) {
  for (const PluginOption& o : declared) {
    auto [it, added] = given.emplace(o.name, o.default_value);
    if (!ParsesAs(o.type, it->second)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", o.name, " ", it->second, ": not a valid ", OptionTypeName(o.type)));
    }
  }
  return given;
}

const std::vector<PluginKind>& AllKinds() {
  static const auto* kinds = new std::vector<PluginKind>{
      PluginKind::kEmbedding, PluginKind::kEncoder,    PluginKind::kTarget,
      PluginKind::kTokenizer, PluginKind::kSubencoder, PluginKind::kTask,
      PluginKind::kTargetData};
  return *kinds;
}

namespace {

struct Slot {
  std::unique_ptr<FactoryBase> factory;
  std::string origin;
};

struct State {
  std::mutex mu;
  std::map<std::pair<PluginKind, std::string>, Slot> entries;
  std::mutex pending_mu;
  std::vector<std::unique_ptr<FactoryBase>> pending;
  std::function<bool(PluginKind, const std::string&)> resolve;
  std::function<void()> resolve_all;
};

State& GetState() {
  static State* state = new State();  // never destroyed: plugins are never unloaded either
  return *state;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cur = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = cur;
    }
  }
  return row[b.size()];
}

}  // namespace

namespace internal {

namespace {
thread_local LoadingScope* current_scope = nullptr;
}  // namespace

LoadingScope::LoadingScope() : previous_(current_scope) { current_scope = this; }
LoadingScope::~LoadingScope() { current_scope = previous_; }
std::vector<std::unique_ptr<FactoryBase>> LoadingScope::Take() { return std::exchange(pending_, {}); }

void EnqueueRegistration(std::unique_ptr<FactoryBase> factory) {
  if (current_scope != nullptr) {
    current_scope->pending_.push_back(std::move(factory));
    return;
  }
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.pending_mu);
  s.pending.push_back(std::move(factory));
}

std::vector<std::unique_ptr<FactoryBase>> TakePendingRegistrations() {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.pending_mu);
  return std::exchange(s.pending, {});
}

absl::Status CommitPendingAsBuiltin() {
  absl::Status first;
  for (auto& f : TakePendingRegistrations()) {
    absl::Status st = registry::Register(std::move(f), "builtin");
    if (!st.ok()) {
      UER_LOG(ERROR) << st.message();
      if (first.ok()) first = st;
    }
  }
  return first;
}

}  // namespace internal

namespace registry {

absl::Status Register(std::unique_ptr<FactoryBase> factory, const std::string& origin) {
  State& s = GetState();
  const PluginKind kind = factory->kind();
  std::string name = factory->name();
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", KindName(kind), " factory from ", origin, " has an empty name"));
  }
  std::lock_guard<std::mutex> lock(s.mu);
  auto key = std::make_pair(kind, name);
  auto it = s.entries.find(key);
  if (it != s.entries.end()) {
    return absl::AlreadyExistsError(absl::StrCat(KindName(kind), " \"", name,
                                                 "\" is registered twice: by ", it->second.origin,
                                                 " and by ", origin));
  }
  s.entries.emplace(std::move(key), Slot{std::move(factory), origin});
  return absl::OkStatus();
}

void Unregister(PluginKind kind, std::string_view name) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.entries.erase(std::make_pair(kind, std::string(name)));
}

std::vector<std::string> Names(PluginKind kind) {
  internal::CommitPendingAsBuiltin().IgnoreError();
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<std::string> names;
  for (const auto& [key, slot] : s.entries) {
    if (key.first == kind) names.push_back(key.second);
  }
  return names;  // std::map keeps them sorted
}

void ResolveAll() {
  State& s = GetState();
  std::function<void()> resolve_all;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    resolve_all = s.resolve_all;
  }
  if (resolve_all) resolve_all();
}

bool IsRegistered(PluginKind kind, const std::string& name) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  return s.entries.count(std::make_pair(kind, name)) > 0;
}

void SetResolver(std::function<bool(PluginKind, const std::string&)> resolve, std::function<void()> resolve_all) {
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  s.resolve = std::move(resolve);
  s.resolve_all = std::move(resolve_all);
}

absl::StatusOr<const FactoryBase*> Find(PluginKind kind, std::string_view name) {
  internal::CommitPendingAsBuiltin().IgnoreError();
  State& s = GetState();
  auto lookup = [&]() -> const FactoryBase* {
    std::lock_guard<std::mutex> lock(s.mu);
    auto it = s.entries.find(std::make_pair(kind, std::string(name)));
    return it == s.entries.end() ? nullptr : it->second.factory.get();
  };
  if (const FactoryBase* f = lookup()) return f;
  std::function<bool(PluginKind, const std::string&)> resolve;
  std::function<void()> resolve_all;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    resolve = s.resolve;
    resolve_all = s.resolve_all;
  }
  if (resolve && resolve(kind, std::string(name))) {
    if (const FactoryBase* f = lookup()) return f;
  }
  if (resolve_all) resolve_all();
  std::vector<std::string> known = Names(kind);
  std::string message = absl::StrCat("unknown ", KindName(kind), " \"", std::string(name), "\"; known ",
                                     KindName(kind), "s: ",
                                     known.empty() ? "(none loaded)" : absl::StrJoin(known, ", "));
  std::string best;
  size_t best_distance = 3;
  for (const std::string& k : known) {
    size_t d = EditDistance(name, k);
    if (d < best_distance) best_distance = d, best = k;
  }
  if (!best.empty()) absl::StrAppend(&message, " (did you mean \"", best, "\"?)");
  return absl::NotFoundError(message);
}

std::vector<RegistryEntry> List() {
  internal::CommitPendingAsBuiltin().IgnoreError();
  State& s = GetState();
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<RegistryEntry> out;
  for (const auto& [key, slot] : s.entries) {
    out.push_back(RegistryEntry{key.first, key.second, slot.origin, slot.factory.get()});
  }
  return out;
}

}  // namespace registry
}  // namespace uer::core
