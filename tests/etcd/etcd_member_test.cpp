// tests/etcd/etcd_member_test.cpp: weftd as one host of many
// (src/cluster/etcd_member.hpp) against a real etcd: two members see each
// other's hosts; a worker's entries are listed by the other member from
// its start to its end; a member's stop removes its entries at once; a
// second member under a taken name is refused (M3).
#include "cluster/etcd_member.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <weft/weft.hpp>

#include "etcd/etcd_fixture.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
using weft::cluster::etcd_member;
using weft::cluster::member_options;
namespace v1 = weft::runtime::v1;

class EtcdMember : public weft_test::etcd_test {
 protected:
  std::unique_ptr<etcd_member> member(const std::string& name, const std::string& address) {
    member_options o;
    o.etcd = {server_.endpoint()};
    o.prefix = "/weft-test";
    o.refresh = 200ms;
    weft::server::host_identity id{name, address, {{"zone", name}}, 1};
    return std::make_unique<etcd_member>(
        o, id, [] { return 0u; },
        [this](std::string_view line) {
          std::lock_guard<std::mutex> lk(lines_mu_);
          lines_.emplace_back(line);
        });
  }
  // Whether a member has logged a line containing s (members log from
  // their own goroutines, on any thread).
  bool logged(const std::string& s) {
    std::lock_guard<std::mutex> lk(lines_mu_);
    for (const std::string& l : lines_)
      if (l.find(s) != std::string::npos) return true;
    return false;
  }

 private:
  std::mutex lines_mu_;
  std::vector<std::string> lines_;
};

v1::AnchorEntry entry(const std::string& path, const std::string& id, const std::string& host) {
  v1::AnchorEntry e;
  e.set_path(path);
  e.set_worker_id(id);
  e.set_host(host);
  return e;
}

// Polls f until it is true or 5 s pass.
template <class F>
bool eventually(F f) {
  return weft_test::eventually(f, 5s, 20ms);
}

TEST_F(EtcdMember, TwoHostsSeeEachOtherAndEachOthersWorkers) {
  weft::run([&] {
    auto a = member("ha", "tcp:10.0.0.1:7070");
    auto b = member("hb", "tcp:10.0.0.2:7070");
    a->start();
    b->start();
    EXPECT_TRUE(eventually([&] { return a->hosts().size() == 2 && b->hosts().size() == 2; }));
    for (const v1::HostInfo& h : a->hosts())
      if (h.name() == "hb") {
        EXPECT_EQ(h.address(), "tcp:10.0.0.2:7070");
        EXPECT_EQ(h.labels().at("zone"), "hb");
        EXPECT_GE(h.cpus(), 1u);
      }

    const std::string id = "R0123456789abcdef";
    b->worker_started(id, {entry("/db/shard/" + id, id, "hb"), entry("/all/" + id, id, "hb")});
    ASSERT_TRUE(eventually([&] { return a->anchors("/db/...").size() == 1; }));
    EXPECT_EQ(a->anchors("/db/...")[0].host(), "hb");
    EXPECT_EQ(a->anchors("/...").size(), 2u);
    EXPECT_EQ(a->anchors("/db/shard").size(), 1u);
    EXPECT_EQ(a->anchors("/db").size(), 0u);  // not a direct entry of /db
    EXPECT_EQ(a->anchors("/dbx/...").size(), 0u);

    b->worker_ended(id);  // its lease revoked: gone at once
    EXPECT_EQ(a->anchors("/...").size(), 0u);

    b->worker_started("R1111111111111111", {entry("/db/R1111111111111111", "R1111111111111111", "hb")});
    ASSERT_TRUE(eventually([&] { return a->anchors("/db/...").size() == 1; }));
    b->stop();  // leaves: every lease revoked
    EXPECT_EQ(a->anchors("/...").size(), 0u);
    EXPECT_TRUE(eventually([&] { return a->hosts().size() == 1; }));
    a->stop();
  });
}

TEST_F(EtcdMember, AHostNameTakenByAnotherAddressIsRefused) {
  weft::run([&] {
    auto a = member("same", "tcp:10.0.0.1:7070");
    a->start();
    auto b = member("same", "tcp:10.0.0.9:7070");
    try {
      b->start();
      ADD_FAILURE() << "a second weftd took the name";
    } catch (const std::runtime_error& e) {
      EXPECT_NE(std::string(e.what()).find("another weftd, at tcp:10.0.0.1:7070"), std::string::npos) << e.what();
    }
    // The same address (a restarted weftd) takes its name back.
    auto again = member("same", "tcp:10.0.0.1:7070");
    EXPECT_NO_THROW(again->start());
    again->stop();
    a->stop();
  });
}

TEST_F(EtcdMember, WithEtcdGoneAnchorsFailAndTheMemberRejoinsWhenItIsBack) {
  weft::run([&] {
    auto a = member("ha", "tcp:10.0.0.1:7070");
    a->start();
    const std::string id = "R2222222222222222";
    a->worker_started(id, {entry("/x/" + id, id, "ha")});
    ASSERT_TRUE(eventually([&] { return a->anchors("/x").size() == 1; }));
    server_.kill();
    EXPECT_THROW(a->anchors("/x"), weft::remote_error);
    EXPECT_TRUE(eventually([&] { return logged("keep running"); }));
    ASSERT_TRUE(server_.start());
    EXPECT_TRUE(eventually([&] { return logged("etcd: back"); }));
    EXPECT_TRUE(eventually([&] { return a->anchors("/x").size() == 1; }));  // republished
    a->stop();
  });
}

}  // namespace
