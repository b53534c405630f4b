// The metrics against scikit-learn: tests/oracles/metrics_oracle.py writes
// inputs and sklearn's values (random and edge cases) as JSON; every value
// must match to 1e-9. The oracle is required: if it cannot run, the tests fail.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "featreuse/core/json.hpp"
#include "featreuse/train/metrics.hpp"

namespace fs = std::filesystem;
using featreuse::train::MetricInput;
using nlohmann::json;

namespace {

constexpr double kTolerance = 1e-9;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Runs the oracle into a fresh temp file and parses it; fails the test (never
// skips) when python, numpy or sklearn are missing.
json run_oracle() {
  const char* python_env = std::getenv("FEATREUSE_ORACLE_PYTHON");
  const std::string python = python_env ? python_env : "/usr/bin/python3";
  const fs::path script = fs::path(FEATREUSE_SOURCE_DIR) / "tests/oracles/metrics_oracle.py";
  const fs::path out =
      fs::temp_directory_path() / ("featreuse_metrics_oracle_" + std::to_string(::getpid()) + ".json");
  const std::string command = quoted(python) + " " + quoted(script.string()) + " " + quoted(out.string());
  const int rc = std::system(command.c_str());
  json doc;
  if (rc != 0) {
    ADD_FAILURE() << "oracle failed (exit status " << rc << "): " << command
                  << "\n(needs Debian's python3-sklearn and python3-numpy)";
    return doc;
  }
  std::ifstream in(out);
  doc = json::parse(in);
  fs::remove(out);
  std::cout << "oracle: " << doc["cases"].size() << " cases, scikit-learn "
            << doc["sklearn_version"].get<std::string>() << "\n";
  return doc;
}

void expect_close(const json& expected, double actual, const std::string& what) {
  if (expected.is_null()) {
    EXPECT_TRUE(std::isnan(actual)) << what << ": sklearn gives NaN, we give " << actual;
  } else {
    EXPECT_NEAR(actual, expected.get<double>(), kTolerance) << what;
  }
}

// Runs classification_metrics on one oracle case and compares every key.
void check_case(const json& c) {
  const std::string name = c["name"];
  const std::vector<float> logits = c["logits"].get<std::vector<float>>();
  MetricInput input;
  input.n = c["n"];
  input.num_classes = c["num_classes"];
  input.logits = logits.data();
  std::vector<int64_t> labels;
  std::vector<float> targets;
  if (c["kind"] == "single") {
    labels = c["labels"].get<std::vector<int64_t>>();
    input.labels = labels.data();
  } else {
    targets = c["targets"].get<std::vector<float>>();
    input.targets = targets.data();
  }
  if (c.contains("error")) {
    EXPECT_THROW(featreuse::train::classification_metrics(input), featreuse::Error) << name;
    return;
  }
  const auto got = featreuse::train::classification_metrics(input);
  const json& expected = c["expected"];
  EXPECT_EQ(got.size(), expected.size()) << name << ": metric keys differ";
  for (const auto& [key, value] : expected.items()) {
    auto it = got.find(key);
    if (it == got.end()) {
      ADD_FAILURE() << name << ": missing metric " << key;
      continue;
    }
    expect_close(value, it->second, name + " " + key);
  }
}

int check_kind(const std::string& kind) {
  const json doc = run_oracle();
  int checked = 0;
  if (!doc.contains("cases")) return checked;
  for (const json& c : doc["cases"]) {
    if (c["kind"] != kind) continue;
    SCOPED_TRACE(c["name"].get<std::string>());
    check_case(c);
    ++checked;
  }
  return checked;
}

}  // namespace

TEST(MetricsOracle, SingleLabelMatchesScikitLearn) { EXPECT_GE(check_kind("single"), 20); }

TEST(MetricsOracle, MultiLabelMatchesScikitLearn) { EXPECT_GE(check_kind("multi"), 10); }

TEST(MetricsOracle, RankingMetricsMatchScikitLearn) {
  const json doc = run_oracle();
  int checked = 0;
  if (doc.contains("cases")) {
    for (const json& c : doc["cases"]) {
      if (c["kind"] != "binary_scores") continue;
      const std::string name = c["name"];
      const auto positive = c["positive"].get<std::vector<uint8_t>>();
      const auto scores = c["scores"].get<std::vector<double>>();
      if (c["roc_auc_raises"].get<bool>()) {
        EXPECT_THROW(featreuse::train::binary_roc_auc(positive, scores), featreuse::train::UndefinedMetric)
            << name;
      } else {
        expect_close(c["roc_auc"], featreuse::train::binary_roc_auc(positive, scores), name + " roc_auc");
      }
      expect_close(c["average_precision"], featreuse::train::average_precision(positive, scores),
                   name + " average_precision");
      ++checked;
    }
  }
  EXPECT_GE(checked, 5);
}
