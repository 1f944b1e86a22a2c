// dockmig's entry point. The verb table below is both the dispatcher and the --help text;
// each verb lives in its own file under src/cli/ and only parses flags and calls into the
// library.
#include <exception>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/log_format.h"
#include "cli/verbs.h"
#include "faults/fault_points.h"
#include "transfer/frame_format.h"

namespace {

using dockmig::cli::Verb;

#if DOCKMIG_FAULT_POINTS
// The integration tests look for this to know that they can arm fault points.
constexpr const char* kBuildNote = " (test build, with fault points)";
#else
constexpr const char* kBuildNote = "";
#endif

constexpr Verb kVerbs[] = {
    {"doctor", "Check that this host can send and receive live migrations", dockmig::cli::define_doctor},
    {"migrate", "Live-migrate a running container to another host's agent", dockmig::cli::define_migrate},
    {"recover", "Settle migrations left in doubt here by a crash (also run at agent start)",
     dockmig::cli::define_recover},
    {"serve", "Run the agent that receives migrations on this host", dockmig::cli::define_serve},
    {"inspect", "Show what a migration would do with a container's parts, what it refuses, and the bytes",
     dockmig::cli::define_inspect},
    {"fleet", "The fleet of hosts in etcd: `fleet ls`, `fleet where SERVICE`", dockmig::cli::define_fleet},
    {"certs", "Make a test CA and host certificates for TLS between agents", dockmig::cli::define_certs},
};

constexpr const char* kDescription =
    "dockmig live-migrates running Docker containers between edge hosts.\n"
    "Only what the destination cannot get elsewhere crosses the link: the container's\n"
    "writable layer and its CRIU checkpoint. Image layers come from the destination's\n"
    "cache or registry.\n\n"
    "Start with `dockmig doctor` on each host.";

// A command's messages read like its results ("dockmig: error: ..."); an agent's log
// lines carry their time.
constexpr const char* kCommandPattern = "dockmig: %^%l%$: %v";
constexpr const char* kAgentPattern = "[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v";
dockmig::base::LogFormat g_log_format = dockmig::base::LogFormat::Text;

void set_up_logging(dockmig::base::LogFormat format, bool verbose) {
  g_log_format = format;
  spdlog::set_default_logger(spdlog::stderr_color_mt("dockmig"));
  spdlog::set_level(verbose ? spdlog::level::debug : spdlog::level::warn);
  if (auto formatter = dockmig::base::make_log_formatter(format))
    spdlog::set_formatter(std::move(formatter));
  else
    spdlog::set_pattern(kCommandPattern);
}

// The config file's errors name the file; CLI11 says only "INI was not able to parse KEY"
// for a key that is no option. They come before --log-format is known: as text.
int report_config_error(const CLI::App& app, const CLI::Error& error) {
  set_up_logging(dockmig::base::LogFormat::Text, false);
  const std::string file = app.get_config_ptr()->as<std::string>();
  if (dynamic_cast<const CLI::FileError*>(&error) != nullptr)
    return dockmig::cli::report_error(
        dockmig::make_error(dockmig::ErrorCode::InvalidInput, error.what(), "give --config a readable file"));
  const std::string unknown_prefix = "INI was not able to parse ";
  std::string what = error.what();
  if (what.rfind(unknown_prefix, 0) == 0) what = "unknown key `" + what.substr(unknown_prefix.size()) + "`";
  return dockmig::cli::report_error(dockmig::make_error(
      dockmig::ErrorCode::InvalidInput, "config file `" + file + "`: " + what,
      "keys are a command's long options without `--` (`listen`, `tls-cert`), under its section "
      "(`[serve]`); `dockmig serve --help` lists them"));
}

}  // namespace

namespace dockmig::cli {

void use_agent_logging() {
  if (spdlog::get_level() > spdlog::level::info) spdlog::set_level(spdlog::level::info);
  if (g_log_format == base::LogFormat::Text) spdlog::set_pattern(kAgentPattern);
}

int report_error(const Error& error) {
  spdlog::error("{}", error.describe());
  return error.code == ErrorCode::InvalidInput || error.code == ErrorCode::NotFound ? kExitBadInput
                                                                                   : kExitFailure;
}

}  // namespace dockmig::cli

int main(int argc, char** argv) {
  CLI::App app(kDescription, "dockmig");
  app.set_version_flag("--version", std::string("dockmig " DOCKMIG_VERSION) + " (agent protocol " +
                                        dockmig::transfer::version_range_text(dockmig::transfer::kSpokenVersions) +
                                        ")" + kBuildNote);
  app.require_subcommand(1);
  app.fallthrough();  // -v and --log-format after the verb too: `dockmig serve ... --log-format json`
  bool verbose = false;
  app.add_flag("-v,--verbose", verbose, "Log what dockmig does, step by step, to stderr");
  std::string log_format = "text";
  app.add_option("--log-format", log_format, "How log lines on stderr look: text, or json (one object a line)")
      ->check(CLI::IsMember({"text", "json"}))->capture_default_str();
  // CLI11 reads config files on the main app only; fallthrough lets --config follow the verb.
  app.set_config("--config", "", "Read options from FILE: `verbose = true`, and a command's options under its\n"
                 "[COMMAND] section as `NAME = VALUE` (NAME the option without `--`; lists as\n"
                 "[\"A\", \"B\"]). Options on the command line win. See /etc/dockmig/agent.conf")
      ->type_name("FILE");
  app.allow_config_extras(CLI::config_extras_mode::error);
  dockmig::cli::VerbRunner chosen;
  for (const Verb& verb : kVerbs) {
    CLI::App* command = app.add_subcommand(verb.name, verb.summary);
    dockmig::cli::VerbRunner runner = verb.define(*command);
    command->callback([&chosen, runner] { chosen = runner; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ConfigError& e) {
    return report_config_error(app, e);
  } catch (const CLI::FileError& e) {  // only the config file is read while parsing
    return report_config_error(app, e);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : dockmig::cli::kExitBadInput;
  }
  // Logs go to stderr: stdout carries the report, which --json makes a program's input.
  set_up_logging(*dockmig::base::parse_log_format(log_format), verbose);
#if DOCKMIG_FAULT_POINTS
  if (dockmig::Status armed = dockmig::faults::arm_from_environment(); !armed)
    return dockmig::cli::report_error(armed.error());
#endif
  try {
    return chosen();
  } catch (const std::exception& e) {
    // Never from inside a migration: run_migration decides the container's end first.
    spdlog::critical("internal error: {}", e.what());
    return dockmig::cli::kExitFailure;
  } catch (...) {
    spdlog::critical("internal error: an exception of an unknown type");
    return dockmig::cli::kExitFailure;
  }
}
