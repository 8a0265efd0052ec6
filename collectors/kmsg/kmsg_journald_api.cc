#include "collectors/kmsg/kmsg_journald_api.h"

#include <dlfcn.h>

#include <memory>
#include <utility>

namespace nfct {

LoadedSdJournal LoadSdJournalFrom(const char* library) {
  // RTLD_LOCAL: its symbols are reached only through the table below.
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return {nullptr, std::string("journald support needs ") + library +
                         " (Debian package libsystemd0), which cannot be loaded: " +
                         (why != nullptr ? why : "unknown error")};
  }
  auto api = std::make_unique<SdJournalApi>();
#define NFCT_SD_JOURNAL_RESOLVE(name)                                    \
  api->name = reinterpret_cast<decltype(&::name)>(dlsym(handle, #name)); \
  if (api->name == nullptr) {                                            \
    dlclose(handle);                                                     \
    return {nullptr, std::string(library) + " has no " #name};           \
  }
  NFCT_SD_JOURNAL_FUNCTIONS(NFCT_SD_JOURNAL_RESOLVE)
#undef NFCT_SD_JOURNAL_RESOLVE
  // The handle stays open for the life of the process: the journal may be reopened at any time.
  return {std::move(api), ""};
}

const LoadedSdJournal& LoadSdJournal() {
  static const LoadedSdJournal loaded = LoadSdJournalFrom(kLibsystemd);
  return loaded;
}

}  // namespace nfct
