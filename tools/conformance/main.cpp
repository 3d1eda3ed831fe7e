// tools/conformance/main.cpp: weft-conformance's command line (the suite is
// described in conformance.hpp).
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

#include <weft/run.hpp>

#include "conformance.hpp"
#include "wire/cluster_key.hpp"

namespace {

using namespace weft::conformance;

int usage() {
  std::fprintf(stderr,
               "usage: weft-conformance [--core] [--only TEXT] [--timeout-ms N] [--key FILE] [--list] ADDR\n"
               "  Runs the runtime protocol's conformance checks against the server at ADDR\n"
               "  (unix:/path or tcp:host:port, or over TLS tls:host:port or tls:unix:/path: the\n"
               "  key is then required); prints PASS or FAIL for each and exits 0 only\n"
               "  if all pass. --core: only the core part (handshake, channels, variables).\n"
               "  --only TEXT: only the checks whose name contains TEXT.\n"
               "  --key FILE: the server's cluster key (default: WEFT_KEY_FILE), for a server\n"
               "  started with one; the key checks are skipped against a server without.\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool core_only = false, list = false;
  std::string only, address, key_file;
  config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--core") {
      core_only = true;
    } else if (a == "--list") {
      list = true;
    } else if (a == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (a == "--key" && i + 1 < argc) {
      key_file = argv[++i];
    } else if (a == "--timeout-ms" && i + 1 < argc) {
      cfg.timeout = std::chrono::milliseconds(std::atoi(argv[++i]));
    } else if (a.rfind("--", 0) == 0 || !address.empty()) {
      return usage();
    } else {
      address = a;
    }
  }
  std::vector<check> checks = core_checks();
  for (check& c : key_checks()) checks.push_back(std::move(c));
  if (!core_only) {
    for (check& c : offer_checks()) checks.push_back(std::move(c));
    for (check& c : bad_input_checks()) checks.push_back(std::move(c));
    for (check& c : os_checks()) checks.push_back(std::move(c));
  }
  if (list) {
    for (const check& c : checks) std::printf("%s%s\n", c.name.c_str(), c.core ? "" : " (full)");
    return 0;
  }
  if (address.empty()) return usage();
  try {
    cfg.address = weft::wire::parse_endpoint(address);
    cfg.key = key_file.empty() ? weft::wire::cluster_key_from_env() : weft::wire::load_cluster_key(key_file);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft-conformance: %s\n", e.what());
    return 2;
  }
  // The suite speaks the protocol itself: its weft::run attaches to nothing.
  ::unsetenv("WEFT_RUNTIME");
  int passed = 0, failed = 0, skips = 0;
  weft::run([&] {
    suite s(cfg);
    for (const check& c : checks) {
      if (!only.empty() && c.name.find(only) == std::string::npos) continue;
      std::string why;
      try {
        c.run(s);
      } catch (const skipped& k) {
        ++skips;
        std::printf("SKIP %s: %s\n", c.name.c_str(), k.what());
        s.clean_up();
        continue;
      } catch (const failure& f) {
        why = f.what();
      } catch (const std::exception& e) {
        why = std::string("unexpected exception: ") + e.what();
      }
      s.clean_up();
      if (why.empty()) {
        ++passed;
        std::printf("PASS %s\n", c.name.c_str());
      } else {
        ++failed;
        std::printf("FAIL %s: %s\n", c.name.c_str(), why.c_str());
      }
      std::fflush(stdout);
    }
    s.finish();
  });
  std::printf("weft-conformance %s: %d passed, %d failed, %d skipped\n", address.c_str(), passed, failed, skips);
  return failed == 0 && passed > 0 ? 0 : 1;
}
