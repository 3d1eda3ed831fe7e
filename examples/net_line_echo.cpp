// examples/net_line_echo.cpp: a line-based TCP server and its clients in
// one program, on weft::net: a goroutine per connection, lines read through
// a small buffered reader, a read deadline that expires and leaves the
// connection usable, half-close, and a shutdown that closes the listener
// and every connection through a weft::scope's stop token. docs/net.md
// walks through it.
//
//   net_line_echo
//
// The server answers each line with its number and the line in capitals,
// and "bye after N lines" once the client has half-closed. Prints what the
// clients sent and got; exits 1 if anything differs from what it must be.

#include <weft/net.hpp>
#include <weft/weft.hpp>

#include <atomic>
#include <cctype>
#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <system_error>

namespace {

using namespace std::chrono_literals;
using clk = std::chrono::steady_clock;
namespace net = weft::net;

// Lines from a conn (Go's bufio.Reader.ReadString('\n')): reads as much as
// the socket has and keeps what follows the first line for the next call.
class line_reader {
 public:
  explicit line_reader(net::conn& c) : c_(c) {}
  // The next line, without its '\n'; nullopt at end of stream. A read that
  // throws (a deadline, a close) loses nothing: the buffer stays.
  std::optional<std::string> next() {
    for (;;) {
      if (std::size_t nl = buf_.find('\n'); nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        return line;
      }
      char tmp[512];
      std::size_t n = c_.read(std::as_writable_bytes(std::span(tmp)));
      if (n == 0) return std::nullopt;  // a last line without '\n' is dropped
      buf_.append(tmp, n);
    }
  }

 private:
  net::conn& c_;
  std::string buf_;
};

bool is_closed(const std::system_error& e) { return e.code() == std::errc::bad_file_descriptor; }

// Runs body; meanwhile a stop request on `stop` closes x (a conn or a
// listener), which wakes body out of accept, read or write with
// errc::bad_file_descriptor. The close happens in a goroutine of its own,
// never inside a std::stop_callback (docs/net.md says why).
template <class Closable, class Body>
void close_on_stop(std::stop_token stop, Closable& x, Body body) {
  weft::chan<int> done;
  weft::scope watcher;  // joined before x can go away
  watcher.go([&] { weft::select(weft::on_stop(stop, [&] { x.close(); }), weft::on_recv(done, [] {})); });
  struct finish {
    weft::chan<int>& done;
    ~finish() { done.close(); }  // body is over: the watcher leaves
  } f{done};
  body();
}

std::atomic<int> served{0}, cut{0};

// One connection: "N: LINE" for every line, "bye after N lines" at end of stream.
void serve(std::stop_token stop, net::conn c) {
  close_on_stop(stop, c, [&] {
    try {
      line_reader in(c);
      int n = 0;
      while (auto line = in.next()) {
        for (char& ch : *line) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        c.write(std::to_string(++n) + ": " + *line + "\n");
      }
      c.write("bye after " + std::to_string(n) + " lines\n");
      ++served;
    } catch (const std::system_error& e) {
      if (!is_closed(e)) throw;  // a real failure: the scope stops everything and rethrows it
      ++cut;                     // closed at shutdown
    }
  });
}

// Accepts until the listener is closed; each connection gets a goroutine
// of the same scope.
void accept_loop(std::stop_token stop, net::listener& ln, weft::scope& server) {
  close_on_stop(stop, ln, [&] {
    for (;;) {
      net::conn c;
      try {
        c = ln.accept();
      } catch (const std::system_error& e) {
        if (is_closed(e)) return;
        throw;
      }
      server.go(serve, std::move(c));
    }
  });
}

// Sends line, returns the reply line.
std::string ask(net::conn& c, line_reader& in, const std::string& line) {
  c.write(line + "\n");
  return in.next().value_or("<end of stream>");
}

}  // namespace

int main() {
  return weft::run([] {
    bool ok = true;
    net::listener ln = net::listen("tcp", "127.0.0.1:0");  // port 0: the kernel picks one
    weft::scope server;
    server.go(accept_loop, std::ref(ln), std::ref(server));

    net::conn c = net::dial("tcp", ln.address());
    line_reader in(c);
    std::string r1 = ask(c, in, "hello");
    std::printf("sent \"hello\", got \"%s\"\n", r1.c_str());
    // One line written in two pieces still arrives as one line.
    c.write("split across ");
    c.write("two writes\n");
    std::string r2 = in.next().value_or("");
    std::printf("sent a line in two writes, got \"%s\"\n", r2.c_str());
    ok = ok && r1 == "1: HELLO" && r2 == "2: SPLIT ACROSS TWO WRITES";

    // Nothing to read: the deadline expires, and the conn goes on working.
    c.set_read_deadline(clk::now() + 50ms);
    std::string outcome = "a line?";
    try {
      in.next();
    } catch (const std::system_error& e) {
      outcome = e.code() == std::errc::timed_out ? "timed out (" + e.code().message() + ")" : e.what();
    }
    c.set_read_deadline(clk::time_point::max());  // cleared
    std::string r3 = ask(c, in, "again");
    std::printf("read with a 50 ms deadline: %s; then sent \"again\", got \"%s\"\n", outcome.c_str(), r3.c_str());
    ok = ok && outcome.starts_with("timed out") && r3 == "3: AGAIN";

    // Half-close: the server reads end of stream, answers, and closes.
    c.close_write();
    std::string bye = in.next().value_or("");
    bool eof = !in.next();
    std::printf("half-closed; the server said \"%s\", then end of stream: %s\n", bye.c_str(), eof ? "yes" : "no");
    ok = ok && bye == "bye after 3 lines" && eof;

    // A client that stays connected keeps its server goroutine in read();
    // shutting the scope down closes that connection and the listener.
    net::conn idle = net::dial("tcp", ln.address());
    line_reader idle_in(idle);
    std::string r4 = ask(idle, idle_in, "still there?");  // now it is being served
    server.request_stop();
    server.wait();  // the accept loop and every connection's goroutine have returned
    bool idle_eof = !idle_in.next();
    std::printf("a second client got \"%s\"; at shutdown it reads end of stream: %s\n", r4.c_str(),
                idle_eof ? "yes" : "no");
    std::printf("server: %d connection(s) served to the end, %d cut short by the shutdown\n", served.load(),
                cut.load());
    ok = ok && r4 == "1: STILL THERE?" && idle_eof && served.load() == 1 && cut.load() == 1;
    return ok ? 0 : 1;
  });
}
