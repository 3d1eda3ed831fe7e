// tools/conformance/os_checks.cpp: the "os" capability (docs/protocol.md,
// "OS resources"), for a server that offers it: FileOpen of a missing file
// fails with ENOENT, a file of the server's host opens, reads and closes, a
// closed or unknown handle is EBADF, and OsQuery answers for the
// environment and the host name. Read-only on purpose: the suite leaves
// nothing behind on the server's host. Skipped where "os" is not offered.
#include <cerrno>
#include <string>

#include "conformance.hpp"

namespace weft::conformance {

namespace {

bool offers_os(suite& s) {
  std::unique_ptr<client> c = s.connect();
  for (const std::string& cap : c->welcome().capabilities())
    if (cap == "os") return true;
  return false;
}

void require_os(suite& s) {
  if (!offers_os(s)) throw skipped("the server does not offer \"os\"");
}

v1::Frame ask(client& c, v1::Frame req, const std::string& what) { return c.expect(c.request(std::move(req)), what); }

v1::Frame open_file(client& c, const std::string& path) {
  v1::Frame req;
  req.mutable_file_open()->set_path(path);
  req.mutable_file_open()->set_flags(0);  // O_RDONLY
  return ask(c, req, "FileOpen " + path);
}

v1::FileResult file_op(client& c, std::uint64_t handle, v1::FileOp::Op op, std::uint64_t length = 0) {
  v1::Frame req;
  req.mutable_file_op()->set_handle(handle);
  req.mutable_file_op()->set_op(op);
  req.mutable_file_op()->set_length(length);
  v1::Frame r = ask(c, req, "FileOp " + v1::FileOp::Op_Name(op));
  require(r.has_file_result(), "FileOp " + v1::FileOp::Op_Name(op) + " answered " + describe(r) + ", not FileResult");
  return r.file_result();
}

void missing_file(suite& s) {
  require_os(s);
  std::unique_ptr<client> c = s.connect();
  v1::Frame r = open_file(*c, "/weft-conformance-no-such-dir/file");
  require(r.has_file_result() && r.file_result().errno_value() == ENOENT,
          "FileOpen of a missing file answered " + describe(r) + ", want FileResult with errno ENOENT (2)");
}

void read_and_close(suite& s) {
  require_os(s);
  std::unique_ptr<client> c = s.connect();
  v1::Frame r = open_file(*c, "/proc/self/status");  // every Linux host has one, readable
  require(r.has_file_opened(), "FileOpen /proc/self/status answered " + describe(r) + ", not FileOpened");
  std::uint64_t h = r.file_opened().handle();
  v1::FileResult read = file_op(*c, h, v1::FileOp::READ, 4096);
  require(read.errno_value() == 0 && read.data().rfind("Name:", 0) == 0,
          "READ of /proc/self/status did not return its first line (errno " + std::to_string(read.errno_value()) + ")");
  require(file_op(*c, h, v1::FileOp::CLOSE).errno_value() == 0, "CLOSE of an open file failed");
  require(file_op(*c, h, v1::FileOp::READ, 16).errno_value() == EBADF, "READ after CLOSE is not EBADF (9)");
  require(file_op(*c, 987654321, v1::FileOp::SIZE).errno_value() == EBADF, "SIZE of an unknown handle is not EBADF");
}

void environment(suite& s) {
  require_os(s);
  std::unique_ptr<client> c = s.connect();
  v1::Frame q;
  q.mutable_os_query()->set_what(v1::OsQuery::GETENV);
  q.mutable_os_query()->set_name("WEFT_CONFORMANCE_NO_SUCH_VARIABLE");
  v1::Frame r = ask(*c, q, "OsQuery GETENV");
  require(r.has_os_answer() && !r.os_answer().found(),
          "GETENV of an unset variable answered " + describe(r) + ", want OsAnswer with found false");
  q.mutable_os_query()->set_what(v1::OsQuery::HOSTNAME);
  r = ask(*c, q, "OsQuery HOSTNAME");
  require(r.has_os_answer() && r.os_answer().found() && !r.os_answer().value().empty(),
          "HOSTNAME answered " + describe(r) + ", want OsAnswer with the host's name");
}

}  // namespace

std::vector<check> os_checks() {
  return {
      {"os.open-missing-file-is-enoent", false, missing_file},
      {"os.read-and-close-a-file", false, read_and_close},
      {"os.environment-and-host-name", false, environment},
  };
}

}  // namespace weft::conformance
