// weft/detail/fields.hpp: WEFT_FIELDS's machinery: a preprocessor map over
// up to 32 field names, and the hooks the macro declares.
#pragma once

#include <tuple>

#define WEFT_DETAIL_EXPAND(...) __VA_ARGS__
#define WEFT_DETAIL_FE_1(M, o, x) M(o, x)
#define WEFT_DETAIL_FE_2(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_1(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_3(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_2(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_4(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_3(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_5(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_4(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_6(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_5(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_7(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_6(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_8(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_7(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_9(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_8(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_10(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_9(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_11(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_10(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_12(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_11(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_13(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_12(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_14(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_13(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_15(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_14(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_16(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_15(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_17(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_16(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_18(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_17(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_19(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_18(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_20(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_19(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_21(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_20(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_22(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_21(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_23(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_22(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_24(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_23(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_25(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_24(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_26(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_25(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_27(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_26(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_28(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_27(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_29(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_28(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_30(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_29(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_31(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_30(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_32(M, o, x, ...) M(o, x), WEFT_DETAIL_FE_31(M, o, __VA_ARGS__)
#define WEFT_DETAIL_FE_PICK(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, _18, _19, _20, \
                            _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, _32, NAME, ...)                     \
  NAME
// WEFT_DETAIL_FOR_EACH(M, o, a, b, c) -> M(o, a), M(o, b), M(o, c)
#define WEFT_DETAIL_FOR_EACH(M, o, ...)                                                                              \
  WEFT_DETAIL_FE_PICK(__VA_ARGS__, WEFT_DETAIL_FE_32, WEFT_DETAIL_FE_31, WEFT_DETAIL_FE_30, WEFT_DETAIL_FE_29,       \
                      WEFT_DETAIL_FE_28, WEFT_DETAIL_FE_27, WEFT_DETAIL_FE_26, WEFT_DETAIL_FE_25, WEFT_DETAIL_FE_24, \
                      WEFT_DETAIL_FE_23, WEFT_DETAIL_FE_22, WEFT_DETAIL_FE_21, WEFT_DETAIL_FE_20, WEFT_DETAIL_FE_19, \
                      WEFT_DETAIL_FE_18, WEFT_DETAIL_FE_17, WEFT_DETAIL_FE_16, WEFT_DETAIL_FE_15, WEFT_DETAIL_FE_14, \
                      WEFT_DETAIL_FE_13, WEFT_DETAIL_FE_12, WEFT_DETAIL_FE_11, WEFT_DETAIL_FE_10, WEFT_DETAIL_FE_9,  \
                      WEFT_DETAIL_FE_8, WEFT_DETAIL_FE_7, WEFT_DETAIL_FE_6, WEFT_DETAIL_FE_5, WEFT_DETAIL_FE_4,      \
                      WEFT_DETAIL_FE_3, WEFT_DETAIL_FE_2, WEFT_DETAIL_FE_1)                                          \
  (M, o, __VA_ARGS__)

#define WEFT_DETAIL_FIELD_REF(obj, f) obj.f

// WEFT_FIELDS(type, field...): declares, next to the type (found by
// argument-dependent lookup), the functions weft::codec uses: the fields
// as a tuple of references, the type's name and its field names.
#define WEFT_FIELDS(Type, ...)                                                               \
  [[maybe_unused]] inline auto weft_fields(Type& weft_v) {                                   \
    return std::tie(WEFT_DETAIL_FOR_EACH(WEFT_DETAIL_FIELD_REF, weft_v, __VA_ARGS__));       \
  }                                                                                          \
  [[maybe_unused]] inline auto weft_fields(const Type& weft_v) {                             \
    return std::tie(WEFT_DETAIL_FOR_EACH(WEFT_DETAIL_FIELD_REF, weft_v, __VA_ARGS__));       \
  }                                                                                          \
  [[maybe_unused]] inline const char* weft_type_name(const Type*) { return #Type; }          \
  [[maybe_unused]] inline const char* weft_field_names(const Type*) { return #__VA_ARGS__; } \
  static_assert(true, "WEFT_FIELDS ends with a semicolon")
