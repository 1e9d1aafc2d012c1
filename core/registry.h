// One registry per plugin kind, keyed by the name UER-py uses ("bert", "lstm", "char", ...).
//
// A plugin registers a factory with one line at the end of its .cc:
//
//   UER_REGISTER_FACTORY(LstmEncoderFactory);
//
// Static initializers only *enqueue* the factory. Core's loader (core/runtime/loader.h) opens a plugin,
// checks its version stamp and then commits the queued factories with the plugin's path as their
// origin, or discards them. Factories linked into a binary directly are committed lazily as
// "builtin". Lookups:
//
//   UER_ASSIGN_OR_RETURN(const EncoderFactory* f, FindFactory<EncoderFactory>("lstm"));
#ifndef UER_CORE_REGISTRY_H_
#define UER_CORE_REGISTRY_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace uer::core {

// kTargetData: the torch-free data side of a target (core/target_data.h), under the target's name.
enum class PluginKind { kEmbedding, kEncoder, kTarget, kTokenizer, kSubencoder, kTask, kTargetData };

// "embedding", "encoder", ... as used in messages and in list_plugins.
const char* KindName(PluginKind kind);
// All kinds, in a fixed order.
const std::vector<PluginKind>& AllKinds();

// An option a plugin reads. The tools that run the plugin offer it as a flag --NAME (a tool flag of
// the same name and type is shared); the plugin gets the values as text, defaults filled in.
struct PluginOption {
  enum class Type { kBool, kInt64, kDouble, kString };
  std::string name;
  Type type = Type::kString;
  std::string default_value;  // as typed on a command line: "false", "128", "0.5", ""
  std::string help;
};
const char* OptionTypeName(PluginOption::Type type);  // "bool", "int64", "double", "string"
// `declared`'s values: `given`'s where it has one, else the default; names `given` has beyond the
// declared ones stay. A value that does not parse as its type is InvalidArgument naming --NAME.
absl::StatusOr<std::map<std::string, std::string>> ResolveOptions(const std::vector<PluginOption>& declared,
                                                                  std::map<std::string, std::string> given);

// Base of every factory. Each kind derives an interface from it (EncoderFactory, ...).
class FactoryBase {
 public:
  virtual ~FactoryBase();
  virtual PluginKind kind() const = 0;
  // The registered name. Built-ins use UER-py's spelling; third parties use a dotted name.
  virtual std::string name() const = 0;
  virtual std::string help() const = 0;
  virtual std::string stability() const { return "stable"; }
  // The options this plugin reads (a task's --doc_stride, ...), offered by the tools as flags.
  virtual std::vector<PluginOption> Options() const { return {}; }
};

struct RegistryEntry {
  PluginKind kind;
  std::string name;
  std::string origin;  // "builtin" or the canonical path of the plugin's .so
  const FactoryBase* factory;
};

namespace registry {

// Registers `factory` under its kind and name. A name that exists already is AlreadyExists and the
// message names both origins.
absl::Status Register(std::unique_ptr<FactoryBase> factory, const std::string& origin);
// Removes a registration (for tests: testing/test_util.h).
void Unregister(PluginKind kind, std::string_view name);
// NotFound lists the sorted names of that kind, and a close name if there is one. Before it says
// NotFound it asks the resolver (the loader's lazy built-in plugins) to load that name.
absl::StatusOr<const FactoryBase*> Find(PluginKind kind, std::string_view name);
// `resolve(kind, name)` loads what provides that name, if it can (returns whether it loaded
// anything); `resolve_all()` loads everything it knows, so that an error can list every name.
void SetResolver(std::function<bool(PluginKind, const std::string&)> resolve, std::function<void()> resolve_all);
std::vector<std::string> Names(PluginKind kind);
// Asks the resolver to load everything it knows (the built-in plugins), so that Names and List
// show every name.
void ResolveAll();
// Whether (kind, name) is registered now; loads nothing.
bool IsRegistered(PluginKind kind, const std::string& name);
// Every registration, sorted by kind, then name.
std::vector<RegistryEntry> List();

}  // namespace registry

namespace internal {
// Called by UER_REGISTER_FACTORY's static object. Inside a LoadingScope (the loader opening a plugin
// on this thread) the factory goes to that scope; otherwise it is linked into the binary and is
// committed as "builtin" at the next lookup. So a lookup on another thread never commits a plugin
// that is being loaded.
void EnqueueRegistration(std::unique_ptr<FactoryBase> factory);
// The loader's scope around dlopen on the current thread.
class LoadingScope {
 public:
  LoadingScope();
  ~LoadingScope();
  LoadingScope(const LoadingScope&) = delete;
  LoadingScope& operator=(const LoadingScope&) = delete;
  // The factories the plugin registered while the scope was open.
  std::vector<std::unique_ptr<FactoryBase>> Take();

 private:
  friend void EnqueueRegistration(std::unique_ptr<FactoryBase> factory);
  std::vector<std::unique_ptr<FactoryBase>> pending_;
  LoadingScope* previous_;
};
// Commits queued factories as "builtin" (registrations linked into the binary). Returns the first
// error, which is also logged.
absl::Status CommitPendingAsBuiltin();

class Registrar {
 public:
  explicit Registrar(std::unique_ptr<FactoryBase> factory) {
    EnqueueRegistration(std::move(factory));
  }
};
}  // namespace internal

// Finds the factory of interface type F (which declares `static constexpr PluginKind kKind`).
template <typename F>
absl::StatusOr<const F*> FindFactory(std::string_view name) {
  absl::StatusOr<const FactoryBase*> base = registry::Find(F::kKind, name);
  if (!base.ok()) return base.status();
  const F* typed = dynamic_cast<const F*>(*base);
  if (typed == nullptr) {
    return absl::InternalError(std::string(KindName(F::kKind)) + " \"" + std::string(name) +
                               "\" does not implement the expected interface");
  }
  return typed;
}

}  // namespace uer::core

#define UER_REGISTRY_CONCAT_INNER_(a, b) a##b
#define UER_REGISTRY_CONCAT_(a, b) UER_REGISTRY_CONCAT_INNER_(a, b)

// Registers a factory class (default-constructible, derived from one kind's factory interface).
#define UER_REGISTER_FACTORY(FactoryClass)                                                   \
  static_assert(std::is_base_of<::uer::core::FactoryBase, FactoryClass>::value,              \
                #FactoryClass " must derive from a uer factory interface");                 \
  static ::uer::core::internal::Registrar UER_REGISTRY_CONCAT_(uer_registrar_, __COUNTER__)( \
      std::unique_ptr<::uer::core::FactoryBase>(new FactoryClass()))

#endif  // UER_CORE_REGISTRY_H_
