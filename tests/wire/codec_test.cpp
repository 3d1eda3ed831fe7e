// weft::codec: every supported type survives the round trip, signatures
// name shapes (and tell different shapes apart), and bytes that are not a
// value of the type are refused with remote_error(protocol), never a crash.
#include <weft/codec.hpp>

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace shapes {
struct point {
  int x = 0;
  int y = 0;
  bool operator==(const point&) const = default;
};
WEFT_FIELDS(point, x, y);

enum class color : std::uint8_t { red = 1, green = 2 };

struct order {
  std::string id;
  std::vector<point> path;
  std::optional<color> tint;
  std::chrono::milliseconds after{0};
  std::map<std::string, double> prices;
  bool operator==(const order&) const = default;
};
WEFT_FIELDS(order, id, path, tint, after, prices);
}  // namespace shapes

namespace {

template <class T>
void round_trip(const T& v) {
  std::string bytes = weft::encode(v);
  EXPECT_EQ(weft::decode<T>(bytes), v) << weft::codec<T>::signature();
}

TEST(Codec, RoundTripsEverySupportedType) {
  round_trip(true);
  round_trip(std::int8_t{-5});
  round_trip(std::uint64_t{UINT64_MAX});
  round_trip(std::int64_t{INT64_MIN});
  round_trip(3.25f);
  round_trip(-1e300);
  round_trip(std::string("hello\0world", 11));
  round_trip(std::vector<int>{1, 2, 3});
  round_trip(std::array<std::string, 2>{"a", "b"});
  round_trip(std::map<std::string, int>{{"a", 1}, {"b", 2}});
  round_trip(std::unordered_map<int, std::string>{{1, "x"}});
  round_trip(std::set<int>{3, 1});
  round_trip(std::unordered_set<std::string>{"q"});
  round_trip(std::optional<int>{});
  round_trip(std::optional<int>{4});
  round_trip(std::pair<int, std::string>{1, "p"});
  round_trip(std::tuple<int, double, std::string>{1, 2.5, "t"});
  round_trip(std::chrono::nanoseconds{123456789});
  round_trip(shapes::color::green);
  round_trip(shapes::point{3, -4});
  round_trip(shapes::order{"o1", {{1, 2}, {3, 4}}, shapes::color::red, std::chrono::milliseconds(250), {{"a", 1.5}}});
}

TEST(Codec, SignaturesNameTheShape) {
  EXPECT_EQ(weft::codec<int>::signature(), "i32");
  EXPECT_EQ(weft::codec<std::uint16_t>::signature(), "u16");
  EXPECT_EQ(weft::codec<double>::signature(), "f64");
  EXPECT_EQ(weft::codec<std::string>::signature(), "str");
  EXPECT_EQ((weft::codec<std::map<std::string, std::vector<int>>>::signature()), "map<str,list<i32>>");
  EXPECT_EQ(weft::codec<std::optional<bool>>::signature(), "opt<bool>");
  EXPECT_EQ((weft::codec<std::pair<int, std::string>>::signature()), "tuple<i32,str>");
  EXPECT_EQ(weft::codec<std::chrono::milliseconds>::signature(), "duration<i64,1/1000>");
  EXPECT_EQ(weft::codec<shapes::point>::signature(), "struct:point{x:i32,y:i32}");
  EXPECT_NE(weft::codec<int>::signature(), weft::codec<long>::signature());
}

TEST(Codec, ForeignBytesAreAProtocolError) {
  auto expect_protocol = [](auto decode_it) {
    try {
      decode_it();
      ADD_FAILURE() << "decoded";
    } catch (const weft::remote_error& e) {
      EXPECT_EQ(e.kind(), weft::remote_errc::protocol) << e.what();
    }
  };
  std::string s = weft::encode(std::string("text"));
  expect_protocol([&] { weft::decode<int>(s); });                         // wrong type
  expect_protocol([&] { weft::decode<std::string>(s.substr(0, 3)); });    // truncated
  expect_protocol([&] { weft::decode<std::string>(s + "x"); });           // trailing bytes
  expect_protocol([&] { weft::decode<shapes::point>(weft::encode(std::vector<int>{1, 2, 3})); });
  // An array header that claims four billion elements in five bytes.
  expect_protocol([] { weft::decode<std::vector<int>>(std::string("\xdd\xff\xff\xff\xff", 5)); });
  expect_protocol([] { weft::decode<int>(std::string()); });
}

// Every truncation and every single-bit flip of an encoded value either
// decodes or throws remote_error: no crash, no other exception.
TEST(Codec, SurvivesEveryTruncationAndBitFlip) {
  shapes::order o{"id", {{1, 2}}, shapes::color::green, std::chrono::milliseconds(7), {{"k", 2.0}}};
  std::string bytes = weft::encode(o);
  auto try_decode = [](const std::string& b) {
    try {
      weft::decode<shapes::order>(b);
    } catch (const weft::remote_error&) {
    }
  };
  for (std::size_t n = 0; n < bytes.size(); ++n) try_decode(bytes.substr(0, n));
  for (std::size_t i = 0; i < bytes.size() * 8; ++i) {
    std::string b = bytes;
    b[i / 8] = static_cast<char>(b[i / 8] ^ (1 << (i % 8)));
    try_decode(b);
  }
}

}  // namespace
