// tools/weft/progress.hpp: the progress line a command shows on stderr
// while it works ("weft stk: 3/40 targets answered..."), for stk, peek,
// kill and top --once.
//
// Invariants: nothing is drawn unless stderr is a terminal (a pipe or a
// file gets no carriage returns) and nothing before the command has run
// for a second (a quick command shows no flicker); nothing ever goes to
// stdout. The line is redrawn in place (\r, erase to end of line) by a
// goroutine of its own every 250 ms, so it moves while the command waits
// on the network; it is erased when the progress_line is destroyed, and
// by clear() before the command prints a message of its own on stderr.
//
// REQUIRES: made and destroyed inside weft::run, by one goroutine.
#pragma once

#include <memory>
#include <string>

namespace weft::tool {

class progress_line {
 public:
  // cmd names the command in the line ("stk": "weft stk: ...").
  explicit progress_line(const char* cmd);
  ~progress_line();  // erases the line; stops the goroutine
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  // What the line says from now on ("3/40 targets answered"); "..." is added.
  void update(std::string text);
  // Erases the line if it is drawn (the next tick draws it again), so that
  // a message can go to stderr on a line of its own.
  void clear();

  struct state;

 private:
  std::shared_ptr<state> s_;  // shared with the drawing goroutine
};

}  // namespace weft::tool
