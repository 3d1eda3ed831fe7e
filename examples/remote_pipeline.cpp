// examples/remote_pipeline.cpp: a producer and a consumer sharing a remote
// channel and a remote variable (weft/remote.hpp).
//
//   remote_pipeline                 both in one process (no runtime server:
//                                   the channel lives in the process)
//   remote_pipeline produce N       one process each, attached to the same
//   remote_pipeline consume N       server: WEFT_RUNTIME=unix:/path (demo.sh)
//
// The consumer receives in a select beside a local timer, so a remote case
// and a local case race in one select: exactly one commits each round.
#include <weft/remote.hpp>
#include <weft/weft.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

struct job {
  int n = 0;
  std::string label;
};
WEFT_FIELDS(job, n, label);

namespace {

void produce(int count) {
  weft::remote::chan<job> jobs("pipeline.jobs", 16);
  for (int i = 1; i <= count; ++i) jobs.send(job{i, "job-" + std::to_string(i)});
  jobs.close();
  std::printf("producer: sent %d jobs%s\n", count, weft::remote::attached() ? " through the runtime server" : "");
}

long consume(int count) {
  weft::remote::chan<job> jobs("pipeline.jobs", 16);
  weft::remote::var<std::int64_t> done("pipeline.done", 0);
  long sum = 0;
  int got = 0, idle = 0;
  for (bool open = true; open;) {
    weft::select(weft::on_recv(jobs, [&](std::optional<job> j) {
                   if (!j) {
                     open = false;
                     return;
                   }
                   sum += static_cast<long>(j->n) * j->n;
                   ++got;
                   done.fetch_add(1);
                 }),
                 weft::on_recv(weft::after(std::chrono::milliseconds(50)), [&] { ++idle; }));
  }
  std::printf("consumer: %d jobs, sum of squares %ld (expected %ld), remote counter %lld\n", got, sum,
              static_cast<long>(count) * (count + 1) * (2 * count + 1) / 6, static_cast<long long>(done.load()));
  return got == count ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string role = argc > 1 ? argv[1] : "both";
  int count = argc > 2 ? std::atoi(argv[2]) : 1000;
  return weft::run([&]() -> int {
    if (role == "produce") {
      produce(count);
      return 0;
    }
    if (role == "consume") return static_cast<int>(consume(count));
    weft::go([count] { produce(count); });
    int rc = static_cast<int>(consume(count));
    weft::remote::remove("pipeline.jobs");
    weft::remote::remove("pipeline.done");
    return rc;
  });
}
