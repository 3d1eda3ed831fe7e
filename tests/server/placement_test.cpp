// tests/server/placement_test.cpp: the negotiated host (placement.hpp):
// pinned hosts, requirements (labels, memory, CPUs) with the reason a host
// is refused, the least loaded chosen and the reason naming the runner-up;
// and what a weftd says of its host (host_info.hpp).
#include "server/placement.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include "server/host_info.hpp"
#include "wire/version.hpp"

namespace {

namespace v1 = weft::runtime::v1;
using weft::server::place;
using weft::server::requirements;

constexpr std::uint64_t GiB = std::uint64_t{1} << 30;

v1::HostInfo host(const std::string& name, double load, std::uint32_t cpus, std::uint32_t workers,
                  std::uint64_t mem_available, std::map<std::string, std::string> labels = {}) {
  v1::HostInfo h;
  h.set_name(name);
  h.set_load1(load);
  h.set_cpus(cpus);
  h.set_workers(workers);
  h.set_mem_available(mem_available);
  for (auto& [k, v] : labels) (*h.mutable_labels())[k] = v;
  return h;
}

TEST(Placement, TheLeastLoadedPerCpuIsChosenAndTheReasonNamesTheRunnerUp) {
  std::vector<v1::HostInfo> hosts{host("a", 1.9, 2, 0, 4 * GiB), host("b", 0.4, 4, 3, 7 * GiB),
                                  host("c", 3.0, 4, 0, 8 * GiB)};
  auto p = place({}, hosts, "a");
  ASSERT_EQ(p.chosen, 1);
  EXPECT_EQ(p.reason, "b: load 0.40/4 CPUs, 3 workers, 7.0 GiB free; over c: load 3.00/4 CPUs, 0 workers, 8.0 GiB free");
}

TEST(Placement, EqualLoadsGoToFewerWorkersThenMoreMemoryThenThisHost) {
  // 0.10 and 0.12 per CPU count as equal: workers per CPU decide.
  auto p = place({}, {host("a", 0.2, 2, 4, GiB), host("b", 0.48, 4, 4, GiB)}, "a");
  EXPECT_EQ(p.chosen, 1);
  p = place({}, {host("a", 0, 2, 0, GiB), host("b", 0, 2, 0, 2 * GiB)}, "a");
  EXPECT_EQ(p.chosen, 1);
  p = place({}, {host("a", 0, 2, 0, GiB), host("b", 0, 2, 0, GiB)}, "b");
  EXPECT_EQ(p.chosen, 1);
  p = place({}, {host("b", 0, 2, 0, GiB), host("a", 0, 2, 0, GiB)}, "z");
  EXPECT_EQ(p.chosen, 1);  // by name, whatever the order
}

TEST(Placement, HostsThatLackARequirementAreNotCandidates) {
  std::vector<v1::HostInfo> hosts{host("a", 0, 8, 0, 16 * GiB, {{"zone", "a"}}),
                                  host("b", 5, 2, 9, 2 * GiB, {{"zone", "b"}, {"disk", "ssd"}})};
  requirements r;
  r.labels = {{"zone", "b"}};
  EXPECT_EQ(place(r, hosts, "a").chosen, 1);
  r = {};
  r.min_memory = 4 * GiB;
  EXPECT_EQ(place(r, hosts, "b").chosen, 0);
  r = {};
  r.min_cpus = 4;
  EXPECT_EQ(place(r, hosts, "b").chosen, 0);
}

TEST(Placement, NoHostMeetingTheRequirementsIsRefusedSayingWhatEachLacks) {
  std::vector<v1::HostInfo> hosts{host("a", 0, 2, 0, GiB, {{"zone", "a"}}), host("b", 0, 2, 0, GiB)};
  requirements r;
  r.labels = {{"zone", "c"}};
  r.min_memory = 2 * GiB;
  r.min_cpus = 3;
  auto p = place(r, hosts, "a");
  EXPECT_EQ(p.chosen, -1);
  EXPECT_EQ(p.error, v1::Error::REFUSED);
  EXPECT_EQ(p.reason,
            "no host meets the spawn's requirements: a: label zone=a, not c, 1.0 GiB available, under the 2.0 GiB "
            "asked, 2 CPUs, under the 3 asked; b: no label zone, 1.0 GiB available, under the 2.0 GiB asked, 2 CPUs, "
            "under the 3 asked");
  p = place({}, {}, "a");
  EXPECT_EQ(p.chosen, -1);
  EXPECT_NE(p.reason.find("no host is known"), std::string::npos);
}

TEST(Placement, APinnedHostIsThatHostOrNotFoundOrRefused) {
  std::vector<v1::HostInfo> hosts{host("a", 0, 2, 0, GiB), host("b", 9, 2, 9, GiB)};
  requirements r;
  r.host = "b";
  auto p = place(r, hosts, "a");
  EXPECT_EQ(p.chosen, 1);  // pinned beats load
  EXPECT_EQ(p.reason, "b: load 9.00/2 CPUs, 9 workers, 1.0 GiB free (pinned)");
  r.host = "nowhere";
  p = place(r, hosts, "a");
  EXPECT_EQ(p.error, v1::Error::NOT_FOUND);
  EXPECT_EQ(p.reason, "no host \"nowhere\" in this circuit; its hosts: a, b");
  r.host = "a";
  r.min_cpus = 64;
  p = place(r, hosts, "a");
  EXPECT_EQ(p.error, v1::Error::REFUSED);
  EXPECT_EQ(p.reason, "host a does not meet the spawn's requirements: 2 CPUs, under the 64 asked");
}

TEST(HostInfo, DescribesThisHostFromTheKernel) {
  weft::server::host_identity id{"alpha", "tcp:10.0.0.1:7070", {{"zone", "a"}}, 1234};
  v1::HostInfo h = weft::server::collect_host_info(id, 3);
  EXPECT_EQ(h.name(), "alpha");
  EXPECT_EQ(h.address(), "tcp:10.0.0.1:7070");
  EXPECT_EQ(h.labels().at("zone"), "a");
  EXPECT_EQ(h.workers(), 3u);
  EXPECT_EQ(h.started_unix_ms(), 1234);
  EXPECT_GE(h.cpus(), 1u);
  EXPECT_LE(h.cpus(), static_cast<std::uint32_t>(::sysconf(_SC_NPROCESSORS_CONF)));
  EXPECT_GT(h.mem_total(), 0u);
  EXPECT_GT(h.mem_available(), 0u);
  EXPECT_LE(h.mem_available(), h.mem_total());
  EXPECT_GE(h.load1(), 0.0);
  EXPECT_EQ(h.version(), weft::wire::version_text());
}

TEST(HostInfo, LabelsAndHostNamesAreChecked) {
  std::string k, v, why;
  EXPECT_TRUE(weft::server::parse_label("zone=eu-west/1", k, v, why));
  EXPECT_EQ(k, "zone");
  EXPECT_EQ(v, "eu-west/1");
  EXPECT_TRUE(weft::server::parse_label("empty=", k, v, why));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(weft::server::parse_label("novalue", k, v, why));
  EXPECT_NE(why.find("NAME=VALUE"), std::string::npos);
  EXPECT_FALSE(weft::server::parse_label("=x", k, v, why));
  EXPECT_FALSE(weft::server::parse_label("a b=c", k, v, why));
  EXPECT_FALSE(weft::server::parse_label("a=b c", k, v, why));
  std::string long_name(64, 'k');
  long_name += "=v";
  EXPECT_FALSE(weft::server::parse_label(long_name, k, v, why));
  EXPECT_TRUE(weft::server::valid_host_name("host-1.example_a"));
  EXPECT_FALSE(weft::server::valid_host_name(""));
  EXPECT_FALSE(weft::server::valid_host_name("a/b"));
  EXPECT_FALSE(weft::server::valid_host_name(std::string(64, 'h')));
}

}  // namespace
