// Linked with weft::remote_required: prints a line if its main ever runs.
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  return weft::run([] { std::puts("main ran"); });
}
