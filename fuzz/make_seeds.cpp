// fuzz/make_seeds.cpp DIR: writes seed inputs for the fuzzers: a framed
// Frame of every message type the protocol has (as a stub and a server send
// them), encoded values for codec_fuzz, every request weft ui's page sends
// (as headless Chromium sent them) for ui_http_fuzz, and the JSON of a
// stub's Control replies and of weft ui's answers for json_value_fuzz.
#include <weft/codec.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "weft/runtime/v1/runtime.pb.h"
#include "wire/frame.hpp"

namespace v1 = weft::runtime::v1;

namespace {

void write(const std::string& path, const std::string& bytes) { std::ofstream(path, std::ios::binary) << bytes; }

std::vector<v1::Frame> samples() {
  std::vector<v1::Frame> out;
  auto add = [&](auto fill) {
    v1::Frame f;
    f.set_id(out.size() + 1);
    fill(f);
    out.push_back(f);
  };
  add([](v1::Frame& f) {
    f.set_id(0);
    auto* h = f.mutable_hello();
    h->set_magic("weft-runtime");
    h->mutable_version()->set_major(1);
    h->set_role(v1::Hello::STUB);
    h->mutable_process()->set_pid(4242);
    h->mutable_process()->set_host("host");
    h->add_required_capabilities("chan");
  });
  add([](v1::Frame& f) {
    auto* w = f.mutable_welcome();
    w->mutable_version()->set_major(1);
    w->add_capabilities("chan");
    w->add_capabilities("var");
    w->set_max_frame(1 << 24);
  });
  add([](v1::Frame& f) {
    f.mutable_error()->set_code(v1::Error::REFUSED);
    f.mutable_error()->set_message("no");
  });
  add([](v1::Frame& f) { f.mutable_ok(); });
  add([](v1::Frame& f) { f.mutable_cancel(); });
  add([](v1::Frame& f) {
    f.set_id(0);
    f.mutable_ping()->set_nonce(7);
  });
  add([](v1::Frame& f) {
    f.mutable_chan_open()->set_name("jobs");
    f.mutable_chan_open()->set_signature("i32");
  });
  add([](v1::Frame& f) {
    f.mutable_chan_opened()->set_handle(1);
    f.mutable_chan_opened()->set_capacity(64);
  });
  add([](v1::Frame& f) {
    f.mutable_chan_send()->set_handle(1);
    f.mutable_chan_send()->set_value(weft::encode(42));
    f.mutable_chan_send()->set_mode(v1::OFFER);
  });
  add([](v1::Frame& f) {
    f.mutable_chan_recv()->set_handle(1);
    f.mutable_chan_recv()->set_mode(v1::WAIT);
  });
  add([](v1::Frame& f) {
    f.mutable_chan_done()->set_status(v1::ChanDone::DONE);
    f.mutable_chan_done()->set_value(weft::encode(1));
  });
  add([](v1::Frame& f) { f.mutable_offer()->set_value(weft::encode(std::string("v"))); });
  add([](v1::Frame& f) { f.mutable_offer_reply()->set_accept(true); });
  add([](v1::Frame& f) { f.mutable_chan_close()->set_handle(1); });
  add([](v1::Frame& f) {
    f.mutable_var_open()->set_name("n");
    f.mutable_var_open()->set_signature("i64");
    f.mutable_var_open()->set_initial(weft::encode(std::int64_t{0}));
  });
  add([](v1::Frame& f) {
    f.mutable_var_op()->set_handle(2);
    f.mutable_var_op()->set_op(v1::VarOp::FETCH_ADD);
    f.mutable_var_op()->set_value(weft::encode(std::int64_t{1}));
  });
  add([](v1::Frame& f) { f.mutable_var_value()->set_value(weft::encode(std::int64_t{5})); });
  add([](v1::Frame& f) { f.mutable_remove()->set_name("jobs"); });
  return out;
}

// The JSON the weft command reads or writes, as a release build's tools
// printed it for tests/control_prog (paths shortened): a stub's STATS and
// GOROUTINE_STATS, and weft ps --json and stk --json.
std::vector<const char*> json_documents() {
  return {
      // STATS (weft peek)
      R"json({"pid":20471,"process_id":1,"uptime_s":1.520,"attached_s":1.505,"procs":2,"goroutines":8,"threads":2,"os_threads":4,"rss_bytes":12304384,"cpu_s":0.010,"instrumenting":false,"tracing":false})json",
      // GOROUTINE_STATS, as instrumentation starts (weft peek --goroutines)
      R"json({"instrumenting":true,"started_now":true,"instrumented_ms":0.000,"goroutines":1,"ended":0,"running":1,"runnable":0,"blocked":0,"total":{"running_ms":0.000,"runnable_ms":0.000,"blocked_ms":0.000,"chan_sends":0,"chan_recvs":0,"bytes_read":0,"bytes_written":0,"blocked_by":[]},"listed":[{"id":9,"name":"weft: runtime stub control","state":"running","running_ms":0.000,"runnable_ms":0.000,"blocked_ms":0.000,"chan_sends":0,"chan_recvs":0,"bytes_read":0,"bytes_written":0,"created_by":"weft::remote::detail::stub::answer_control(unsigned long, weft::runtime::v1::Control const&)","created_at":"../../src/remote/control.cpp:184","parent":3,"blocked_by":[]}]})json",
      // GOROUTINE_STATS half a second on
      R"json({"instrumenting":true,"started_now":false,"instrumented_ms":541.592,"goroutines":4,"ended":1,"running":1,"runnable":0,"blocked":3,"total":{"running_ms":0.154,"runnable_ms":0.063,"blocked_ms":1046.543,"chan_sends":0,"chan_recvs":0,"bytes_read":19,"bytes_written":673,"blocked_by":[{"reason":"sleep","ms":872.897},{"reason":"IO wait","ms":173.645}]},"listed":[{"id":3,"name":"weft: runtime stub reader","state":"blocked","reason":"IO wait","running_ms":0.108,"runnable_ms":0.003,"blocked_ms":173.645,"chan_sends":0,"chan_recvs":0,"bytes_read":19,"bytes_written":0,"created_by":"weft::remote::detail::stub::start()","created_at":"../../src/remote/stub.cpp:199","parent":1,"blocked_by":[{"reason":"IO wait","ms":173.645}]},{"id":4,"name":"weft: runtime stub heartbeat","state":"blocked","reason":"sleep","running_ms":0.034,"runnable_ms":0.017,"blocked_ms":423.940,"chan_sends":0,"chan_recvs":0,"bytes_read":0,"bytes_written":8,"created_by":"weft::remote::detail::stub::start()","created_at":"../../src/remote/stub.cpp:200","parent":1,"blocked_by":[{"reason":"sleep","ms":423.940}]},{"id":1,"name":"main","state":"blocked","reason":"sleep","running_ms":0.009,"runnable_ms":0.037,"blocked_ms":448.957,"chan_sends":0,"chan_recvs":0,"bytes_read":0,"bytes_written":0,"created_by":"weft::remote::detail::run_with_runtime(std::function<int ()>, weft::options const&, bool, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)","created_at":"../../src/remote/attach.cpp:113","blocked_by":[{"reason":"sleep","ms":448.957}]},{"id":10,"name":"weft: runtime stub control","state":"running","running_ms":0.003,"runnable_ms":0.006,"blocked_ms":0.000,"chan_sends":0,"chan_recvs":0,"bytes_read":0,"bytes_written":0,"created_by":"weft::remote::detail::stub::answer_control(unsigned long, weft::runtime::v1::Control const&)","created_at":"../../src/remote/control.cpp:184","parent":3,"blocked_by":[]}]})json",
      // weft ps --json
      R"json([{"pid":20471,"process_id":1,"host":"vm","binary":"/home/user/build/tests/control_prog","argv":["tests/control_prog","3"],"procs":2,"attached_unix_ms":1796438062824,"worker_id":""}])json",
      // weft stk --json
      R"json([{"target":"pid:20471","pid":20471,"worker":"","anchor":"","dump":"3 goroutines: [chan receive]\n# 5 \"parked-worker-0\", 6 \"parked-worker-1\", 7 \"parked-worker-2\"\nweft::detail::chan_recv(weft::detail::chan_core*, void*)\n\t../../src/runtime/park.hpp:64 +0x11d\ncontrol_prog_parked_here(weft::chan<int>)\n\t../../include/weft/chan.hpp:76 +0x14\nweft::detail::closure<void (*)(weft::chan<int>), weft::chan<int> >::invoke(void*)\n\t/usr/include/c++/12/bits/invoke.h:61 +0x22\ncreated by std::_Function_handler<int (), weft::run<main::{lambda()#1}>(main::{lambda()#1}, weft::options)::{lambda()#1}>::_M_invoke(std::_Any_data const&)\n\t../../tests/tools/control_prog.cpp:24\n\n1 goroutine: [sleep, 64 ms]\n# 1 \"main\"\nweft::this_goroutine::sleep_for(std::chrono::duration<long, std::ratio<1l, 1000000000l> >)\n\t../../src/time/sleep.cpp:37 +0x79\nstd::_Function_handler<int (), weft::run<main::{lambda()#1}>(main::{lambda()#1}, weft::options)::{lambda()#1}>::_M_invoke(std::_Any_data const&)\n\t../../include/weft/go.hpp:104 +0x31a\nstd::_Function_handler<int (), weft::detail::run_attached(std::function<int ()>, weft::options const&, bool)::{lambda()#3}>::_M_invoke(std::_Any_data const&)\n\t/usr/include/c++/12/bits/std_function.h:591 +0x19\nstd::_Function_handler<int (), weft::remote::detail::run_with_runtime(std::function<int ()>, weft::options const&, bool, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)::{lambda()#2}>::_M_invoke(std::_Any_data const&)\n\t/usr/include/c++/12/bits/std_function.h:591 +0xa6\nweft::detail::(anonymous namespace)::main_closure::invoke(void*)\n\t/usr/include/c++/12/bits/std_function.h:591 +0x14\ncreated by weft::remote::detail::run_with_runtime(std::function<int ()>, weft::options const&, bool, std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&)\n\t../../src/remote/attach.cpp:113\n\n1 goroutine: [chan receive, 2 s]\n# 2 \"weft: runtime stub writer\"\nweft::detail::chan_recv(weft::detail::chan_core*, void*)\n\t../../src/runtime/park.hpp:64 +0x11d\nweft::wire::link::write_loop()\n\t../../include/weft/chan.hpp:76 +0xb7\ncreated by weft::remote::detail::stub::start() in goroutine 1\n\t../../src/remote/stub.cpp:198\n\n1 goroutine: [IO wait]\n# 3 \"weft: runtime stub reader\"\nweft::detail::netpoll_wait(weft::detail::poll_desc*, weft::detail::poll_mode)\n\t../../src/runtime/park.hpp:64 +0x12e\nweft::detail::fd_op::wait(weft::detail::poll_mode) const\n\t../../src/net/netfd.cpp:118 +0x1a\nweft::net::conn::read(std::span<std::byte, 18446744073709551615ul>)\n\t../../src/net/conn.cpp:49 +0x7e\nweft::wire::link::receive(weft::runtime::v1::Frame&)\n\t../../src/wire/link.cpp:174 +0xa6\nweft::remote::detail::stub::read_loop()\n\t../../src/remote/stub.cpp:273 +0x54\ncreated by weft::remote::detail::stub::start() in goroutine 1\n\t../../src/remote/stub.cpp:199\n\n1 goroutine: [sleep, 68 ms]\n# 4 \"weft: runtime stub heartbeat\"\nweft::this_goroutine::sleep_for(std::chrono::duration<long, std::ratio<1l, 1000000000l> >)\n\t../../src/time/sleep.cpp:37 +0x79\nweft::remote::detail::stub::heartbeat_loop()\n\t../../src/remote/stub.cpp:325 +0x65\ncreated by weft::remote::detail::stub::start() in goroutine 1\n\t../../src/remote/stub.cpp:200\n\n1 goroutine: [running]\n# 11 \"weft: runtime stub control\"\nweft::remote::detail::stub::answer_control(unsigned long, weft::runtime::v1::Control const&)::{lambda()#1}::operator()() const\n\t../../src/remote/control.cpp:190 +0x200\ncreated by weft::remote::detail::stub::answer_control(unsigned long, weft::runtime::v1::Control const&) in goroutine 3\n\t../../src/remote/control.cpp:184\n\n"}])json",
  };
}

// The page's requests: the navigation, then fetch() of each API call, with
// the headers headless Chromium 156 sent (recorded). A POST's fetch adds
// Origin and an empty body's Content-Length.
std::vector<std::string> ui_requests() {
  const std::string token = "0123456789abcdef0123456789abcdef";  // ui_http_fuzz's guard
  const std::string ua =
      "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
      "HeadlessChrome/156.0.0.0 Safari/537.36\r\n";
  const std::string tail = "Accept-Encoding: gzip, deflate, br, zstd\r\nAccept-Language: en-US,en;q=0.9\r\n\r\n";
  std::vector<std::string> out;
  out.push_back("GET /?token=" + token +
                " HTTP/1.1\r\nHost: 127.0.0.1:4242\r\nConnection: keep-alive\r\n"
                "sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"\r\nsec-ch-ua-mobile: ?0\r\n"
                "sec-ch-ua-platform: \"Linux\"\r\nUpgrade-Insecure-Requests: 1\r\n" +
                ua +
                "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/jxl,image/avif,image/webp,"
                "image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
                "Sec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-User: ?1\r\n"
                "Sec-Fetch-Dest: document\r\n" +
                tail);
  auto fetch = [&](const std::string& method, const std::string& path, const std::string& query) {
    std::string r = method + " " + path + "?" + query + (query.empty() ? "" : "&") + "token=" + token +
                    " HTTP/1.1\r\nHost: 127.0.0.1:4242\r\nConnection: keep-alive\r\n";
    if (method == "POST") r += "Content-Length: 0\r\n";
    r += "Pragma: no-cache\r\nCache-Control: no-cache\r\nsec-ch-ua-platform: \"Linux\"\r\n" + ua +
         "sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"156\"\r\nsec-ch-ua-mobile: ?0\r\n"
         "Accept: */*\r\n";
    if (method == "POST") r += "Origin: http://127.0.0.1:4242\r\n";
    r += "Sec-Fetch-Site: same-origin\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Dest: empty\r\n"
         "Referer: http://127.0.0.1:4242/?token=" +
         token + "\r\n" + tail;
    out.push_back(r);
  };
  const std::string worker = "target=R00c0ffee00000001";
  fetch("GET", "/api/workers", "");
  fetch("GET", "/api/vitals", worker);
  fetch("GET", "/api/goroutines", worker);
  fetch("GET", "/api/stack", worker);
  fetch("POST", "/api/kill", worker);
  fetch("POST", "/api/trace", worker + "&seconds=5");
  out.push_back("GET /favicon.ico HTTP/1.1\r\nHost: localhost:4242\r\n\r\n");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR (writes DIR/<fuzzer>/ for each fuzzer)\n");
    return 2;
  }
  std::string dir = argv[1];
  for (const char* name : {"frame_fuzz", "codec_fuzz", "ui_http_fuzz", "json_value_fuzz"})
    std::filesystem::create_directories(dir + "/" + name);
  int n = 0;
  std::string all;
  for (const v1::Frame& f : samples()) {
    std::string one;
    weft::wire::append_frame(f, one);
    write(dir + "/frame_fuzz/" + std::to_string(n++), std::string(1, '\x07') + one);
    all += one;
  }
  write(dir + "/frame_fuzz/stream", std::string(1, '\x13') + all);
  std::map<std::string, std::vector<double>> m{{"a", {1.5, 2}}};
  write(dir + "/codec_fuzz/0", std::string(1, '\0') + weft::encode(std::int64_t{-5}));
  write(dir + "/codec_fuzz/1", std::string(1, '\1') + weft::encode(std::string("text")));
  write(dir + "/codec_fuzz/2", std::string(1, '\2') + weft::encode(std::vector<int>{1, 2, 3}));
  write(dir + "/codec_fuzz/4",
        std::string(1, '\4') + weft::encode(std::optional<std::tuple<int, std::string, bool>>({1, "x", true})));
  write(dir + "/codec_fuzz/5",
        std::string(1, '\5') + weft::encode(std::make_tuple(3, std::string("p"), std::vector<double>{1.0})));
  int k = 0;
  for (const std::string& r : ui_requests()) write(dir + "/ui_http_fuzz/" + std::to_string(k++), r);
  k = 0;
  for (const char* j : json_documents()) write(dir + "/json_value_fuzz/" + std::to_string(k++), j);
  std::printf("make_seeds: %d frames\n", n);
  return 0;
}
