// tools/weftd/main.cpp: weftd, the runtime server (src/server/ is the
// program; this file parses arguments, handles signals and exits).
//
//   weftd [--listen unix:PATH|tcp:HOST:PORT|tls:HOST:PORT|tls:unix:PATH] [--tls] [--key FILE]
//         [--procs N] [--quiet] [--trace FILE]
//
// Prints "weftd: listening on ADDR" on stderr once it accepts
// connections; logs one line per event after that. Exits 0 on SIGTERM or
// SIGINT (its Unix socket file removed), 2 if it cannot start. With
// --trace, attached programs stream their runtime events into FILE (a
// Perfetto/Chrome trace, complete once weftd has exited) and each one's
// summary goes to stderr when it detaches, --quiet or not.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>
#include <google/protobuf/stubs/logging.h>
#include <weft/blocking.hpp>
#include <weft/go.hpp>
#include <weft/run.hpp>

#if WEFT_HAS_ETCD
#include "cluster/etcd_member.hpp"
#endif
#include "server/host_info.hpp"
#include "server/server.hpp"
#include "wire/cluster_key.hpp"
#include "wire/endpoint.hpp"

namespace {

// libprotobuf writes a line to stderr for every string field that is not
// UTF-8 when it parses: a client could fill weftd's log with lines that are
// not weftd's. The session already logs such a frame once, as bad input;
// only protobuf's fatal messages (it aborts after them) are kept.
void protobuf_log(google::protobuf::LogLevel level, const char* file, int line, const std::string& message) {
  if (level == google::protobuf::LOGLEVEL_FATAL)
    std::fprintf(stderr, "weftd: protobuf %s:%d: %s\n", file, line, message.c_str());
}

int fail(const std::string& why) {
  std::fprintf(stderr, "weftd: %s\n", why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  weft::server::options opts;
  std::string listen = opts.endpoint.text();
  int procs = weft::hardware_procs();
  CLI::App app{
      "weftd: the weft runtime server. Programs attach to it with WEFT_RUNTIME=ADDR "
      "and share its channels and variables (docs/protocol.md); weft ps, stk, peek and kill act on them."};
  app.add_option("--listen", listen,
                 "where to listen: unix:PATH or tcp:HOST:PORT (loopback only without a key); tls:HOST:PORT or "
                 "tls:unix:PATH for TLS (as --tls)")
      ->capture_default_str();
  bool tls = false;
  app.add_flag("--tls", tls,
               "require TLS 1.3 on every connection, authenticated both ways by the cluster key (a pre-shared key: "
               "no certificates); needs --key (or the default socket's own key). Clients connect to tls:HOST:PORT "
               "or tls:unix:PATH (WEFT_RUNTIME, --runtime), or set WEFT_TLS=1; workers it starts use TLS too. "
               "Default: WEFT_TLS=1 in the environment")
      ->envname("WEFT_TLS");
  app.add_option("--procs", procs, "goroutines run in parallel on this many threads")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  std::string trace_file;
  app.add_option("--trace", trace_file,
                 "record every attached program's runtime events in FILE (Chrome trace JSON: ui.perfetto.dev)");
  std::string key_file;
  app.add_option("--key", key_file,
                 "the cluster key: a file of at least 16 secret bytes, mode 0600; every client must prove it "
                 "holds the same (programs: WEFT_KEY_FILE=FILE). Required to listen beyond loopback. Default at the "
                 "default socket: this user's key on this host (made on the first start), which programs find "
                 "without WEFT_KEY_FILE");
  std::string cache_dir;
  app.add_option("--cache-dir", cache_dir,
                 "where binaries of callers on other hosts are kept, by SHA-256 (default: "
                 "$XDG_CACHE_HOME/weft/binaries, else ~/.cache/weft/binaries)");
  std::uint64_t cache_bytes = std::uint64_t{1} << 30;
  app.add_option("--cache-size", cache_bytes, "the most those binaries take, least recently used out first (512M, 4G)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  std::string host_name;
  app.add_option("--name", host_name,
                 "this host's name in the circuit (spawn_options::host pins it); default: its host name");
  std::vector<std::string> labels;
  app.add_option("--label", labels,
                 "NAME=VALUE, repeatable: a label of this host that spawns may require (spawn_options::labels)");
  app.add_option("--migrate-load-threshold", opts.state.migrate_limits.auto_rules.load_threshold,
                 "weft migrate --to auto moves a goroutine off a host whose 1-minute load per CPU is over this "
                 "(docs/migration.md)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  std::string etcd_urls;
  std::string etcd_prefix = "/weft";
#if WEFT_HAS_ETCD
  app.add_option("--etcd", etcd_urls,
                 "URL[,URL...]: join the circuit of many hosts whose membership and anchors etcd holds "
                 "(docs/cluster.md); weft ls then lists every host's workers");
  app.add_option("--etcd-prefix", etcd_prefix, "the circuit's keys in etcd start with this")->capture_default_str();
#endif
  bool no_fork_server = false;
  app.add_flag("--no-fork-server", no_fork_server,
               "start every worker from its binary, never fork it from a fork server of the binary (also: "
               "WEFT_FORK_SERVER=0 in weftd's environment; a program's own WEFT_FORK_SERVER=0 does it for its "
               "spawns)");
  bool quiet = false;
  app.add_flag("--quiet", quiet, "log nothing (weft remote's passthrough: the program's output stays its own)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit 2, like the rest of weft's start-up failures.
    app.exit(e);
    return 2;
  }
  try {
    opts.endpoint = weft::wire::parse_endpoint(listen);
    if (tls) opts.endpoint.tls = true;
    if (!key_file.empty()) {
      opts.state.cluster_key = weft::wire::load_cluster_key(key_file);
      // Absolute: workers started for other hosts' callers run in "/".
      if (char* full = ::realpath(key_file.c_str(), nullptr)) {
        opts.state.cluster_key_file = full;
        std::free(full);
      }
    } else if (opts.endpoint.plain().text() == weft::wire::default_endpoint().text()) {
      // The local weftd (the circuit's, at the default socket): its own
      // key, made on the first start; clients of this user find it.
      opts.state.cluster_key = weft::wire::ensure_default_key();
    }
    for (const std::string& l : labels) {
      std::string name, value, why;
      if (!weft::server::parse_label(l, name, value, why)) return fail("--label: " + why);
      opts.state.host_labels[name] = value;
    }
    if (!host_name.empty() && !weft::server::valid_host_name(host_name))
      return fail("--name \"" + host_name.substr(0, 100) + "\": letters, digits, '.', '-' and '_' only, at most 63");
    opts.state.host_name = host_name;
    opts.state.binary_cache_dir = cache_dir;
    opts.state.binary_cache_bytes = cache_bytes;
    const char* forks = std::getenv("WEFT_FORK_SERVER");
    opts.state.worker_limits.fork_server = !no_fork_server && !(forks != nullptr && std::string(forks) == "0");
  } catch (const std::exception& e) {
    return fail(e.what());
  }

  google::protobuf::SetLogHandler(protobuf_log);

  // SIGTERM and SIGINT are taken by sigwait on one goroutine, not by a
  // handler: blocked here, before weft::run starts its threads, they stay
  // blocked in every thread the runtime makes.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  if (quiet) opts.state.log = nullptr;
  // weftd is a server, never a client: a WEFT_RUNTIME inherited from the
  // caller's environment must not attach it to another server (or itself).
  ::unsetenv("WEFT_RUNTIME");
  weft::options run_opts;
  run_opts.procs = procs;
  return weft::run(
      [&]() -> int {
        std::unique_ptr<weft::wire::trace_log> trace;
        if (!trace_file.empty()) {
          try {
            trace = std::make_unique<weft::wire::trace_log>(
                trace_file, [](std::string_view table) { std::fwrite(table.data(), 1, table.size(), stderr); });
          } catch (const std::exception& e) {
            return fail(e.what());
          }
          opts.state.trace = trace.get();
          opts.state.self.capabilities.push_back("trace");
        }
        weft::server::server srv(opts);
        try {
          srv.listen();
        } catch (const std::invalid_argument& e) {
          return fail(e.what());  // beyond loopback, or TLS, without a key
        } catch (const std::exception& e) {
          return fail("cannot listen on " + opts.endpoint.text() + ": " + e.what());
        }
#if WEFT_HAS_ETCD
        std::unique_ptr<weft::cluster::etcd_member> member;
        if (!etcd_urls.empty()) {
          weft::cluster::member_options mo;
          for (std::size_t at = 0; at <= etcd_urls.size();) {
            std::size_t comma = std::min(etcd_urls.find(',', at), etcd_urls.size());
            if (comma > at) mo.etcd.push_back(etcd_urls.substr(at, comma - at));
            at = comma + 1;
          }
          mo.prefix = etcd_prefix;
          weft::server::server_state& st = srv.state();
          try {
            member = std::make_unique<weft::cluster::etcd_member>(
                mo, st.workers.host(), [&st] { return static_cast<std::uint32_t>(st.workers.live()); },
                [&st](std::string_view line) { st.log(line); });
            member->start();
          } catch (const std::exception& e) {
            return fail(std::string("--etcd: ") + e.what());
          }
          st.workers.set_cluster(member.get());
          st.migrations.set_cluster(member.get());  // auto weighs other hosts' loads
        }
#endif
        weft::go(weft::go_options{.stack_size = 0, .name = "weftd accept"}, [&srv] { srv.serve(); });
        srv.state().log("listening on " + srv.address());
        int sig = weft::blocking([&] {
          int s = 0;
          while (sigwait(&stop_signals, &s) != 0) {}
          return s;
        });
        srv.state().log(std::string("stopping on ") + sigabbrev_np(sig));
        srv.stop();
#if WEFT_HAS_ETCD
        if (member) member->stop();  // its leases revoked: this host's entries go at once
#endif
        if (trace) trace->close();  // after every session's end: the file is complete
        return 0;
      },
      run_opts);
}
