// tests/wire/fork_request_test.cpp: the messages between weftd and a fork
// server (src/wire/fork_request.hpp).
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "wire/fork_request.hpp"

namespace {

using weft::wire::decode_fork_answer;
using weft::wire::decode_fork_ready;
using weft::wire::decode_fork_request;
using weft::wire::encode_fork_answer;
using weft::wire::encode_fork_ready;
using weft::wire::encode_fork_request;
using weft::wire::fork_answer;
using weft::wire::fork_request;

TEST(ForkRequest, RoundTripsADirectoryAndAnEnvironment) {
  fork_request r{"/home/a b", {"A=1", "EMPTY=", "X=y=z"}};
  std::string why;
  auto back = decode_fork_request(encode_fork_request(r), why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->cwd, "/home/a b");
  EXPECT_EQ(back->env, r.env);
}

// What a fork server reads: views into the bytes received, nothing copied.
TEST(ForkRequest, TheViewPointsIntoTheBytesEntryByEntry) {
  const std::string bytes = encode_fork_request({"/work", {"A=1", "EMPTY=", "X=y=z"}});
  std::string why;
  auto v = weft::wire::decode_fork_request_view(bytes, why);
  ASSERT_TRUE(v) << why;
  EXPECT_EQ(v->cwd, "/work");
  EXPECT_EQ(v->cwd.data(), bytes.data());
  EXPECT_STREQ(v->cwd.data(), "/work");  // a C string for chdir
  std::vector<std::string> env;
  v->for_each_env([&](const char* e) {
    EXPECT_GE(e, bytes.data());
    EXPECT_LT(e, bytes.data() + bytes.size());
    env.emplace_back(e);
  });
  EXPECT_EQ(env, (std::vector<std::string>{"A=1", "EMPTY=", "X=y=z"}));
  auto none = weft::wire::decode_fork_request_view(std::string("/\0", 2), why);
  ASSERT_TRUE(none);
  int entries = 0;
  none->for_each_env([&](const char*) { ++entries; });
  EXPECT_EQ(entries, 0);
}

TEST(ForkRequest, WhatCannotCrossIsNotEncoded) {
  EXPECT_EQ(encode_fork_request({"", {}}), "");
  EXPECT_EQ(encode_fork_request({"/", {"NOEQUALS"}}), "");
  EXPECT_EQ(encode_fork_request({"/", {"=VALUE"}}), "");
  EXPECT_EQ(encode_fork_request({"/", {std::string("A=1\0B=2", 7)}}), "");
  EXPECT_EQ(encode_fork_request({"/", {"BIG=" + std::string(weft::wire::max_fork_request, 'x')}}), "");
}

TEST(ForkRequest, MalformedBytesAreRefusedWithAReason) {
  for (std::string bad : {std::string(), std::string("/no-terminator"), std::string("relative\0", 9),
                          std::string("/\0NOEQUALS\0", 11), std::string("/\0\0", 3)}) {
    std::string why;
    EXPECT_FALSE(decode_fork_request(bad, why)) << bad;
    EXPECT_FALSE(why.empty());
  }
}

TEST(ForkAnswer, RoundTripsAPidOrAnError) {
  auto pid = decode_fork_answer(encode_fork_answer({4242, 0, "", false, -1}));
  ASSERT_TRUE(pid);
  EXPECT_EQ(pid->pid, 4242);
  EXPECT_FALSE(pid->took_connection);
  auto conn = decode_fork_answer(encode_fork_answer({4243, 0, "", true, -1}));
  ASSERT_TRUE(conn);
  EXPECT_EQ(conn->pid, 4243);
  EXPECT_TRUE(conn->took_connection);
  EXPECT_EQ(conn->spare, -1);  // a server without spares says nothing of them
  auto err = decode_fork_answer(encode_fork_answer({0, 2, "cannot enter /gone", false, -1}));
  ASSERT_TRUE(err);
  EXPECT_EQ(err->pid, 0);
  EXPECT_EQ(err->error, 2);
  EXPECT_EQ(err->why, "cannot enter /gone");
}

// What a fork server sends just after a fork: the same text, made on its
// stack; a why too long for the room is cut, never overrun.
TEST(ForkAnswer, TheStackEncodingIsTheSameTextCutToItsRoom) {
  char room[64];
  for (const fork_answer& a : {fork_answer{4242, 0, "", true, 17}, fork_answer{0, 13, "cannot enter /x", false, -1}})
    EXPECT_EQ(encode_fork_answer(a, room), encode_fork_answer(a));
  const fork_answer long_why{0, 2, std::string(500, 'w'), false, -1};
  std::string_view cut = encode_fork_answer(long_why, room);
  EXPECT_EQ(cut.size(), sizeof room);
  EXPECT_EQ(cut, encode_fork_answer(long_why).substr(0, sizeof room));
  auto back = decode_fork_answer(cut);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->error, 2);
}

TEST(ForkAnswer, APidAnswerNamesTheSpareThatWaitsNow) {
  auto both = decode_fork_answer(encode_fork_answer({4244, 0, "", true, 4250}));
  ASSERT_TRUE(both);
  EXPECT_EQ(both->pid, 4244);
  EXPECT_TRUE(both->took_connection);
  EXPECT_EQ(both->spare, 4250);
  auto none = decode_fork_answer(encode_fork_answer({4245, 0, "", false, 0}));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->took_connection);
  EXPECT_EQ(none->spare, 0);
}

TEST(ForkReady, IsReadyWithOrWithoutASpare) {
  EXPECT_EQ(decode_fork_ready(encode_fork_ready(-1)), -1);
  EXPECT_EQ(decode_fork_ready(encode_fork_ready(77)), 77);
  for (const char* bad : {"", "ready ", "ready spare", "ready spare -1", "ready spare 7x", "refused 2 threads"})
    EXPECT_FALSE(decode_fork_ready(bad)) << bad;
}

TEST(ForkAnswer, AnythingElseIsNoAnswer) {
  for (const char* bad : {"", "pid", "pid 0", "pid -3", "pid 12x", "pid 12 connx", "pid 12 spare", "pid 12 spare -2",
                          "pid 12 spare 3 conn", "error", "error 0 x", "error 99999 x", "ready"})
    EXPECT_FALSE(decode_fork_answer(bad)) << bad;
}

}  // namespace
