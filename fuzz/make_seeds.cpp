// fuzz/make_seeds.cpp DIR: writes seed inputs for the fuzzers: a framed
// Frame of every message type the protocol has (as a stub and a server send
// them), and encoded values for codec_fuzz.
#include <weft/codec.hpp>

#include <cstdio>
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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR (writes DIR/frame_fuzz/ and DIR/codec_fuzz/)\n");
    return 2;
  }
  std::string dir = argv[1];
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
  std::printf("make_seeds: %d frames\n", n);
  return 0;
}
