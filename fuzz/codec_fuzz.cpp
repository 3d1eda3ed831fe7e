// fuzz/codec_fuzz.cpp: weft::codec's decoders on arbitrary bytes. Every
// input decodes or throws remote_error; nothing else may happen.
#include <weft/codec.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace fuzz {
struct point {
  int x = 0;
  std::string name;
  std::vector<double> ws;
};
WEFT_FIELDS(point, x, name, ws);
}  // namespace fuzz

namespace {

template <class T>
void try_decode(std::string_view bytes) {
  try {
    T v = weft::decode<T>(bytes);
    std::string again = weft::encode(v);
    (void)weft::decode<T>(again);  // what we encode, we decode
  } catch (const weft::remote_error&) {}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 10) {
    case 0: try_decode<std::int64_t>(bytes); break;
    case 1: try_decode<std::string>(bytes); break;
    case 2: try_decode<std::vector<int>>(bytes); break;
    case 3: try_decode<std::map<std::string, std::vector<std::uint8_t>>>(bytes); break;
    case 4: try_decode<std::optional<std::tuple<int, std::string, bool>>>(bytes); break;
    case 5: try_decode<fuzz::point>(bytes); break;
    case 6: try_decode<std::vector<fuzz::point>>(bytes); break;
    case 7: try_decode<std::chrono::nanoseconds>(bytes); break;
    // An xref's wire form as a peer sends it (owner, object, type, token:
    // src/circuit/xref.cpp), and a spawn's arguments (tuple<ARG...>).
    case 8: try_decode<std::tuple<std::string, std::uint64_t, std::string, std::string>>(bytes); break;
    case 9: try_decode<std::tuple<std::string, int, std::vector<std::string>>>(bytes); break;
  }
  return 0;
}
