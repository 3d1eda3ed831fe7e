// tests/compile/misuse.cpp: calls that must not compile, one per CASE
// (check.sh compiles each with -DCASE=name), and CASE=good, the same calls
// done right, which must compile: it proves the failures come from the
// misuse and not from the build.
#include <weft/migrate.hpp>
#include <weft/weft.hpp>

#include <memory>

namespace {

void bump(int& x) { ++x; }
void two(int, int) {}
void own(std::unique_ptr<int>) {}
void bump_stoppable(std::stop_token, int& x) { ++x; }

struct local_state {
  weft::chan<int> in = nullptr;  // a local channel: it cannot leave the process
};
void consume_local(local_state&) {}
struct portable_state {
  int n = 0;
};
WEFT_FIELDS(portable_state, n);
void consume_portable(portable_state&) {}
void consume_other(int&) {}

[[maybe_unused]] void body() {
  int x = 0;
  auto p = std::make_unique<int>(1);
  weft::scope s;
#if CASE == 1  // go_ref: a reference parameter given a value
  weft::go(bump, x);
#elif CASE == 2  // go_args: too few arguments
  weft::go(two, 1);
#elif CASE == 3  // go_copy: a move-only argument given as an lvalue
  weft::go(own, p);
#elif CASE == 4  // go_options_ref: the go_options overload
  weft::go(weft::go_options{.name = "n"}, bump, x);
#elif CASE == 5  // scope_ref: scope::go, with and without a token
  s.go(bump_stoppable, x);
#elif CASE == 6  // scope_args
  s.go(two, "one", 2);
#elif CASE == 7  // migrate_local: a state that cannot cross processes
  weft::go_migratable<consume_local>(local_state{});
#elif CASE == 8  // migrate_args: f does not take the state
  weft::go_migratable<consume_other>(portable_state{});
#elif CASE == 0  // good
  weft::go_migratable<consume_portable>(portable_state{});
  weft::go(bump, std::ref(x));
  weft::go(two, 1, 2);
  weft::go(own, std::move(p));
  weft::go(weft::go_options{.name = "n"}, bump, std::ref(x));
  s.go(bump_stoppable, std::ref(x));
  s.go(two, 1, 2);
#else
#error "unknown CASE"
#endif
  s.wait();
}

}  // namespace

int main() {}
