// tests/etcd/etcd_ls_watch_test.cpp: `weft ls --watch` end to end on a
// weftd that joined a real etcd (weftd --etcd): the command prints another
// host's worker (an etcd_member in this process, host "hb") joining and
// leaving, and this weftd's own spawned worker too, both through etcd.
// This binary is its own worker, as spawn_test's is.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <string>

#include <weft/circuit.hpp>
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include "cluster/etcd_member.hpp"
#include "etcd/etcd_fixture.hpp"
#include "remote/weftd_fixture.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace std::chrono_literals;
namespace v1 = weft::runtime::v1;

int waits_on(std::string name) {
  weft::remote::chan<int> c(name);
  auto v = c.recv();
  return v ? *v : -1;
}
WEFT_SPAWNABLE(waits_on);

template <class F>
bool eventually(F f) {
  return weft_test::eventually(f, 10s);
}

class EtcdLsWatch : public weft_test::weftd_test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(etcd_.start());
    weftd_test::SetUp();
  }
  void TearDown() override {
    weftd_test::TearDown();
    if (HasFailure()) std::fprintf(stderr, "---- etcd's log\n%s----\n", etcd_.log().c_str());
  }
  std::vector<std::string> weftd_extra_args() const override {
    return {"--etcd", etcd_.endpoint(), "--etcd-prefix", "/weft-test", "--name", "ha"};
  }
  weft_test::etcd_process etcd_;
};

TEST_F(EtcdLsWatch, PrintsAnotherHostsWorkersAndItsOwnAsTheyJoinAndLeave) {
  weft::run(
      [this] {
        weft_test::command ls({WEFT_TEST_WEFT, "ls", "--watch", "-l", "--runtime", address(), "/e2e"});
        // Another host of the circuit, in this process.
        weft::cluster::member_options o;
        o.etcd = {etcd_.endpoint()};
        o.prefix = "/weft-test";
        weft::cluster::etcd_member hb(o, {"hb", "tcp:10.0.0.2:7070", {}, 1}, [] { return 0u; },
                                      [](std::string_view) {});
        hb.start();
        const std::string other = "R00000000000000b1";
        v1::AnchorEntry e;
        e.set_path("/e2e/" + other);
        e.set_worker_id(other);
        e.set_host("hb");
        e.set_pid(4242);
        e.set_function("remote_fn");
        hb.worker_started(other, {e});
        // In the command's snapshot or as a change ("+ ..."): the watch
        // may have read etcd before or after hb wrote it.
        ASSERT_TRUE(eventually([&] { return ls.out().find("/e2e/" + other) != std::string::npos; }))
            << ls.out() << ls.err() << log_text();
        EXPECT_NE(ls.out().find("hb"), std::string::npos) << ls.out();  // -l: the host
        EXPECT_NE(ls.out().find("remote_fn"), std::string::npos) << ls.out();

        // Pinned here: placement may prefer hb, whose weftd is not real.
        auto own = weft::spawn({.anchors = {"/e2e"}, .host = "ha"}, waits_on, std::string("never"));
        const std::string id = own.worker().id();
        ASSERT_TRUE(eventually([&] { return ls.out().find("+ /e2e/" + id) != std::string::npos; }))
            << ls.out() << ls.err() << log_text();
        hb.worker_ended(other);
        ASSERT_TRUE(eventually([&] { return ls.out().find("- /e2e/" + other) != std::string::npos; }))
            << ls.out() << ls.err();
        own.worker().kill_hard();
        try {
          own.get();
        } catch (const weft::remote_error&) {}
        ASSERT_TRUE(eventually([&] { return ls.out().find("- /e2e/" + id) != std::string::npos; }))
            << ls.out() << ls.err();
        EXPECT_LT(ls.out().find("+ /e2e/" + id), ls.out().find("- /e2e/" + id));
        hb.stop();
        ::kill(ls.pid(), SIGINT);
        EXPECT_EQ(ls.wait(), 0) << ls.err();
        EXPECT_EQ(ls.err(), "");
      },
      attached());
}

}  // namespace

int main(int argc, char** argv) {
  if (weft::is_worker()) return weft::run([] {});
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
