// tandem-lab: runs classic concurrency experiments on this machine, on real work, and says which
// method wins and by how much. Exit status: 0 ok; 1 a method answered wrongly or the methods
// disagreed; 2 bad arguments or input the user can fix (a missing directory, a bad --url-file).
#include <chrono>
#include <exception>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "lab/experiment.hpp"
#include "lab/files.hpp"
#include "lab/harness.hpp"
#include "lab/io.hpp"
#include "lab/isolation.hpp"
#include "lab/primes.hpp"
#include "lab/report.hpp"
#include "lab/sleep.hpp"
#include "tandem/cpu_count.hpp"
#include "tandem/error.hpp"
#include "tandem/process/start.hpp"

namespace {

constexpr int exit_wrong_answer = 1;
constexpr int exit_usage = 2;

int run(int argc, char** argv) {
  using namespace tandem::lab;
  // A later layer that adds an experiment adds it here; one that adds a method does not touch
  // this file (see methods.hpp).
  std::vector<std::unique_ptr<experiment>> experiments;
  experiments.push_back(make_primes_experiment());
  experiments.push_back(make_files_experiment());
  experiments.push_back(make_sleep_experiment());
  experiments.push_back(make_io_experiment());
  experiments.push_back(make_isolation_experiment());

  CLI::App app{
      "tandem-lab: classic concurrency experiments on this machine, on real work; says which "
      "method "
      "wins and by how much.",
      "tandem-lab"};
  app.footer(
      "With no subcommand, runs every experiment with its defaults (about 30 s on 2 cores).\n"
      "Several subcommands run in the order given: tandem-lab primes --limit 20000000 sleep "
      "--tasks 100\n"
      "Exit status: 0 ok; 1 a method gave a wrong answer or the methods disagreed; 2 bad arguments "
      "or\n"
      "input to fix (a missing directory, a bad --url-file).");
  bool json = false;
  app.add_flag("--json", json,
               "print one JSON document (rows, answers, verdicts) instead of tables");
  std::size_t repeats = 0;
  app.add_option("--repeat", repeats,
                 "runs of each method; the median is reported (default: 3 for primes and files, 1 "
                 "for sleep)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}));
  // Lets a parent option follow a subcommand: `tandem-lab primes --json` as well as `--json
  // primes`.
  app.fallthrough();
  std::vector<std::pair<CLI::App*, experiment*>> commands;
  for (auto& e : experiments) {
    CLI::App* sub = app.add_subcommand(e->name(), e->summary());
    sub->footer("");  // CLI11 copies the parent's footer into subcommands; theirs is the summary
    e->add_options(*sub);
    commands.emplace_back(sub, e.get());
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& err) {
    // --help and friends have exit code 0 in CLI11; every real parse error becomes our status 2.
    return app.exit(err) == 0 ? 0 : exit_usage;
  }

  std::vector<experiment*> selected;
  for (CLI::App* parsed : app.get_subcommands())
    for (auto& [sub, e] : commands)
      if (sub == parsed) selected.push_back(e);
  if (selected.empty())
    for (auto& e : experiments) selected.push_back(e.get());

  std::size_t cores = tandem::cpu_count();
  auto report = json ? make_json_reporter(std::cout) : make_table_reporter(std::cout);
  auto t0 = std::chrono::steady_clock::now();
  try {
    report->begin_run(cores);
    for (experiment* e : selected) (void)run_experiment(*e, cores, *report, repeats);
    report->finish(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
  } catch (const usage_error& err) {
    std::cout.flush();
    std::cerr << "tandem-lab: error: " << err.what() << '\n';
    return exit_usage;
  } catch (const check_error& err) {
    std::cout.flush();
    std::cerr << "tandem-lab: wrong answer: " << err.what() << '\n';
    return exit_wrong_answer;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    // First, while the program is single-threaded: starts the forkserver that the process_pool
    // rows start their workers from (and turns a spawned worker into a worker).
    tandem::process_init(argc, argv);
    return run(argc, argv);
  } catch (const std::exception& err) {
    std::cerr << "tandem-lab: error: " << err.what() << '\n';
  } catch (const tandem::cancelled_error& err) {
    std::cerr << "tandem-lab: error: cancelled: " << err.what() << '\n';
  } catch (...) {
    std::cerr << "tandem-lab: error: unknown exception\n";
  }
  return exit_wrong_answer;
}
