// tandem-lab end to end: runs the real binary with small sizes and reads what it prints.
#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab/io.hpp"
#include "temp_dir.hpp"

namespace {

using tandem::lab::testing::temp_dir;

struct outcome {
  int status = -1;  // exit status, or -1 if the process did not exit normally
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs tandem-lab with `args` (already shell-quoted where needed).
outcome lab(const std::string& args) {
  temp_dir scratch;
  auto err_path = scratch.path() / "stderr";
  std::string cmd =
      std::string("'") + TANDEM_LAB_BINARY + "' " + args + " 2>'" + err_path.string() + "'";
  outcome o;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return o;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) o.out.append(buf, n);
  int raw = ::pclose(p);
  if (raw != -1 && WIFEXITED(raw)) o.status = WEXITSTATUS(raw);
  std::ifstream in(err_path);
  std::stringstream ss;
  ss << in.rdbuf();
  o.err = ss.str();
  return o;
}

nlohmann::json parse(const outcome& o) {
  EXPECT_EQ(o.status, 0) << o.err;
  try {
    return nlohmann::json::parse(o.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not JSON (" << e.what() << "):\n" << o.out;
    return {};
  }
}

// Every row of `experiment` has the common keys, the methods agree, and the experiment carries a
// verdict; returns the rows.
std::vector<nlohmann::json> check_experiment(const nlohmann::json& doc,
                                             const std::string& experiment,
                                             const std::string& verdict_prefix) {
  std::vector<nlohmann::json> rows;
  for (const auto& r : doc.at("rows"))
    if (r.at("experiment") == experiment) rows.push_back(r);
  EXPECT_FALSE(rows.empty()) << experiment;
  if (rows.empty()) return rows;
  EXPECT_EQ(rows.front().at("method"), "sequential");
  EXPECT_EQ(rows.front().at("speedup"), 1.0);
  for (const auto& r : rows) {
    for (const char* key : {"method", "workers", "wall_s", "cpu_s", "speedup", "runs", "answer"})
      EXPECT_TRUE(r.contains(key)) << key << " missing in " << r.dump();
    EXPECT_GT(r.at("wall_s").get<double>(), 0.0) << r.dump();
    EXPECT_EQ(r.at("answer"), rows.front().at("answer")) << "methods disagree: " << r.dump();
  }
  bool found = false;
  for (const auto& e : doc.at("experiments"))
    if (e.at("name") == experiment) {
      found = true;
      EXPECT_EQ(e.at("answer"), rows.front().at("answer"));
      EXPECT_EQ(e.at("methods"), rows.size());
      EXPECT_EQ(e.at("verdict").get<std::string>().rfind(verdict_prefix, 0), 0u) << e.at("verdict");
    }
  EXPECT_TRUE(found) << experiment;
  return rows;
}

std::set<std::size_t> workers_of(const std::vector<nlohmann::json>& rows,
                                 const std::string& method) {
  std::set<std::size_t> out;
  for (const auto& r : rows)
    if (r.at("method") == method) out.insert(r.at("workers").get<std::size_t>());
  return out;
}

TEST(LabCli, PrimesJson) {
  auto doc = parse(lab("primes --limit 200000 --workers 1,2 --processes 1,2 --json"));
  ASSERT_TRUE(doc.is_object());
  EXPECT_GE(doc.at("cpu_count").get<int>(), 1);
  auto rows = check_experiment(doc, "primes", "CPU-bound: ");
  ASSERT_EQ(rows.size(), 5u);
  EXPECT_EQ(workers_of(rows, "thread_pool"), (std::set<std::size_t>{1, 2}));
  EXPECT_EQ(workers_of(rows, "process_pool"), (std::set<std::size_t>{1, 2}));
  EXPECT_EQ(rows.front().at("answer").at("primes"), 17'984);  // pi(200,000)
  for (const auto& r : rows)
    EXPECT_NEAR(r.at("efficiency").get<double>(),
                r.at("speedup").get<double>() / r.at("workers").get<double>(), 1e-9);
}

TEST(LabCli, PrimesHasProcessPoolRowsByDefault) {
  auto doc = parse(lab("primes --limit 100000 --workers 1 --repeat 1 --json"));
  auto rows = check_experiment(doc, "primes", "CPU-bound: ");
  std::size_t cores = doc.at("cpu_count").get<std::size_t>();
  std::set<std::size_t> expected{2, cores};
  std::set<std::size_t> seen;
  for (const auto& r : rows)
    if (r.at("method").get<std::string>().find("process_pool") != std::string::npos)
      seen.insert(r.at("workers").get<std::size_t>());
  EXPECT_EQ(seen, expected);
  const auto& verdict = doc.at("experiments").at(0).at("verdict").get_ref<const std::string&>();
  EXPECT_NE(verdict.find("; process_pool with "), std::string::npos) << verdict;
}

TEST(LabCli, JsonFlagMayComeFirst) {
  auto doc = parse(lab("--json primes --limit 1000 --workers 2 --repeat 1"));
  auto rows = check_experiment(doc, "primes", "CPU-bound: ");
  EXPECT_EQ(rows.front().at("answer").at("primes"), 168);
  EXPECT_EQ(rows.front().at("runs"), 1);
}

TEST(LabCli, FilesJsonOnATreeWeBuilt) {
  temp_dir dir;
  std::uint64_t bytes = 0;
  for (int i = 0; i < 50; ++i) {
    std::string content(static_cast<std::size_t>(i) * 1000, static_cast<char>('a' + i % 26));
    bytes += content.size();
    dir.write(fmt::format("d{}/f{}", i % 4, i), content);
  }
  auto doc = parse(
      lab(fmt::format("files --dir '{}' --workers 2,8 --processes 2 --json", dir.path().string())));
  auto rows = check_experiment(doc, "files", "Files: ");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(workers_of(rows, "thread_pool"), (std::set<std::size_t>{2, 8}));
  EXPECT_EQ(workers_of(rows, "process_pool"), (std::set<std::size_t>{2}));
  const auto& answer = rows.front().at("answer");
  EXPECT_EQ(answer.at("files"), 50);
  EXPECT_EQ(answer.at("bytes"), bytes);
  EXPECT_EQ(answer.at("unreadable"), 0);
  EXPECT_EQ(answer.at("checksum").get<std::string>().size(), 16u);
  for (const auto& r : rows) {
    EXPECT_NEAR(r.at("files_per_s").get<double>(), 50.0 / r.at("wall_s").get<double>(),
                1e-6 * r.at("files_per_s").get<double>());
    EXPECT_TRUE(r.contains("mb_per_s"));
  }
  EXPECT_EQ(doc.at("experiments").at(0).at("parameters").at("files"), 50);
}

TEST(LabCli, SleepJson) {
  auto doc = parse(lab("sleep --tasks 40 --latency-ms 5 --json"));
  auto rows = check_experiment(doc, "sleep", "Latency-bound: ");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(workers_of(rows, "thread_pool"), (std::set<std::size_t>{8, 32, 128}));
  EXPECT_EQ(rows.front().at("answer").at("tasks"), 40);
  EXPECT_EQ(rows.front().at("answer").at("token_sum"), 40 * 41 / 2);
  EXPECT_GE(rows.front().at("wall_s").get<double>(), 0.2);  // 40 x 5 ms, one at a time
  for (const auto& r : rows) EXPECT_TRUE(r.contains("tasks_per_s"));
}

TEST(LabCli, IoJson) {
  auto o = lab("io --requests 60 --latency-ms 2 --sample 12 --workers 4 --concurrency 8,30 --json");
  ASSERT_EQ(o.status, 0) << o.err;
  auto doc = parse(o);
  std::vector<nlohmann::json> rows;
  for (const auto& r : doc.at("rows"))
    if (r.at("experiment") == "io") rows.push_back(r);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows.front().at("method"), "sequential");
  EXPECT_EQ(rows.front().at("sample"), 12);
  EXPECT_EQ(rows.front().at("answer").at("requests"), 12);
  EXPECT_EQ(workers_of(rows, "thread_pool"), (std::set<std::size_t>{4}));
  EXPECT_EQ(workers_of(rows, "http::session"), (std::set<std::size_t>{8, 30}));
  for (const auto& r : rows) {
    EXPECT_TRUE(r.contains("requests_per_s")) << r.dump();
    EXPECT_TRUE(r.contains("peak_rss_mb")) << r.dump();
    if (r.at("method") != "sequential") {
      EXPECT_EQ(r.at("answer").at("requests"), 60);
      EXPECT_EQ(r.at("answer").at("token_sum"), 60 * 61 / 2);
    }
  }
  const auto& e = doc.at("experiments").at(0);
  EXPECT_EQ(e.at("name"), "io");
  EXPECT_EQ(e.at("verdict").get<std::string>().rfind("I/O-bound", 0), 0u) << e.at("verdict");
}

TEST(LabCli, IoUrlFileFetchesTheListedUrls) {
  tandem::lab::latency_server server(1);
  temp_dir dir;
  std::string list = "# two items and a missing page\n";
  for (std::size_t k = 0; k < 2; ++k) list += server.url(k) + "\n";
  list += fmt::format("\nhttp://127.0.0.1:{}/missing\n", server.port());
  auto path = dir.write("urls.txt", list);
  auto doc = parse(
      lab(fmt::format("io --url-file '{}' --workers 2 --concurrency 3 --json", path.string())));
  ASSERT_EQ(doc.at("rows").size(), 3u);  // sequential (3 URLs: no sample), thread_pool, session
  for (const auto& r : doc.at("rows")) {
    EXPECT_EQ(
        r.at("answer"),
        (nlohmann::json{
            {"requests", 3}, {"ok", 2}, {"not_2xx", 1}, {"bytes", r.at("answer").at("bytes")}}))
        << r.dump();
    EXPECT_EQ(r.at("not_2xx"), 1) << r.dump();
  }
  EXPECT_EQ(doc.at("rows").at(2).at("method"), "http::session");
  const auto& e = doc.at("experiments").at(0);
  EXPECT_EQ(e.at("methods_agree"), false);
  EXPECT_EQ(e.at("parameters").at("url_file"), path.string());
  EXPECT_NE(e.at("verdict").get<std::string>().find("Not every answer was 2xx"), std::string::npos)
      << e.at("verdict");
}

TEST(LabCli, IoUrlFileErrorsNameTheFileAndTheLine) {
  temp_dir dir;
  std::string missing = (dir.path() / "missing.txt").string();
  auto o = lab(fmt::format("io --url-file '{}'", missing));
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "tandem-lab: error: cannot read the URL file " + missing +
                       ": No such file or directory\n");
  EXPECT_EQ(o.out, "") << "an error before any experiment ran prints nothing to stdout";
  auto bad = dir.write("bad.txt", "http://127.0.0.1:1/a\n# fine\nftp://x\n");
  o = lab(fmt::format("io --url-file '{}'", bad.string()));
  EXPECT_EQ(o.status, 2);
  EXPECT_EQ(o.err, "tandem-lab: error: " + bad.string() + ":3: not an http(s) URL: \"ftp://x\"\n");
  EXPECT_EQ(o.out, "");
  o = lab(fmt::format("io --url-file '{}' --requests 5", bad.string()));
  EXPECT_EQ(o.status, 2) << "--requests does not apply to a URL file";
}

TEST(LabCli, IsolationJson) {
  auto doc = parse(lab("isolation --tasks 50 --crash-at 10 --workers 2 --json"));
  std::vector<nlohmann::json> rows;
  for (const auto& r : doc.at("rows"))
    if (r.at("experiment") == "isolation") rows.push_back(r);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].at("method"), "thread_pool");
  EXPECT_EQ(rows[1].at("method"), "process_pool");
  const auto& threads = rows[0].at("answer");
  EXPECT_EQ(threads.at("program_died"), true);
  EXPECT_EQ(threads.at("completed"), 0);
  EXPECT_EQ(threads.at("lost"), 50);
  const auto& processes = rows[1].at("answer");
  EXPECT_EQ(processes.at("program_died"), false);
  EXPECT_EQ(processes.at("completed"), 49);
  EXPECT_EQ(processes.at("failed"), 1);
  EXPECT_EQ(processes.at("lost"), 0);
  EXPECT_NE(processes.at("error").get<std::string>().find("worker pid"), std::string::npos)
      << processes.dump();
  for (const auto& r : rows) {
    EXPECT_EQ(r.at("workers"), 2);
    EXPECT_TRUE(r.at("speedup").is_null());
  }
  const auto& e = doc.at("experiments").at(0);
  EXPECT_EQ(e.at("name"), "isolation");
  EXPECT_EQ(e.at("methods_agree"), false);
  EXPECT_EQ(e.at("verdict").get<std::string>().rfind("Isolation: task 10 of 50", 0), 0u)
      << e.at("verdict");
}

TEST(LabCli, IsolationTableAndABadCrashAt) {
  auto o = lab("isolation --tasks 20 --crash-at 3");
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("== isolation | 20 tasks on 2 workers, task 3 writes through a null "
                       "pointer"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("  expected: 20 tasks; task 3 crashes, so at most 19 results can come back"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("the other 19 tasks completed"), std::string::npos) << o.out;
  auto bad = lab("isolation --tasks 20 --crash-at 20");
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find("--crash-at 20 is not below --tasks 20"), std::string::npos) << bad.err;
}

TEST(LabCli, SeveralSubcommandsRunInOrder) {
  auto doc = parse(
      lab("sleep --tasks 4 --latency-ms 1 --workers 2 primes --limit 100 --workers 1 --json"));
  ASSERT_EQ(doc.at("experiments").size(), 2u);
  EXPECT_EQ(doc.at("experiments").at(0).at("name"), "sleep");
  EXPECT_EQ(doc.at("experiments").at(1).at("name"), "primes");
  EXPECT_EQ(doc.at("experiments").at(1).at("answer").at("primes"), 25);
}

TEST(LabCli, HumanTableNamesExperimentCoresSizeAndVerdict) {
  auto o = lab("primes --limit 10000 --workers 1,2 --processes 2");
  ASSERT_EQ(o.status, 0) << o.err;
  EXPECT_NE(o.out.find("== primes | limit 10,000 in 64 ranges | cpu_count() = "), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("efficiency"), std::string::npos);
  EXPECT_NE(o.out.find("\n  process_pool "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("answer: 1,229 primes below 10,000 (all 4 methods agree)"),
            std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("\n  CPU-bound: "), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("\ntotal: "), std::string::npos);
}

TEST(LabCli, MissingDirectoryIsExitStatus2) {
  temp_dir dir;
  auto o = lab(fmt::format("files --dir '{}'", (dir.path() / "does-not-exist").string()));
  EXPECT_EQ(o.status, 2);
  EXPECT_NE(o.err.find("directory not found"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("does-not-exist"), std::string::npos) << o.err;
  EXPECT_EQ(o.out, "") << "an error before any experiment ran prints nothing to stdout";
}

TEST(LabCli, BadArgumentsAreExitStatus2) {
  for (const char* args : {"primes --limit abc", "primes --workers 0", "primes --workers 1,x",
                           "frobnicate", "sleep --tasks 0", "--repeat 0", "primes --no-such-option",
                           "primes --processes 0", "isolation --workers 0"}) {
    auto o = lab(args);
    EXPECT_EQ(o.status, 2) << args << "\nstdout:\n" << o.out << "\nstderr:\n" << o.err;
    EXPECT_FALSE(o.err.empty()) << args;
  }
}

TEST(LabCli, HelpExplainsEachExperimentInOneLine) {
  auto o = lab("--help");
  ASSERT_EQ(o.status, 0) << o.err;
  for (const char* line :
       {"primes", "CPU-bound: count primes", "files", "XXH3-hash every regular file", "sleep",
        "Latency-bound", "isolation", "Faults: one of", "--json", "Exit status"})
    EXPECT_NE(o.out.find(line), std::string::npos) << line << " missing from:\n" << o.out;
  auto sub = lab("files --help");
  EXPECT_EQ(sub.status, 0);
  EXPECT_NE(sub.out.find("--dir"), std::string::npos) << sub.out;
}

}  // namespace
