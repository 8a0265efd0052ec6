// The gather step of `nf_conntrack_exporter doctor`: runs the sysctl and stat collectors around
// a sampling window, reads the kernel log's backlog with the kmsg reader and dumps the table
// once with the table collector's dumper, into Facts. No HTTP server, nothing written anywhere.
// Called once by the doctor command on its own thread; the seams let tests use fixture roots.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "collectors/env.h"
#include "collectors/kmsg/kmsg_device.h"
#include "collectors/table/table_dumper.h"
#include "exporter/doctor/doctor_facts.h"

namespace nfct::doctor {

struct NetnsIdentity {
  std::optional<uint64_t> inode;  // of /proc/self/ns/net
  bool initial = true;            // nf_conntrack_buckets is writable only in the initial netns
};

struct GatherInputs {
  Env env;
  std::chrono::milliseconds window{5000};
  size_t top_ports = 5;
  KmsgOpener kmsg;                     // opens the kernel log; empty: not read
  std::unique_ptr<TableSource> table;  // dumps the table; null: not dumped
  // Sleeps; tests replace it to change the fixture between the two readings.
  std::function<void(std::chrono::milliseconds)> sleep;
  std::function<NetnsIdentity()> identity;
  // Every namespace on the host, fullest first; empty function: not available. Asked only in
  // the initial netns.
  std::function<std::optional<std::vector<NamespaceUsage>>()> namespaces;
  bool walk_namespaces = false;  // without `namespaces`: walk them with the netns walker
};

// The inputs that read this machine: /dev/kmsg, netlink, the real clock and netns.
GatherInputs LiveInputs(Env env, std::chrono::milliseconds window, size_t top_ports);

Facts Gather(GatherInputs inputs);

// The object size of a slab cache in /proc/slabinfo ("nf_conntrack 64 128 256 16 1 : ..." →
// 256), or nullopt. Pure.
std::optional<uint64_t> SlabObjectSize(std::string_view slabinfo, std::string_view cache);
// MemTotal of /proc/meminfo in bytes ("MemTotal:       24683548 kB"), or nullopt. Pure.
std::optional<uint64_t> MemTotalBytes(std::string_view meminfo);

}  // namespace nfct::doctor
