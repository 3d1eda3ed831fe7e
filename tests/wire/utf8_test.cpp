// src/wire/utf8: what goes in a proto3 string field parses at the receiver,
// whatever bytes it came from; names that are not UTF-8 are refused by name.
#include "wire/utf8.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "weft/runtime/v1/runtime.pb.h"

namespace {

namespace v1 = weft::runtime::v1;
using weft::wire::utf8_text;

// Whether a frame carrying s as an Error's message parses again.
bool parses_as_a_string_field(const std::string& s) {
  v1::Frame f;
  f.mutable_error()->set_message(s);
  v1::Frame back;
  return back.ParseFromString(f.SerializeAsString()) && back.error().message() == s;
}

TEST(Utf8Text, LeavesUtf8AsItIs) {
  for (std::string s : {std::string(), std::string("plain"), std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")}) {
    EXPECT_EQ(utf8_text(s), s);
    EXPECT_TRUE(weft::wire::is_utf8(s));
  }
}

TEST(Utf8Text, ReplacesOnlyTheBytesThatStartNoCharacter) {
  EXPECT_EQ(utf8_text("caf\xe9"), "caf?");  // Latin-1
  EXPECT_EQ(utf8_text("\xc3\xa9-\xe9-\xc3\xa9"), "\xc3\xa9-?-\xc3\xa9");
  EXPECT_EQ(utf8_text("\xc0\x80"), "??");  // an overlong NUL
  EXPECT_EQ(utf8_text("\xed\xa0\x80"), "???");  // a surrogate
  EXPECT_EQ(utf8_text("\xf4\x90\x80\x80"), "????");  // above U+10FFFF
  EXPECT_EQ(utf8_text("ab\xe2\x82"), "ab??");  // cut inside a character
}

TEST(Utf8Text, WhatItGivesParsesWhereTheInputDidNot) {
  for (std::string s : {"caf\xe9", "\xc0\x80", "\xed\xa0\x80", "\xff\xfe", "ab\xe2\x82"}) {
    EXPECT_FALSE(parses_as_a_string_field(s)) << "protobuf took it as it was: the case tests nothing";
    EXPECT_TRUE(parses_as_a_string_field(utf8_text(s)));
  }
  std::string every_byte;
  for (int c = 0; c < 256; ++c) every_byte += static_cast<char>(c);
  EXPECT_TRUE(parses_as_a_string_field(utf8_text(every_byte + every_byte)));
}

TEST(RequireUtf8, RefusesANameThatIsNotUtf8AndShowsItsBytes) {
  EXPECT_NO_THROW(weft::wire::require_utf8("caf\xc3\xa9", "remote channel name"));
  try {
    weft::wire::require_utf8("caf\xe9", "remote channel name");
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("remote channel name \"caf\\xe9\" is not UTF-8"), std::string::npos) << what;
    EXPECT_TRUE(parses_as_a_string_field(what)) << "the message is text itself";
  }
}

}  // namespace
