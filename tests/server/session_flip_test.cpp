// src/server/session against damaged input: for every message type of
// Frame's oneof (found by reflection, so a message added to the schema is
// covered without touching this file), a sample frame; then every 1-bit
// and 2-bit flip and every truncation of its bytes. Each either does not
// parse (refused by the link before the session sees it) or runs through a
// real session — handshake done, a channel, a variable and an outstanding
// Offer already there — and gets a sensible answer: frames that are well
// formed, carry the request's id (or 0), an Error with a code and a
// message, and a closing verdict only after an Error. No crash (run this
// under ASan).
#include <gtest/gtest.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/stubs/logging.h>

#include <weft/codec.hpp>

#include "server/server_testing.hpp"
#include "server/session.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;
namespace srv = weft::server;
namespace pb = google::protobuf;

class recording_outlet final : public srv::outlet {
 public:
  void send(const frame& f) noexcept override { frames.push_back(f); }
  std::vector<frame> frames;
};

constexpr std::uint64_t offer_id = 77;  // the setup's outstanding receive Offer

// Fills every field of m with a plausible value: handles are 1 (the
// setup's channel), bytes an encoded number, enums their first real value.
void fill(pb::Message* m, int depth = 0) {
  const pb::Descriptor* d = m->GetDescriptor();
  const pb::Reflection* r = m->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    const std::string bytes = weft::encode<std::int64_t>(3);
    if (f->is_repeated()) {
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) r->AddString(m, f, "chan");
      if (f->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE && depth < 2) fill(r->AddMessage(m, f), depth + 1);
      continue;
    }
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32: r->SetInt32(m, f, 1); break;
      case pb::FieldDescriptor::CPPTYPE_INT64: r->SetInt64(m, f, 1); break;
      case pb::FieldDescriptor::CPPTYPE_UINT32: r->SetUInt32(m, f, 1); break;
      case pb::FieldDescriptor::CPPTYPE_UINT64: r->SetUInt64(m, f, 1); break;
      case pb::FieldDescriptor::CPPTYPE_BOOL: r->SetBool(m, f, true); break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: r->SetEnumValue(m, f, 1); break;
      case pb::FieldDescriptor::CPPTYPE_STRING:
        r->SetString(m, f, f->type() == pb::FieldDescriptor::TYPE_BYTES ? bytes : "c");
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 2) fill(r->MutableMessage(m, f), depth + 1);
        break;
      default: break;
    }
  }
}

// The sample for one oneof member: filled by reflection, then made
// meaningful where a default would only test "not found".
frame sample(const pb::FieldDescriptor* member) {
  frame f;
  f.set_id(5);
  fill(f.GetReflection()->MutableMessage(&f, member));
  switch (member->number()) {
    case frame::kHello:
      f.set_id(0);
      *f.mutable_hello() = good_hello();
      f.mutable_hello()->mutable_process()->set_pid(42);
      break;
    case frame::kChanOpen:
      f.mutable_chan_open()->set_signature("i64");
      f.mutable_chan_open()->set_capacity(2);  // the setup's channel "c"
      break;
    case frame::kChanRecv:
      f.mutable_chan_recv()->set_mode(v1::TRY);
      break;
    case frame::kOfferReply:
    case frame::kCancel:
      f.set_id(offer_id);
      break;
    case frame::kVarOpen:
      f.mutable_var_open()->set_signature("i64");
      break;
    case frame::kVarOp:
      f.mutable_var_op()->set_handle(2);
      f.mutable_var_op()->set_op(v1::VarOp::FETCH_ADD);
      break;
    case frame::kPing:
    case frame::kPong:
    case frame::kGoodbye:
    case frame::kTraceEvents:
      f.set_id(0);
      break;
    default: break;
  }
  return f;
}

class harness {
 public:
  explicit harness(bool welcomed) {
    srv::state_options o;
    o.log = nullptr;  // hundreds of thousands of bad inputs: not logged here
    // Not "os": a flipped FileOpen would open (and create) real files here,
    // and its calls run as goroutines, which this harness (no weft::run)
    // has none of. Its messages are still decoded, and refused (REFUSED).
    o.self.capabilities = {"chan", "var"};
    st_ = std::make_unique<srv::server_state>(o);
    welcomed_ = welcomed;
  }

  // A session in the state every mutation starts from.
  std::unique_ptr<srv::session> fresh(recording_outlet& out) {
    auto s = std::make_unique<srv::session>(*st_, out, "flip");
    if (!welcomed_) return s;
    auto must = [&](frame f) {
      EXPECT_EQ(s->handle(f), srv::session::verdict::go_on) << f.ShortDebugString();
    };
    must(hello());
    frame open;
    open.set_id(1);
    open.mutable_chan_open()->set_name("c");
    open.mutable_chan_open()->set_signature("i64");
    open.mutable_chan_open()->set_has_capacity(true);
    open.mutable_chan_open()->set_capacity(2);
    must(open);  // handle 1
    frame var;
    var.set_id(2);
    var.mutable_var_open()->set_name("v");
    var.mutable_var_open()->set_signature("i64");
    var.mutable_var_open()->set_initial(weft::encode<std::int64_t>(0));
    must(var);  // handle 2
    frame send;
    send.set_id(3);
    send.mutable_chan_send()->set_handle(1);
    send.mutable_chan_send()->set_mode(v1::TRY);
    send.mutable_chan_send()->set_value(weft::encode<std::int64_t>(9));
    must(send);
    frame recv;
    recv.set_id(offer_id);
    recv.mutable_chan_recv()->set_handle(1);
    recv.mutable_chan_recv()->set_mode(v1::OFFER);
    must(recv);
    out.frames.clear();
    return s;
  }

  static frame hello() {
    frame f;
    *f.mutable_hello() = good_hello();
    return f;
  }

  // Runs one (maybe damaged) payload; counts what happened.
  void run(const std::string& bytes) {
    frame f;
    if (!weft::wire::parse_frame(bytes, f)) {
      ++refused;
      return;
    }
    ++parsed;
    recording_outlet out;
    std::unique_ptr<srv::session> s = fresh(out);
    srv::session::verdict v = s->handle(f);
    check(f, v, out.frames);
    s->end();
    if (v == srv::session::verdict::close) ++closed;
  }

  std::size_t refused = 0, parsed = 0, closed = 0;

 private:
  void check(const frame& in, srv::session::verdict v, const std::vector<frame>& outs) {
    for (const frame& o : outs) {
      ASSERT_NE(o.body_case(), frame::BODY_NOT_SET) << in.ShortDebugString();
      ASSERT_LE(o.ByteSizeLong(), weft::wire::default_max_frame);
      ASSERT_TRUE(o.id() == 0 || o.id() == in.id() || o.id() == offer_id)
          << "reply to an id nobody used: " << o.ShortDebugString() << " for " << in.ShortDebugString();
      if (o.has_error()) {
        ASSERT_NE(o.error().code(), v1::Error::CODE_UNSPECIFIED) << o.ShortDebugString();
        ASSERT_FALSE(o.error().message().empty()) << o.ShortDebugString();
      }
    }
    const bool quiet_close = welcomed_ && (in.has_goodbye() || (in.has_error() && in.id() == 0));
    if (v == srv::session::verdict::close && !quiet_close) {
      ASSERT_FALSE(outs.empty()) << "closed without a word: " << in.ShortDebugString();
      ASSERT_TRUE(outs.back().has_error()) << outs.back().ShortDebugString();
    }
    if (!welcomed_) {
      // Before the handshake: exactly one answer, Welcome or Error.
      ASSERT_EQ(outs.size(), 1u) << in.ShortDebugString();
      ASSERT_TRUE(outs[0].has_welcome() || outs[0].has_error());
      ASSERT_EQ(outs[0].has_welcome(), v == srv::session::verdict::go_on);
    }
  }

  std::unique_ptr<srv::server_state> st_;
  bool welcomed_ = false;
};

// Every 1-bit and 2-bit flip and every truncation of bytes. Under the
// sanitizers (ten times slower) the 2-bit flips are sampled: every pair
// whose first bit is in a stride, so each bit is still hit.
void mutate(const std::string& bytes, harness& h) {
  const std::size_t bits = bytes.size() * 8;
  auto flip = [](std::string& s, std::size_t bit) { s[bit / 8] = static_cast<char>(s[bit / 8] ^ (1 << (bit % 8))); };
  for (std::size_t n = 0; n < bytes.size(); ++n) h.run(bytes.substr(0, n));
  const std::size_t stride = weft_test::sanitized ? 7 : 1;
  for (std::size_t i = 0; i < bits; ++i) {
    std::string one = bytes;
    flip(one, i);
    h.run(one);
    if (i % stride != 0) continue;
    for (std::size_t j = i + 1; j < bits; ++j) {
      std::string two = one;
      flip(two, j);
      h.run(two);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(SessionFlips, EveryMessageTypeSurvivesFlipsAndTruncations) {
  // libprotobuf logs each string field that is not UTF-8: thousands of
  // lines here. (weftd drops them too: tools/weftd/main.cpp.)
  google::protobuf::LogSilencer quiet;
  const pb::OneofDescriptor* body = frame::descriptor()->FindOneofByName("body");
  ASSERT_NE(body, nullptr);
  ASSERT_GE(body->field_count(), 28);
  for (int i = 0; i < body->field_count(); ++i) {
    const pb::FieldDescriptor* member = body->field(i);
    SCOPED_TRACE(member->name());
    frame f = sample(member);
    std::string bytes = f.SerializeAsString();
    // Before the handshake for Hello, after it for everything (Hello too).
    std::vector<bool> phases = member->number() == frame::kHello ? std::vector<bool>{false, true} : std::vector<bool>{true};
    for (bool welcomed : phases) {
      harness h(welcomed);
      h.run(bytes);  // the sample itself
      mutate(bytes, h);
      if (HasFatalFailure()) return;
      EXPECT_GT(h.parsed, 0u);
      RecordProperty(member->name() + (welcomed ? "" : "_first"),
                     std::to_string(h.parsed) + " parsed, " + std::to_string(h.refused) + " refused, " +
                         std::to_string(h.closed) + " closed");
    }
  }
}

// The unmutated samples: what each gets (a reply, or a close for the ones
// a client never sends).
TEST(SessionFlips, SamplesGetTheirReplies) {
  harness h(true);
  recording_outlet out;
  auto s = h.fresh(out);
  frame open = sample(frame::descriptor()->FindFieldByNumber(frame::kChanOpen));
  EXPECT_EQ(s->handle(open), srv::session::verdict::go_on);
  ASSERT_EQ(out.frames.size(), 1u);
  EXPECT_TRUE(out.frames[0].has_chan_opened()) << out.frames[0].ShortDebugString();
  out.frames.clear();
  frame add = sample(frame::descriptor()->FindFieldByNumber(frame::kVarOp));
  EXPECT_EQ(s->handle(add), srv::session::verdict::go_on);
  ASSERT_EQ(out.frames.size(), 1u);
  EXPECT_TRUE(out.frames[0].has_var_value()) << out.frames[0].ShortDebugString();
  out.frames.clear();
  frame reply = sample(frame::descriptor()->FindFieldByNumber(frame::kOfferReply));
  EXPECT_EQ(s->handle(reply), srv::session::verdict::go_on);  // accepts the setup's Offer
  EXPECT_TRUE(out.frames.empty());
  s->end();
}

}  // namespace
