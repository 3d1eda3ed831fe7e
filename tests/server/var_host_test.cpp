// src/server/var_host and var_arith: every VarOp on a recorder, FETCH_ADD
// wrapping at each type's width with the bytes a stub would produce, WAIT
// parked until the value differs (cancel, disconnect, remove), and exact
// sums from many goroutines at once.
#include "server/var_host.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include <weft/codec.hpp>

#include "server/server_testing.hpp"
#include "server/var_arith.hpp"
#include "weft_test_util.hpp"

namespace {

using namespace server_testing;
using weft::server::budget;
using weft::server::hosted_var;
using weft::server::var_host;

v1::VarOp make_op(v1::VarOp::Op op, std::string value = {}, std::string expected = {}) {
  v1::VarOp o;
  o.set_handle(1);
  o.set_op(op);
  o.set_value(std::move(value));
  o.set_expected(std::move(expected));
  return o;
}

class VarHost : public ::testing::Test {
 protected:
  std::shared_ptr<hosted_var> open(const std::string& name, const std::string& sig, const std::string& initial) {
    var_host::opened o = host.open(name, sig, initial);
    EXPECT_TRUE(o.var) << o.error;
    return o.var;
  }
  v1::VarValue apply(hosted_var& v, v1::VarOp::Op op, std::string value = {}, std::string expected = {}) {
    v.apply(a, 1, make_op(op, std::move(value), std::move(expected)), &values);
    frame f = a.one();
    EXPECT_TRUE(f.has_var_value()) << f.ShortDebugString();
    return f.var_value();
  }

  budget values{1u << 30};
  var_host host{&values};
  recorder a, b;
};

template <class T>
std::string enc(T v) {
  return weft::encode<T>(v);
}

TEST_F(VarHost, EveryOperation) {
  auto v = open("cfg", "str", enc<std::string>("a"));
  EXPECT_EQ(apply(*v, v1::VarOp::LOAD).value(), enc<std::string>("a"));
  EXPECT_EQ(apply(*v, v1::VarOp::STORE, enc<std::string>("b")).value(), enc<std::string>("b"));
  EXPECT_EQ(apply(*v, v1::VarOp::EXCHANGE, enc<std::string>("c")).value(), enc<std::string>("b"));
  v1::VarValue miss = apply(*v, v1::VarOp::COMPARE_EXCHANGE, enc<std::string>("d"), enc<std::string>("x"));
  EXPECT_FALSE(miss.ok());
  EXPECT_EQ(miss.value(), enc<std::string>("c"));
  v1::VarValue hit = apply(*v, v1::VarOp::COMPARE_EXCHANGE, enc<std::string>("d"), enc<std::string>("c"));
  EXPECT_TRUE(hit.ok());
  EXPECT_EQ(hit.value(), enc<std::string>("d"));
  EXPECT_EQ(v->load(), enc<std::string>("d"));

  v->apply(a, 2, make_op(v1::VarOp::FETCH_ADD, enc<std::string>("e")), &values);
  frame f = a.one();
  ASSERT_TRUE(f.has_error());
  EXPECT_EQ(f.error().code(), v1::Error::REFUSED);
  EXPECT_NE(f.error().message().find("arithmetic"), std::string::npos) << f.error().message();
  v->apply(a, 3, make_op(static_cast<v1::VarOp::Op>(77)), &values);
  EXPECT_EQ(a.one().error().code(), v1::Error::REFUSED);
}

TEST_F(VarHost, OpenCreatesOnceAndChecksTheSignature) {
  var_host::opened o = host.open("n", "i32", enc<std::int32_t>(5));
  ASSERT_TRUE(o.var);
  EXPECT_TRUE(o.created);
  var_host::opened again = host.open("n", "i32", enc<std::int32_t>(9));
  EXPECT_EQ(again.var, o.var);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.value, enc<std::int32_t>(5));  // the initial only counts when new
  var_host::opened other = host.open("n", "i64", enc<std::int64_t>(5));
  EXPECT_FALSE(other.var);
  EXPECT_EQ(other.code, v1::Error::REFUSED);
  EXPECT_NE(other.error.find("holds i32, not i64"), std::string::npos) << other.error;
  EXPECT_FALSE(host.open("new", "i32", "").var);  // new, with no initial value
}

template <class T>
T add_via_server(const char* sig, T old, T delta) {
  std::string sum, why;
  EXPECT_TRUE(weft::server::add_encoded(sig, enc<T>(old), enc<T>(delta), &sum, &why)) << why;
  EXPECT_EQ(sum, enc<T>(weft::decode<T>(sum)));  // the bytes a stub of T would write
  return weft::decode<T>(sum);
}

TEST(VarArith, WrapsAtEachWidthLikeUnsignedArithmetic) {
  EXPECT_EQ(add_via_server<std::int8_t>("i8", 127, 1), -128);
  EXPECT_EQ(add_via_server<std::int8_t>("i8", -128, -1), 127);
  EXPECT_EQ(add_via_server<std::int16_t>("i16", 32767, 2), -32767);
  EXPECT_EQ(add_via_server<std::int32_t>("i32", std::numeric_limits<std::int32_t>::max(), 1),
            std::numeric_limits<std::int32_t>::min());
  EXPECT_EQ(add_via_server<std::int64_t>("i64", std::numeric_limits<std::int64_t>::max(), 1),
            std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(add_via_server<std::int64_t>("i64", 5, -7), -2);
  EXPECT_EQ(add_via_server<std::uint8_t>("u8", 255, 1), 0);
  EXPECT_EQ(add_via_server<std::uint16_t>("u16", 65535, 2), 1);
  EXPECT_EQ(add_via_server<std::uint32_t>("u32", 0xffffffffu, 0xffffffffu), 0xfffffffeu);
  EXPECT_EQ(add_via_server<std::uint64_t>("u64", ~std::uint64_t{0}, 1), 0u);
  // fetch_sub(1) on an unsigned is fetch_add of its wrapped negation.
  EXPECT_EQ(add_via_server<std::uint64_t>("u64", 10, ~std::uint64_t{0}), 9u);
  EXPECT_EQ(add_via_server<float>("f32", 1.5f, 2.25f), 3.75f);
  EXPECT_EQ(add_via_server<double>("f64", 0.5, -2.0), -1.5);
}

TEST(VarArith, RefusesWhatIsNotANumberOfItsType) {
  std::string sum, why;
  EXPECT_FALSE(weft::server::arithmetic_signature("str"));
  EXPECT_FALSE(weft::server::arithmetic_signature("bool"));
  EXPECT_TRUE(weft::server::arithmetic_signature("u16"));
  EXPECT_FALSE(weft::server::add_encoded("str", enc<std::string>("a"), enc<std::string>("b"), &sum, &why));
  EXPECT_FALSE(weft::server::add_encoded("u8", enc<std::uint16_t>(300), enc<std::uint8_t>(1), &sum, &why));
  EXPECT_NE(why.find("value"), std::string::npos) << why;
  EXPECT_FALSE(weft::server::add_encoded("i32", enc<std::int32_t>(1), "\xc1", &sum, &why));
  EXPECT_NE(why.find("delta"), std::string::npos) << why;
  EXPECT_FALSE(weft::server::add_encoded("i32", enc<std::int32_t>(1), enc<std::int32_t>(1) + "x", &sum, &why));
  EXPECT_FALSE(weft::server::add_encoded("i32", "", enc<std::int32_t>(1), &sum, &why));
}

TEST_F(VarHost, FetchAddReturnsTheOldValue) {
  auto v = open("ctr", "i64", enc<std::int64_t>(40));
  EXPECT_EQ(apply(*v, v1::VarOp::FETCH_ADD, enc<std::int64_t>(2)).value(), enc<std::int64_t>(40));
  EXPECT_EQ(v->load(), enc<std::int64_t>(42));
  v->apply(a, 5, make_op(v1::VarOp::FETCH_ADD, "\xc1"), &values);
  EXPECT_EQ(a.one().error().code(), v1::Error::REFUSED);
  EXPECT_EQ(v->load(), enc<std::int64_t>(42));
}

TEST_F(VarHost, WaitParksUntilTheValueDiffers) {
  auto v = open("w", "i64", enc<std::int64_t>(1));
  v->apply(a, 7, make_op(v1::VarOp::WAIT, {}, enc<std::int64_t>(2)), &values);
  EXPECT_EQ(a.one().var_value().value(), enc<std::int64_t>(1));  // differs already
  v->apply(a, 8, make_op(v1::VarOp::WAIT, {}, enc<std::int64_t>(1)), &values);
  v->apply(b, 9, make_op(v1::VarOp::WAIT, {}, enc<std::int64_t>(1)), &values);
  EXPECT_TRUE(a.quiet());
  v->apply(b, 10, make_op(v1::VarOp::STORE, enc<std::int64_t>(1)), &values);  // the same value: no wake
  EXPECT_EQ(b.one().id(), 10u);
  EXPECT_TRUE(a.quiet());
  v->cancel(b, 9);
  frame cancelled = b.one();
  EXPECT_EQ(cancelled.id(), 9u);
  EXPECT_EQ(cancelled.error().code(), v1::Error::CANCELLED);
  v->cancel(b, 9);  // twice: nothing
  EXPECT_TRUE(b.quiet());
  v->apply(b, 11, make_op(v1::VarOp::FETCH_ADD, enc<std::int64_t>(5)), &values);
  b.take();
  frame woke = a.one();
  EXPECT_EQ(woke.id(), 8u);
  EXPECT_EQ(woke.var_value().value(), enc<std::int64_t>(6));

  v->apply(a, 12, make_op(v1::VarOp::WAIT, {}, enc<std::int64_t>(6)), &values);
  v->drop(a);
  v->apply(b, 13, make_op(v1::VarOp::STORE, enc<std::int64_t>(7)), &values);
  EXPECT_TRUE(a.quiet());  // a left: its waiter went with it

  v->apply(a, 14, make_op(v1::VarOp::WAIT, {}, enc<std::int64_t>(7)), &values);
  EXPECT_TRUE(host.remove("w"));
  EXPECT_EQ(a.one().error().code(), v1::Error::NOT_FOUND);
  v->apply(a, 15, make_op(v1::VarOp::LOAD), &values);
  EXPECT_EQ(a.one().error().code(), v1::Error::NOT_FOUND);
  v.reset();
  EXPECT_EQ(values.used(), 0u);
}

// Many goroutines add at once; every old value they are told is distinct and
// the final sum is exact (the op is atomic under the variable's lock).
TEST(VarHostConcurrent, FetchAddIsExactUnderManyClients) {
  for (int procs : {1, 4}) {
    weft::run(
        [] {
          budget values(1u << 30);
          var_host host(&values);
          auto v = host.open("n", "i64", enc<std::int64_t>(0)).var;
          constexpr int clients = 8;
          const int each = weft_test::quartered(2000);
          std::vector<std::vector<std::int64_t>> olds(clients);
          std::vector<inbox> boxes(clients);  // outlive the goroutines (server_testing.hpp)
          weft::wait_group wg;
          for (int k = 0; k < clients; ++k) {
            wg.add(1);
            weft::go([&, k] {
              inbox& me = boxes[static_cast<std::size_t>(k)];
              for (int i = 0; i < each; ++i) {
                v->apply(me, static_cast<std::uint64_t>(i + 1), make_op(v1::VarOp::FETCH_ADD, enc<std::int64_t>(1)),
                         &values);
                olds[static_cast<std::size_t>(k)].push_back(weft::decode<std::int64_t>(me.take().var_value().value()));
              }
              wg.done();
            });
          }
          wg.wait();
          EXPECT_EQ(v->load(), enc<std::int64_t>(std::int64_t{clients} * each));
          std::vector<std::int64_t> all;
          for (auto& o : olds) all.insert(all.end(), o.begin(), o.end());
          std::sort(all.begin(), all.end());
          for (std::size_t i = 0; i < all.size(); ++i) ASSERT_EQ(all[i], static_cast<std::int64_t>(i));
        },
        weft_test::procs_opt(procs));
  }
}

}  // namespace
