// tests/remote/quick_reply_test.cpp: which requests the stub waits for as
// quick replies (remote/stub.hpp, answered_at_once): those the server
// answers as soon as it has them, and none that waits for another party.
#include <gtest/gtest.h>

#include "remote/stub.hpp"

namespace {

namespace v1 = weft::runtime::v1;
using weft::remote::detail::answered_at_once;

v1::Frame recv_with(v1::Mode m) {
  v1::Frame f;
  f.mutable_chan_recv()->set_mode(m);
  return f;
}

v1::Frame send_with(v1::Mode m) {
  v1::Frame f;
  f.mutable_chan_send()->set_mode(m);
  return f;
}

TEST(QuickReply, VariableOperationsAndChannelStatsAreAnsweredAtOnce) {
  v1::Frame op;
  op.mutable_var_op();
  EXPECT_TRUE(answered_at_once(op));
  v1::Frame stat;
  stat.mutable_chan_stat();
  EXPECT_TRUE(answered_at_once(stat));
}

TEST(QuickReply, AReceiveThatWaitsForASenderIsNot) {
  EXPECT_FALSE(answered_at_once(recv_with(v1::WAIT)));
  EXPECT_FALSE(answered_at_once(recv_with(v1::OFFER)));
  EXPECT_TRUE(answered_at_once(recv_with(v1::TRY)));
  EXPECT_TRUE(answered_at_once(recv_with(v1::OFFER_NOW)));
}

TEST(QuickReply, SendsAreExceptTheOfferASelectHoldsOpen) {
  EXPECT_TRUE(answered_at_once(send_with(v1::WAIT)));
  EXPECT_TRUE(answered_at_once(send_with(v1::TRY)));
  EXPECT_TRUE(answered_at_once(send_with(v1::OFFER_NOW)));
  EXPECT_FALSE(answered_at_once(send_with(v1::OFFER)));
}

TEST(QuickReply, SpawnsWorkerWaitsAndControlAreNot) {
  v1::Frame spawn, wait, control, hello;
  spawn.mutable_spawn();
  wait.mutable_worker_wait();
  control.mutable_control();
  EXPECT_FALSE(answered_at_once(spawn));
  EXPECT_FALSE(answered_at_once(wait));
  EXPECT_FALSE(answered_at_once(control));
  EXPECT_FALSE(answered_at_once(hello));  // no body at all
}

}  // namespace
