// Benchmark of the refused collector's BPF program (root; prints numbers, asserts nothing): what
// it adds to the sender's cost of a new flow, of a refused packet and of a packet of an
// established flow. Each case is timed alternately without and with the program attached, in
// test namespaces of its own (tests/support/netns_fixture.h); the difference of the medians is
// the program's cost as the sending CPU pays it (the kernel runs it inline, in the sender's
// context). Run under the machine-wide lock:
//   flock /tmp/nfct-exclusive.lock build/ci/tests/bench/refused_bench [PACKETS] [ROUNDS]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "collectors/refused/refused_loader.h"
#include "tests/support/netns_fixture.h"

namespace nfct::testing {
namespace {

// ns per sendto of `packets` datagrams to 198.19.0.1, port chosen by `port_of(i)`.
double SendLoop(const TestNetns& ns, int packets, const std::function<uint16_t(int)>& port_of) {
  return ns.Within([&] {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    inet_pton(AF_INET, "198.19.0.1", &to.sin_addr);
    auto begin = std::chrono::steady_clock::now();
    for (int i = 0; i < packets; ++i) {
      to.sin_port = htons(port_of(i));
      sendto(fd, "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    auto elapsed = std::chrono::steady_clock::now() - begin;
    close(fd);
    return std::chrono::duration<double, std::nano>(elapsed).count() / packets;
  });
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::unique_ptr<RefusedSource> Attach() {
  auto loaded = RefusedProgram::Load("/sys", 4096, {});
  if (!loaded.source) {
    std::fprintf(stderr, "cannot load: %s\n", loaded.status.reason().c_str());
    std::exit(1);
  }
  return std::move(loaded.source);
}

// One case: `setup` gives a namespace to send in (fresh per measurement when asked), `port_of`
// the destination of packet i. Prints both medians and the difference.
void Case(const char* name, int packets, int rounds, bool fresh_netns_each_time,
          const std::function<std::unique_ptr<TestNetns>()>& setup,
          const std::function<uint16_t(int)>& port_of) {
  std::vector<double> without, with;
  std::unique_ptr<TestNetns> shared = fresh_netns_each_time ? nullptr : setup();
  for (int round = 0; round < rounds; ++round) {
    // Which goes first alternates, so a drift over the run (the shared hash growing, a busy
    // neighbour) does not land on one side.
    for (bool attached : {round % 2 == 1, round % 2 == 0}) {
      std::unique_ptr<TestNetns> own = fresh_netns_each_time ? setup() : nullptr;
      const TestNetns& ns = own ? *own : *shared;
      std::unique_ptr<RefusedSource> program = attached ? Attach() : nullptr;
      (attached ? with : without).push_back(SendLoop(ns, packets, port_of));
    }
  }
  double a = Median(without), b = Median(with);
  std::printf("%-34s without %8.0f ns  with %8.0f ns  added %+6.0f ns per packet (%d x %d)\n", name,
              a, b, b - a, rounds, packets);
}

}  // namespace
}  // namespace nfct::testing

int main(int argc, char** argv) {
  using namespace nfct::testing;
  if (auto why = KernelSkipReason(); !why.empty()) {
    std::fprintf(stderr, "cannot run: %s\n", why.c_str());
    return 1;
  }
  int packets = argc > 1 ? std::atoi(argv[1]) : 50000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  packets = std::clamp(packets, 1000, 60000);  // one port per new flow, below the table limit
  auto plain = [] { return std::make_unique<TestNetns>("refbench"); };
  auto full = [] {
    auto ns = std::make_unique<TestNetns>("refbenchfull");
    ns->FillToMax();
    return ns;
  };
  // A new flow per packet: conntrack makes an entry, the packet leaves by the sink veth.
  Case("new flow (distinct ports)", packets, rounds, true, plain,
       [](int i) { return static_cast<uint16_t>(1024 + i); });
  // One flow: after the first packet every lookup finds the entry.
  Case("established flow (one port)", packets, rounds, false, plain,
       [](int) { return static_cast<uint16_t>(5353); });
  // The table is full: every packet is refused (EPERM), the program counts each.
  Case("refused packet (full table)", packets, rounds, false, full,
       [](int i) { return static_cast<uint16_t>(6000 + i % 8); });
  return 0;
}
