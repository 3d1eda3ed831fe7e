// tests/tools/weft_completion_test.cpp: `weft completion bash` in a real
// bash: the script it prints loads, registers itself for weft, and
// completes subcommands and each subcommand's options, which it takes from
// the command line parser (tools/weft/completion_cmd.hpp), so that a flag
// added later is completed too.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "child_process.hpp"

#if !defined(WEFT_TEST_WEFT)
#error "tests/CMakeLists.txt defines WEFT_TEST_WEFT for this test"
#endif

namespace {

using namespace std::chrono_literals;

// What bash completes for the words (the last one being completed), one
// per line, after sourcing the script; "complete -p weft" first.
std::string complete(const std::vector<std::string>& words, int* status) {
  std::string array;
  for (const std::string& w : words) array += " '" + w + "'";
  std::string script = "source <('" WEFT_TEST_WEFT "' completion bash) || exit 3\n";
  script += "complete -p weft || exit 4\n";
  script += "COMP_WORDS=(" + array + ")\n";
  script += "COMP_CWORD=" + std::to_string(words.size() - 1) + "\n";
  script += "_weft\n";
  script += "printf '%s\\n' \"${COMPREPLY[@]}\"\n";
  weft_test::command bash({"/bin/bash", "--norc", "-c", script});
  *status = bash.wait(20s);
  return bash.out() + bash.err();
}

TEST(WeftCompletion, TheScriptRegistersForWeftAndCompletesSubcommandsAndOptions) {
  int status = -1;
  std::string out = complete({"weft", "st"}, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("complete -o default -F _weft weft"), std::string::npos) << out;
  EXPECT_NE(out.find("\nstk\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("\nls\n"), std::string::npos) << "only what begins with st: " << out;

  out = complete({"weft", "ls", "--j"}, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\n--json\n"), std::string::npos) << out;

  out = complete({"weft", "top", "--on"}, &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("\n--once\n"), std::string::npos) << out;

  // Options of the subcommand on the line, not another's.
  out = complete({"weft", "stk", "--"}, &status);
  EXPECT_NE(out.find("\n--all\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\n--runtime\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("\n--seconds\n"), std::string::npos) << "cpu's, not stk's: " << out;

  // A flag takes no value: the word after it is completed as an option.
  out = complete({"weft", "stk", "--all", "--j"}, &status);
  EXPECT_NE(out.find("\n--json\n"), std::string::npos) << out;

  // After an option that takes a value, its value (--runtime: an address).
  out = complete({"weft", "ps", "--runtime", ""}, &status);
  EXPECT_NE(out.find("\nunix:\n"), std::string::npos) << out;
}

TEST(WeftCompletion, OnlyBashIsKnown) {
  weft_test::command zsh({WEFT_TEST_WEFT, "completion", "zsh"});
  EXPECT_EQ(zsh.wait(20s), 2);
  weft_test::command help({WEFT_TEST_WEFT, "completion", "--help"});
  EXPECT_EQ(help.wait(20s), 0);
  EXPECT_NE(help.out().find("source <(weft completion bash)"), std::string::npos) << help.out();
}

}  // namespace
