// ScopedCapability and KeepOnlyCapabilities on threads of their own: capabilities are per
// thread, so each test changes only a thread that ends with it.
#include "collectors/privilege.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <thread>

#include "exporter/capabilities.h"

namespace nfct {
namespace {

constexpr unsigned long long Bit(Capability capability) {
  return 1ull << static_cast<int>(capability);
}

template <typename Fn>
void OnThread(Fn fn) {
  std::thread(fn).join();
}

TEST(ScopedCapability, RaisesOnlyWhilePresentAndOnlyOnItsThread) {
  if ((CurrentCapabilities().permitted & Bit(Capability::kNetAdmin)) == 0) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN in the permitted set (run as root)";
  }
  OnThread([] {
    auto state = KeepOnlyCapabilities({Capability::kNetAdmin});
    ASSERT_EQ(state.error, "");
    EXPECT_EQ(state.held, "net_admin");
    EXPECT_EQ(CurrentCapabilities().effective, 0u);
    EXPECT_EQ(CurrentCapabilities().permitted, Bit(Capability::kNetAdmin));
    {
      ScopedCapability net_admin(Capability::kNetAdmin);
      EXPECT_EQ(CurrentCapabilities().effective, Bit(Capability::kNetAdmin));
      // Another thread started now inherits it, but this test's point is the reverse: the
      // main test thread never saw it.
    }
    EXPECT_EQ(CurrentCapabilities().effective, 0u);
    {
      // Not permitted: nothing happens, and errno is the guarded call's business.
      errno = EPERM;
      ScopedCapability syslog(Capability::kSyslog);
      EXPECT_EQ(errno, EPERM);
      EXPECT_EQ(CurrentCapabilities().effective, 0u);
    }
  });
  // The test thread's own sets are untouched by what the other thread did.
  EXPECT_NE(CurrentCapabilities().effective & Bit(Capability::kNetAdmin), 0u);
}

TEST(ScopedCapability, AnAlreadyEffectiveCapabilityStaysEffective) {
  if ((CurrentCapabilities().effective & Bit(Capability::kNetAdmin)) == 0) {
    GTEST_SKIP() << "needs CAP_NET_ADMIN in the effective set (run as root)";
  }
  OnThread([] {
    { ScopedCapability net_admin(Capability::kNetAdmin); }
    EXPECT_NE(CurrentCapabilities().effective & Bit(Capability::kNetAdmin), 0u);
  });
}

TEST(KeepOnlyCapabilities, NothingNeededDropsEverything) {
  OnThread([] {
    auto state = KeepOnlyCapabilities({});
    EXPECT_EQ(state.error, "");
    EXPECT_EQ(state.held, "none");
    EXPECT_EQ(CurrentCapabilities().permitted, 0u);
    EXPECT_EQ(CurrentCapabilities().effective, 0u);
  });
}

TEST(NeededCapabilities, UnionInCapabilityOrder) {
  EXPECT_EQ(NeededCapabilities({{Capability::kSyslog},
                                {},
                                {Capability::kNetAdmin},
                                {Capability::kNetAdmin, Capability::kSyslog}}),
            (std::vector<Capability>{Capability::kNetAdmin, Capability::kSyslog}));
}

TEST(CapabilityName, NamesAsTheManPagesDo) {
  EXPECT_EQ(CapabilityShortName(Capability::kSyslog), "syslog");
  EXPECT_EQ(CapabilityShortName(Capability::kSysAdmin), "sys_admin");
}

}  // namespace
}  // namespace nfct
