#include "checkpoint/lent_runc_config.h"
#include "checkpoint/runc_criu_config.h"

#include <gtest/gtest.h>

namespace dockmig::checkpoint {
namespace {

TEST(ParseCriuConfig, ReadsOptionsWithOrWithoutDashes) {
  TcpOptions options = parse_criu_config("# for busy services\n--tcp-close\n  skip-in-flight  \n");
  EXPECT_TRUE(options.file_exists);
  EXPECT_TRUE(options.tcp_close);
  EXPECT_TRUE(options.skip_in_flight);
  EXPECT_FALSE(options.tcp_established);
  EXPECT_TRUE(options.ready_for_busy_services());
}

TEST(ParseCriuConfig, IgnoresCommentedOutOptions) {
  TcpOptions options = parse_criu_config("#tcp-close\nskip-in-flight # tcp-established\n");
  EXPECT_FALSE(options.tcp_close);
  EXPECT_FALSE(options.tcp_established);
  EXPECT_TRUE(options.skip_in_flight);
  EXPECT_FALSE(options.ready_for_busy_services());
}

TEST(ReadRuncCriuConfig, AMissingFileHasNoOptions) {
  TcpOptions options = read_runc_criu_config("/nonexistent/runc.conf");
  EXPECT_FALSE(options.file_exists);
  EXPECT_FALSE(options.ready_for_busy_services());
}

TEST(TcpDumpFailureHint, NamesTheConfigFixForAnInFlightConnection) {
  std::string excerpt = "    (00.05) Error (criu/sk-inet.c:199): inet: In-flight connection (l) for 9\n";
  std::string hint = tcp_dump_failure_hint(excerpt, TcpOptions{});
  EXPECT_NE(hint.find("skip-in-flight"), std::string::npos);
  EXPECT_NE(hint.find("/etc/criu/runc.conf"), std::string::npos);
}

TEST(TcpDumpFailureHint, IsEmptyWhenTheConfigAlreadyHasTheOption) {
  std::string excerpt =
      "Error (criu/sk-inet.c:210): inet: Connected TCP socket, consider using --tcp-established option.\n";
  TcpOptions options = parse_criu_config("tcp-close\nskip-in-flight\n");
  EXPECT_EQ(tcp_dump_failure_hint(excerpt, options), "");
  EXPECT_NE(tcp_dump_failure_hint(excerpt, TcpOptions{}), "");
  EXPECT_EQ(tcp_dump_failure_hint("Error: something else\n", TcpOptions{}), "");
}

TEST(LentTcpLines, AddWhatTheHostsFileLacksAndKeepItsChoice) {
  EXPECT_EQ(lent_tcp_lines(""), "skip-in-flight\ntcp-close\n");
  EXPECT_EQ(lent_tcp_lines("# an operator's file\nskip-in-flight\n"), "tcp-close\n");
  EXPECT_EQ(lent_tcp_lines("--tcp-close\nskip-in-flight\n"), "");
  EXPECT_EQ(lent_tcp_lines("tcp-established\n"), "skip-in-flight\n") << "connections the operator keeps stay kept";
}

TEST(LentTcpLines, EstablishedKeepsConnectionsWhateverTheHostsFileSays) {
  EXPECT_EQ(lent_tcp_lines("", TcpMode::Established), "skip-in-flight\ntcp-established\n");
  EXPECT_EQ(lent_tcp_lines("skip-in-flight\ntcp-established\n", TcpMode::Established), "");
  std::string lent = lent_config_text(std::string("# the operator's\n--tcp-close\nskip-in-flight\n"),
                                      "images-dir /x\n", TcpMode::Established);
  TcpOptions options = parse_criu_config(lent);
  EXPECT_FALSE(options.tcp_close) << "one lend with --tcp established overrides the host's tcp-close:\n" << lent;
  EXPECT_TRUE(options.tcp_established);
  EXPECT_TRUE(options.skip_in_flight);
  EXPECT_NE(lent.find("# the operator's\n"), std::string::npos);
  EXPECT_NE(lent.find("images-dir /x\n"), std::string::npos);
}

TEST(LentConfigText, CloseLeavesTheHostsFileAsItIsAndAddsWhatItLacks) {
  EXPECT_EQ(lent_config_text(std::nullopt, "work-dir /w\n", TcpMode::Close), "work-dir /w\nskip-in-flight\ntcp-close\n");
  EXPECT_EQ(lent_config_text(std::string("tcp-established\n"), "", TcpMode::Close), "tcp-established\n\nskip-in-flight\n");
}

}  // namespace
}  // namespace dockmig::checkpoint
