#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include "featreuse/core/error.hpp"
#include "featreuse/grid/axis_order.hpp"
#include "featreuse/grid/job.hpp"
#include "featreuse/grid/plan.hpp"
#include "featreuse/grid/scheduler.hpp"

using namespace featreuse;
using namespace featreuse::grid;

namespace {

const std::string kConfigs = std::string(FEATREUSE_SOURCE_DIR) + "/tests/data/configs";

Catalog catalog() {
  Catalog c;
  c.init_schemes = {{"ri", false, json::object()},
                    {"wt", true, json::object()},
                    {"wtst", true, json{{"wt_blocks", nullptr}}, /*needs_st=*/true},
                    {"st", true, json::object(), /*needs_st=*/true}};
  c.check_model = [](const json& model, const std::string& where) {
    if (model["arch"] != "resnet") throw ConfigError(where, "arch", "unknown architecture");
  };
  AnalysisScheme knn{"knn", json{{"k", 200}, {"temperature", 0.1}}};
  knn.check = [](const json& options) {
    if (options["k"].get<int64_t>() < 1) throw Error("option k must be at least 1");
  };
  AnalysisScheme cross{"cka_cross", json::object(), "st"};
  AnalysisScheme other_only{"other_only", json::object()};
  other_only.applies = [](const json& cell) { return cell["model"]["name"] == "other"; };
  c.analyses = {knn, cross, other_only};
  // Every analysis: 1 of its own, and the best checkpoint's test pass (1), shared.
  c.estimate_analysis_cost = [](const json&, const json& cell) {
    const double gflops = cell["model"]["gflops"].get<double>();
    return AnalysisCost{gflops, {{"best", gflops}}};
  };
  c.estimate_cost = [](const json& config) {
    // Like the real catalog: import and ST-draw tasks carry no recipe.
    if (!config.contains("recipe")) return 1.0;
    return config["model"]["gflops"].get<double>() * config["recipe"]["epochs"].get<double>() * 1000;
  };
  return c;
}

Plan plan_of(const std::string& yaml) {
  return expand(parse_job(parse_yaml(yaml, "job.yaml"), kConfigs), catalog());
}

std::string error_of(const std::string& yaml) {
  try {
    plan_of(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

const char* kDemo = R"(
name: t
sources:
  src_tiny: {model: tiny, dataset: fm, seed: 0, recipe: {epochs: 3}}
grid:
  model: [tiny]
  dataset: [fm]
  init: [ri, wt]
  seed: [0, 1, 2]
  train_size: [10, 20]
)";

}  // namespace

TEST(Grid, ExpandsTheCartesianProductWithSources) {
  Plan plan = plan_of(kDemo);
  EXPECT_EQ(plan.grid_points, 12);
  ASSERT_EQ(plan.tasks.size(), 13u);  // 1 source + 12 cells
  EXPECT_EQ(plan.tasks[0].kind, TaskKind::source);
  std::set<std::string> ids;
  for (const auto& t : plan.tasks) ids.insert(t.id);
  EXPECT_EQ(ids.size(), 13u);
  int with_dep = 0;
  for (const auto& t : plan.tasks) {
    EXPECT_EQ(t.id.size(), 12u);
    if (t.kind == TaskKind::cell && t.axes["init"] == "wt") {
      ASSERT_EQ(t.deps.size(), 1u);
      EXPECT_EQ(t.deps[0], plan.tasks[0].id);
      EXPECT_EQ(t.config["init"]["source"], plan.tasks[0].id);
      ++with_dep;
    }
  }
  EXPECT_EQ(with_dep, 6);
  // The source outranks every cell: it is on the longest path.
  for (const auto& t : plan.tasks)
    if (t.kind == TaskKind::cell) EXPECT_GT(plan.tasks[0].priority, t.priority);
}

TEST(Grid, IdsAreStableAndIndependentOfAxisOrder) {
  Plan a = plan_of(kDemo);
  Plan b = plan_of(kDemo);
  Plan c = plan_of(R"(
name: other-name
sources:
  src_tiny: {model: tiny, dataset: fm, seed: 0, recipe: {epochs: 3}}
grid:
  train_size: [20, 10]
  seed: [2, 1, 0]
  init: [wt, ri]
  dataset: [fm]
  model: [tiny]
)");
  std::set<std::string> ia, ic;
  for (size_t i = 0; i < a.tasks.size(); ++i) {
    EXPECT_EQ(a.tasks[i].id, b.tasks[i].id);
    ia.insert(a.tasks[i].id);
  }
  for (const auto& t : c.tasks) ic.insert(t.id);
  EXPECT_EQ(ia, ic);
  // A pinned id: changing hashing or canonical form would orphan every store.
  EXPECT_EQ(task_id(json{{"a", 1}, {"b", {1, 2}}}), task_id(json::parse(R"({"b":[1,2],"a":1})")));
}

TEST(Grid, DataLocationIsNotPartOfTheId) {
  json config = plan_of(kDemo).tasks[1].config;
  json moved = config;
  moved["dataset"]["root"] = "/elsewhere";
  EXPECT_EQ(task_id(config), task_id(moved));
  moved["dataset"]["val_size"] = 7;
  EXPECT_NE(task_id(config), task_id(moved));
}

// Recipe keys added after stores existed: their default is left out of ids
// (stores made before them keep their cells), any other value changes them.
TEST(Grid, NewRecipeKeysAtTheirDefaultKeepTheIds) {
  const json config = plan_of(kDemo).tasks[1].config;
  ASSERT_TRUE(config.contains("recipe"));
  for (const auto& [key, silent, other] :
       {std::tuple<std::string, json, json>{"checkpoint_dtype", "float32", "bfloat16"},
        {"memory_format", "contiguous", "channels_last"},
        {"cuda_graphs", false, true}}) {
    json with = config;
    with["recipe"].erase(key);
    const std::string without_key = task_id(with);
    with["recipe"][key] = silent;
    EXPECT_EQ(task_id(with), without_key) << key;
    with["recipe"][key] = other;
    EXPECT_NE(task_id(with), without_key) << key;
  }
}

TEST(Grid, FiltersIncludeAndExclude) {
  Plan plan = plan_of(std::string(kDemo) + R"(
exclude:
  - {init: wt, train_size: 20}
include:
  - {seed: [0, 1]}
)");
  EXPECT_EQ(plan.filtered, 4 + 2);  // seed 2 (4 points), then wt x 20 for seeds 0 and 1
  for (const auto& t : plan.tasks) {
    if (t.kind != TaskKind::cell) continue;
    EXPECT_NE(t.axes["seed"], 2);
    EXPECT_FALSE(t.axes["init"] == "wt" && t.axes["train_size"] == 20);
  }
}

TEST(Grid, AxesThatDoNotApplyCollapseIntoOneCell) {
  Plan plan = plan_of(R"(
sources:
  s: {model: tiny, dataset: fm}
grid:
  model: [tiny]
  dataset: [fm]
  init: [ri, wtst]
  wt_blocks: [0, 1, 2]
)");
  EXPECT_EQ(plan.duplicates, 2);  // ri ignores wt_blocks
  int ri = 0;
  for (const auto& t : plan.tasks)
    if (t.kind == TaskKind::cell && t.axes["init"] == "ri") {
      ++ri;
      EXPECT_TRUE(t.axes["wt_blocks"].is_null());
      EXPECT_TRUE(t.axes["source"].is_null());
    }
  EXPECT_EQ(ri, 1);
}

TEST(Grid, SourceOfAnotherModelIsSkipped) {
  Plan plan = plan_of(R"(
sources:
  a: {model: tiny, dataset: fm}
  b: {model: other, dataset: fm}
grid:
  model: [tiny, other]
  dataset: [fm]
  init: [wt]
  source: [a, b]
)");
  EXPECT_EQ(plan.source_mismatch, 2);
  EXPECT_EQ(plan.tasks.size(), 4u);
}

TEST(Grid, DependenciesComeFirstAndSourcesChain) {
  Plan plan = plan_of(R"(
sources:
  second: {model: tiny, dataset: fm, init: wt, source: first}
  first: {model: tiny, dataset: fm}
grid:
  model: [tiny]
  dataset: [fm]
  init: [wt]
  source: [second]
)");
  ASSERT_EQ(plan.tasks.size(), 3u);
  EXPECT_EQ(plan.tasks[0].key, "source=first");
  EXPECT_EQ(plan.tasks[1].key, "source=second");
  EXPECT_EQ(plan.tasks[1].deps, std::vector<std::string>{plan.tasks[0].id});
  EXPECT_EQ(plan.tasks[2].deps, std::vector<std::string>{plan.tasks[1].id});
}

TEST(Grid, JobMistakesNameFileKeyAndExpectation) {
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm]}\nrecipes: x\n")
                .find("job.yaml:2: key 'recipes': unknown top-level key"),
            std::string::npos);
  EXPECT_NE(error_of("grid: {model: [nope], dataset: [fm]}").find("unknown model 'nope'"), std::string::npos);
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm]}").find("(no error)"), std::string::npos);
  const std::string wrong_type = error_of("grid: {model: [tiny], dataset: [fm], lr: [fast]}");
  EXPECT_NE(wrong_type.find("key 'grid.lr'"), std::string::npos) << wrong_type;
  EXPECT_NE(wrong_type.find("expected a number"), std::string::npos) << wrong_type;
  EXPECT_NE(
      error_of("grid: {model: [tiny], dataset: [fm], colour: [red]}").find("key 'grid.colour': unknown axis"),
      std::string::npos);
  EXPECT_NE(error_of("recipe: nosuch\ngrid: {model: [tiny], dataset: [fm]}")
                .find("tests/data/configs/recipes/nosuch.yaml"),
            std::string::npos);
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm], init: [magic]}")
                .find("unknown init 'magic'; known: ri, wt, wtst, st"),
            std::string::npos);
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm], init: [wt]}").find("needs a source"),
            std::string::npos);
  EXPECT_NE(error_of("overrides: {recipe: {epochz: 2}}\ngrid: {model: [tiny], dataset: [fm]}")
                .find("key 'overrides.recipe.epochz': unknown key; known keys here:"),
            std::string::npos);
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm], seed: [0.5]}").find("seeds must be integers"),
            std::string::npos);
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm]}\nexclude: [{sed: 1}]").find("not an axis"),
            std::string::npos);
  EXPECT_NE(error_of("grid: {model: [tiny], dataset: [fm]\n").find("YAML syntax error"), std::string::npos);
}

TEST(Grid, DottedAxesOverrideBlocks) {
  Plan plan = plan_of(
      "grid: {model: [tiny], dataset: [fm], model.options.widths: [[4, 8, 16, 32], [2, 4, 8, 16]],"
      " dataset.val_size: [50], recipe.lr: [0.01]}");
  ASSERT_EQ(plan.tasks.size(), 2u);
  EXPECT_EQ(plan.tasks[1].config["model"]["options"]["widths"], json({2, 4, 8, 16}));
  EXPECT_EQ(plan.tasks[1].config["model"]["options"]["layers"], json({1, 1, 1, 1}));
  EXPECT_EQ(plan.tasks[1].config["dataset"]["val_size"], 50);
  EXPECT_EQ(plan.tasks[1].config["recipe"]["lr"], 0.01);
  EXPECT_EQ(plan.tasks[1].key,
            "model=tiny dataset=fm init=ri seed=0 model.options.widths=[2,4,8,16] "
            "dataset.val_size=50 recipe.lr=0.01");
}

TEST(Scheduler, LongestReadyFirstAndBlockedAfterFailure) {
  Plan plan = plan_of(kDemo);
  Scheduler s(plan, std::vector<TaskState>(plan.tasks.size(), TaskState::pending));
  auto first = s.take();
  ASSERT_TRUE(first);
  EXPECT_EQ(plan.tasks[*first].kind, TaskKind::source);
  // While the source runs only RI cells are ready.
  std::vector<size_t> taken;
  while (auto t = s.take()) {
    EXPECT_EQ(plan.tasks[*t].axes["init"], "ri");
    taken.push_back(*t);
  }
  EXPECT_EQ(taken.size(), 6u);
  EXPECT_FALSE(s.finished());
  s.complete(*first, false);
  for (size_t t : taken) s.complete(t, true);
  EXPECT_EQ(s.blocked().size(), 6u);
  EXPECT_TRUE(s.finished());
  EXPECT_FALSE(s.take());
}

TEST(Scheduler, SkipsDoneTasksAndRerunsCrashedOnes) {
  Plan plan = plan_of(kDemo);
  std::vector<TaskState> start(plan.tasks.size(), TaskState::done);
  start[3] = TaskState::running;  // a crash left it running
  Scheduler s(plan, start);
  auto t = s.take();
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 3u);
  EXPECT_FALSE(s.take());
}

TEST(Scheduler, SimulationUsesAllGroups) {
  Plan plan = plan_of(kDemo);
  auto slots = simulate(plan, 2);
  ASSERT_EQ(slots.size(), plan.tasks.size());
  std::set<int> groups;
  for (const auto& s : slots) groups.insert(s.group);
  EXPECT_EQ(groups.size(), 2u);
  for (const auto& s : slots)
    for (const auto& d : plan.tasks[s.task].deps)
      for (const auto& other : slots)
        if (plan.tasks[other.task].id == d) EXPECT_LE(other.end, s.start + 1e-12);
}

TEST(Grid, OneStDrawPerSourceAndSeedSharedByDatasetsAndDepths) {
  Plan plan = plan_of(R"(
sources:
  s: {model: tiny, dataset: fm}
grid:
  model: [tiny]
  dataset: [fm, fm_missing]
  init: [st, wtst]
  wt_blocks: [0, 1]
  seed: [0, 1]
)");
  std::map<std::string, std::set<std::string>> users;  // st task -> cells using it
  int st_tasks = 0;
  for (const auto& t : plan.tasks) {
    if (t.kind == TaskKind::st) {
      ++st_tasks;
      EXPECT_EQ(t.deps, std::vector<std::string>{plan.tasks[0].id});
      continue;
    }
    if (t.kind != TaskKind::cell) continue;
    const std::string st = t.config["init"]["st_state"];
    EXPECT_NE(std::find(t.deps.begin(), t.deps.end(), st), t.deps.end());
    users[st].insert(t.id);
    // The draw is the cell seed's.
    EXPECT_EQ(plan.tasks[plan.index_of(st)].config["seed"], t.config["seed"]);
  }
  EXPECT_EQ(st_tasks, 2);  // seeds 0 and 1
  EXPECT_EQ(users.size(), 2u);
  for (const auto& [st, cells] : users)
    EXPECT_EQ(cells.size(), 2u * (1 + 2));  // 2 datasets x (st + 2 depths)
  // Dependencies first: the source, then the draws, then the cells.
  for (size_t i = 0; i < plan.tasks.size(); ++i)
    for (const auto& d : plan.tasks[i].deps) EXPECT_LT(plan.index_of(d), i);
}

TEST(Grid, SourcesFromWeightFilesAreIdentifiedByContent) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("featreuse_grid_" + std::to_string(::getpid()));
  fs::create_directories(dir / "moved");
  std::ofstream(dir / "w.pth") << "weights, version 1";
  fs::copy_file(dir / "w.pth", dir / "moved" / "w.pth");
  auto job = [&](const std::string& path) {
    return "configs: " + kConfigs + "\nsources:\n  imagenet: {model: tiny, weights: " + path +
           "}\ngrid: {model: [tiny], dataset: [fm], init: [wt]}\n";
  };
  auto plan_at = [&](const std::string& text) {
    std::ofstream(dir / "job.yaml") << text;
    return expand(load_job((dir / "job.yaml").string()), catalog());
  };
  Plan a = plan_at(job("w.pth"));
  ASSERT_EQ(a.tasks.size(), 2u);
  EXPECT_EQ(a.tasks[0].kind, TaskKind::import);
  EXPECT_EQ(a.tasks[0].config["weights"]["path"], (dir / "w.pth").string());  // relative to the job file
  EXPECT_EQ(a.tasks[1].config["init"]["source"], a.tasks[0].id);
  Plan moved = plan_at(job((dir / "moved" / "w.pth").string()));
  EXPECT_EQ(moved.tasks[0].id, a.tasks[0].id);
  std::ofstream(dir / "w.pth") << "weights, version 2";
  EXPECT_NE(plan_at(job("w.pth")).tasks[0].id, a.tasks[0].id);
  try {
    plan_at(job("nope.pth"));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("key 'sources.imagenet.weights': no such file"), std::string::npos);
  }
  // plan's mode: the missing file is noted and the job planned, the same tasks with provisional ids.
  Catalog noting = catalog();
  noting.missing_weights = Catalog::MissingWeights::note;
  std::ofstream(dir / "job.yaml") << job("nope.pth");
  const Plan noted = expand(load_job((dir / "job.yaml").string()), noting);
  ASSERT_EQ(noted.tasks.size(), 2u);
  ASSERT_EQ(noted.missing_weights.size(), 1u);
  EXPECT_NE(noted.missing_weights[0].find("key 'sources.imagenet.weights': no such file '" +
                                          (dir / "nope.pth").string() + "'"),
            std::string::npos);
  EXPECT_EQ(noted.tasks[0].config["weights"]["content"], "missing");
  EXPECT_EQ(noted.tasks[1].config["init"]["source"], noted.tasks[0].id);
  EXPECT_TRUE(a.missing_weights.empty());
  try {
    plan_at("configs: " + kConfigs +
            "\nsources:\n  x: {model: tiny, weights: w.pth, dataset: fm}\n"
            "grid: {model: [tiny], dataset: [fm]}\n");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("takes only model and weights"), std::string::npos);
  }
  fs::remove_all(dir);
}

namespace {
const char* kStudy = R"(
name: t
sources:
  src: {model: tiny, dataset: fm, seed: 0}
  src_other: {model: other, dataset: fm, seed: 0}
grid:
  model: [tiny, other]
  dataset: [fm]
  init: [ri, st, wt, wtst]
  wt_blocks: [1, 2]
  seed: [0, 1]
)";

std::map<std::string, const Task*> cells_by_id(const Plan& plan) {
  std::map<std::string, const Task*> out;
  for (const auto& t : plan.tasks)
    if (t.kind == TaskKind::cell) out[t.id] = &t;
  return out;
}
}  // namespace

// A group that takes an analysis keeps the cell's other ready analyses (they
// share their test passes when one rank runs them); no other group gets them
// until it stops.
TEST(Scheduler, AGroupKeepsTheOtherAnalysesOfTheCellItAnalyses) {
  const Plan plan = plan_of(std::string(kStudy) + "analyses: {knn: {k: 20}, cka_cross: , other_only: }\n");
  std::map<std::string, std::vector<size_t>> by_cell;
  for (size_t i = 0; i < plan.tasks.size(); ++i)
    if (plan.tasks[i].kind == TaskKind::analysis) by_cell[plan.tasks[i].config["cells"][0]].push_back(i);
  // Everything done but the analyses of cells with more than one (knn and cka_cross).
  std::vector<TaskState> start(plan.tasks.size(), TaskState::done);
  for (const auto& [cell, analyses] : by_cell)
    if (analyses.size() > 1)
      for (size_t i : analyses) start[i] = TaskState::pending;
  Scheduler s(plan, start);
  const auto first = s.take(0);
  ASSERT_TRUE(first);
  const std::string cell = plan.tasks[*first].config["cells"][0];
  std::vector<size_t> others;
  for (size_t i : by_cell.at(cell))
    if (i != *first) others.push_back(i);
  ASSERT_FALSE(others.empty()) << "the study's transfer cells have knn and cka_cross";
  EXPECT_EQ(s.reserved(0, *first), others);
  EXPECT_TRUE(s.reserved(1, *first).empty());
  // Group 1 takes everything it can: never one of them.
  std::vector<size_t> taken_by_1;
  while (auto t = s.take(1)) {
    EXPECT_NE(plan.tasks[*t].config["cells"][0], cell);
    taken_by_1.push_back(*t);
  }
  EXPECT_FALSE(s.finished());
  // Group 0 gets them next, before anything else.
  const auto second = s.take(0);
  ASSERT_TRUE(second);
  EXPECT_EQ(plan.tasks[*second].config["cells"][0], cell);
  // A group that stops gives back what it kept.
  s.release_reservations(0);
  for (size_t i : others)
    if (i != *second) EXPECT_TRUE(s.take(1)) << "kept for group 0 no longer";
  // Tasks that are no analyses keep nothing for anyone.
  Scheduler fresh(plan_of(kDemo), std::vector<TaskState>(plan_of(kDemo).tasks.size(), TaskState::pending));
  const auto source = fresh.take(0);
  ASSERT_TRUE(source);
  EXPECT_TRUE(fresh.reserved(0, *source).empty());
}

// A cell's analyses make their shared test passes once: the plan counts each
// on the first analysis of the cell that needs it.
TEST(Grid, ASharedTestPassIsCountedOncePerCell) {
  const Plan plan = plan_of(std::string(kStudy) + "analyses: {knn: {k: 20}, cka_cross: , other_only: }\n");
  std::map<std::string, int> seen;  // analysed cell -> analyses so far
  size_t firsts = 0, others = 0;
  for (const auto& t : plan.tasks) {
    if (t.kind != TaskKind::analysis) continue;
    const std::string cell = t.config["cells"][0];
    const double gflops = plan.tasks[plan.index_of(cell)].config["model"]["gflops"];
    const bool first = seen[cell]++ == 0;
    EXPECT_DOUBLE_EQ(t.cost, first ? 2 * gflops : gflops) << t.key;
    (first ? firsts : others) += 1;
  }
  EXPECT_GT(firsts, 0u);
  EXPECT_GT(others, 0u) << "some cells have more than one analysis";
}

TEST(Grid, AnalysesAreTasksAfterTheirCellsAndNeverChangeCellIds) {
  const Plan without = plan_of(kStudy);
  const Plan with = plan_of(std::string(kStudy) + R"(
analyses:
  knn: {k: 20}
  cka_cross:
  other_only:
)");
  // The same cells (and sources, ST draws) with the same ids.
  std::set<std::string> before, after;
  for (const auto& t : without.tasks) before.insert(t.id);
  for (const auto& t : with.tasks)
    if (t.kind != TaskKind::analysis) after.insert(t.id);
  EXPECT_EQ(before, after);
  const auto cells = cells_by_id(with);
  ASSERT_EQ(cells.size(), 2u * 2u * (3u + 2u));  // models x seeds x (ri, st, wt + wtst at 2 depths)

  std::map<std::string, int> per_analysis;
  std::set<std::string> ids;
  for (size_t i = 0; i < with.tasks.size(); ++i) {
    const Task& t = with.tasks[i];
    if (t.kind != TaskKind::analysis) continue;
    ids.insert(t.id);
    const std::string name = t.config["analysis"];
    ++per_analysis[name];
    ASSERT_EQ(t.deps, t.config["cells"].get<std::vector<std::string>>());
    for (const auto& d : t.deps) EXPECT_LT(with.index_of(d), i) << "an analysis comes after its cells";
    const Task& cell = *cells.at(t.deps[0]);
    EXPECT_EQ(t.axes["analysis"], name);
    if (name == "knn") {
      EXPECT_EQ(t.config["options"], (json{{"k", 20}, {"temperature", 0.1}}));
      EXPECT_EQ(t.deps.size(), 1u);
    }
    if (name == "cka_cross") {
      // A transfer cell against the ST cell of the same model and seed.
      ASSERT_EQ(t.deps.size(), 2u);
      const Task& partner = *cells.at(t.deps[1]);
      EXPECT_NE(cell.axes["init"], "st");
      EXPECT_NE(cell.axes["init"], "ri");
      EXPECT_EQ(partner.axes["init"], "st");
      EXPECT_EQ(partner.axes["model"], cell.axes["model"]);
      EXPECT_EQ(partner.axes["seed"], cell.axes["seed"]);
    }
    if (name == "other_only") EXPECT_EQ(cell.axes["model"], "other");
  }
  EXPECT_EQ(ids.size(), size_t(per_analysis["knn"] + per_analysis["cka_cross"] + per_analysis["other_only"]));
  EXPECT_EQ(per_analysis["knn"], 20);
  EXPECT_EQ(per_analysis["cka_cross"], 2 * 2 * 3);  // wt and wtst at 2 depths, per model and seed
  EXPECT_EQ(per_analysis["other_only"], 10);
  EXPECT_EQ(with.analyses_skipped, 20 - 12 + 10);  // cka_cross: ri and st cells; other_only: tiny cells

  // Other options: other analysis ids, the same cells.
  const Plan k10 = plan_of(std::string(kStudy) + "analyses: {knn: {k: 10}}\n");
  for (const auto& t : k10.tasks)
    if (t.kind == TaskKind::analysis) EXPECT_FALSE(ids.count(t.id));
  // A list of names takes the defaults; a cells: filter narrows the cells.
  const Plan listed = plan_of(std::string(kStudy) + "analyses: [knn]\n");
  const Plan filtered =
      plan_of(std::string(kStudy) + "analyses: {knn: {cells: {init: [st, wt], seed: 0}}}\n");
  int n_listed = 0, n_filtered = 0;
  for (const auto& t : listed.tasks) n_listed += t.kind == TaskKind::analysis;
  for (const auto& t : filtered.tasks) n_filtered += t.kind == TaskKind::analysis;
  EXPECT_EQ(n_listed, 20);
  EXPECT_EQ(n_filtered, 4);
}

TEST(Grid, AnalysisMistakesNameTheKeyAndTheChoices) {
  EXPECT_NE(error_of(std::string(kStudy) + "analyses: [knnn]\n")
                .find("unknown analysis 'knnn'; known: knn, cka_cross"),
            std::string::npos)
      << error_of(std::string(kStudy) + "analyses: [knnn]\n");
  EXPECT_NE(error_of(std::string(kStudy) + "analyses: {knn: {kk: 3}}\n").find("kk"), std::string::npos);
  EXPECT_NE(error_of(std::string(kStudy) + "analyses: {knn: {k: 0}}\n").find("k must be at least 1"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kStudy) + "analyses: {knn: {k: x}}\n").find("analyses.knn"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kStudy) + "analyses: {knn: {cells: {colour: red}}}\n").find("not an axis"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(kStudy) + "analyses: knn\n").find("expected a list of analysis names"),
            std::string::npos);
}

TEST(AxisOrder, NumbersNumericallyWordsAsTheJobListsThem) {
  const grid::AxisOrder order(
      {"grid:\n  model: [tiny]\n  init: [wt, ri, st]\n  train_size: [1000, 250]\n"
       "sources:\n  zeta: {model: tiny}\n  alpha: {model: tiny}\n"});
  EXPECT_TRUE(order.less("train_size", "250", "1000"));
  EXPECT_FALSE(order.less("train_size", "1000", "250"));
  EXPECT_TRUE(order.less("seed", "2", "10"));  // an axis no job lists: numbers still numerically
  EXPECT_TRUE(order.less("recipe.lr", "0.0001", "0.001"));
  EXPECT_TRUE(order.less("init", "wt", "ri"));
  EXPECT_TRUE(order.less("init", "ri", "st"));
  EXPECT_TRUE(order.less("source", "zeta", "alpha"));
  EXPECT_TRUE(order.less("init", "st", "aaa"));  // listed values before unlisted ones
  EXPECT_TRUE(order.less("init", "wt", "-"));    // "not applicable" last
  EXPECT_FALSE(order.less("init", "-", "wt"));
  EXPECT_FALSE(order.less("init", "wt", "wt"));
}

TEST(AxisOrder, RowsCompareColumnByColumn) {
  const grid::AxisOrder order({"grid: {model: [resnet, deit], seed: [0, 1]}\n"});
  const std::vector<std::string> axes = {"model", "seed"};
  std::vector<std::vector<std::string>> rows = {
      {"deit", "10"}, {"resnet", "10"}, {"deit", "2"}, {"resnet", "2"}};
  std::sort(rows.begin(), rows.end(), [&](const auto& a, const auto& b) { return order.less(axes, a, b); });
  EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{
                      {"resnet", "2"}, {"resnet", "10"}, {"deit", "2"}, {"deit", "10"}}));
  // A stored job that does not parse teaches nothing; words then sort by text.
  const grid::AxisOrder broken({"grid: [unclosed\n"});
  EXPECT_TRUE(broken.less("model", "deit", "resnet"));
}

// The job-file fuzzer's corpus (tests/fuzz/corpus/jobs, with the inputs it
// found problems with): every file reads, checks and expands, or fails with a
// featreuse::Error; nothing else escapes.
TEST(Fuzz, JobCorpusReplayEndsInPlansOrErrors) {
  const std::filesystem::path corpus = std::filesystem::path(FEATREUSE_SOURCE_DIR) / "tests/fuzz/corpus/jobs";
  size_t files = 0, planned = 0;
  for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ++files;
    try {
      expand(parse_job(parse_yaml(text, entry.path().string()), kConfigs), catalog());
      ++planned;
    } catch (const Error&) {
    }
  }
  EXPECT_GE(files, 10u);
  EXPECT_GE(planned, 1u);  // the seeds are real job files
}
