// An installed weft, used from outside: goroutines, a channel, a wait_group.
// Exits 0 when the sum comes out right.
#include <weft/weft.hpp>

#include <cstdio>

int main() {
  return weft::run([] {
    weft::chan<int> results(4);
    weft::wait_group wg;
    for (int i = 1; i <= 10; ++i) {
      wg.add(1);
      weft::go([&wg, results, i]() mutable {
        results.send(i * i);
        wg.done();
      });
    }
    weft::go([&wg, results]() mutable {
      wg.wait();
      results.close();
    });
    int sum = 0;
    for (int v : results) sum += v;
    std::printf("weft consumer: sum of squares 1..10 = %d\n", sum);
    return sum == 385 ? 0 : 1;
  });
}
