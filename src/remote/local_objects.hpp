// src/remote/local_objects.hpp: remote objects that live in this process
// (no runtime server attached).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <weft/condition_variable.hpp>
#include <weft/detail/remote_core.hpp>
#include <weft/mutex.hpp>

namespace weft::remote::detail {

struct local_var {
  weft::mutex lock;
  weft::condition_variable changed;
  std::string signature;
  // Codec bytes. Guarded by lock, but not annotated: local_var_op waits on
  // `changed`, which takes a std::unique_lock, and clang's analysis cannot
  // see a std::unique_lock take a lock.
  std::string value;
};

std::shared_ptr<local_var> local_var_open(const std::string& name, const std::string& signature, std::string initial);
var_result local_var_op(local_var& v, var_opcode op, std::string value, std::string expected);
// Forgets `name`; true if there was something to forget.
bool local_remove(std::string_view name);

}  // namespace weft::remote::detail
