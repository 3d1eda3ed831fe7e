// tools/weft/progress.cpp: progress_line (progress.hpp). The drawing
// goroutine and the command share one state under a weft::mutex; the
// goroutine waits on a condition variable with a 250 ms timeout, so the
// destructor wakes it at once and a command never waits for a tick.
#include "progress.hpp"

#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include <weft/condition_variable.hpp>
#include <weft/go.hpp>
#include <weft/mutex.hpp>
#include <weft/wait_group.hpp>

namespace weft::tool {

struct progress_line::state {
  weft::mutex mu;
  weft::condition_variable cv;
  std::string cmd;
  std::string text;  // what to draw
  bool done = false;
  bool drawn = false;  // the line is on the terminal now
  std::string shown;  // what it says, when drawn
  std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
  weft::wait_group ended;

  // REQUIRES: mu held.
  void erase() {
    if (!drawn) return;
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
    drawn = false;
  }
};

progress_line::progress_line(const char* cmd) {
  if (::isatty(STDERR_FILENO) != 1) return;  // s_ stays null: nothing to draw, ever
  s_ = std::make_shared<state>();
  s_->cmd = cmd;
  s_->ended.add(1);
  weft::go(weft::go_options{.name = "weft progress line"}, [s = s_] {
    std::unique_lock<weft::mutex> lk(s->mu);
    while (!s->done) {
      s->cv.wait_for(lk, std::chrono::milliseconds(250));
      if (s->done || s->text.empty()) continue;
      if (std::chrono::steady_clock::now() - s->since < std::chrono::seconds(1)) continue;
      if (s->drawn && s->shown == s->text) continue;  // no change: no redraw
      s->shown = s->text;
      std::fprintf(stderr, "\r\033[Kweft %s: %s...", s->cmd.c_str(), s->text.c_str());
      std::fflush(stderr);
      s->drawn = true;
    }
    s->erase();
    lk.unlock();
    s->ended.done();
  });
}

progress_line::~progress_line() {
  if (!s_) return;
  {
    std::unique_lock<weft::mutex> lk(s_->mu);
    s_->done = true;
  }
  s_->cv.notify_all();
  s_->ended.wait();
}

void progress_line::update(std::string text) {
  if (!s_) return;
  std::unique_lock<weft::mutex> lk(s_->mu);
  s_->text = std::move(text);
}

void progress_line::clear() {
  if (!s_) return;
  std::unique_lock<weft::mutex> lk(s_->mu);
  s_->erase();
}

}  // namespace weft::tool
