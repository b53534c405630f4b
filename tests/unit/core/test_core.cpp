#include <gtest/gtest.h>

#include <set>

#include "featreuse/core/config.hpp"
#include "featreuse/core/error.hpp"
#include "featreuse/core/hash.hpp"
#include "featreuse/core/log.hpp"
#include "featreuse/core/rng.hpp"

using namespace featreuse;

TEST(Config, PlainScalarsAreTypedQuotedStayStrings) {
  ConfigDoc doc = parse_yaml("a: 1\nb: 1.5e-3\nc: true\nd: '2'\ne: ~\nf: text\ng: [1, x]\n", "t.yaml");
  EXPECT_TRUE(doc.value["a"].is_number_integer());
  EXPECT_DOUBLE_EQ(doc.value["b"].get<double>(), 1.5e-3);
  EXPECT_EQ(doc.value["c"], true);
  EXPECT_EQ(doc.value["d"], "2");
  EXPECT_TRUE(doc.value["e"].is_null());
  EXPECT_EQ(doc.value["f"], "text");
  EXPECT_EQ(doc.value["g"], json({1, "x"}));
  EXPECT_EQ(doc.where("f"), "t.yaml:6");
  EXPECT_EQ(doc.key_order[""], (std::vector<std::string>{"a", "b", "c", "d", "e", "f", "g"}));
}

// Text that is not UTF-8 is refused where it is read, naming the place:
// nlohmann's dump (ids hash dumped configs) would otherwise throw a type_error
// deep inside the expansion (found by tests/fuzz/fuzz_job_file).
TEST(Config, TextThatIsNotUtf8IsAConfigErrorNamingLineAndColumn) {
  auto message = [](const std::string& text) {
    try {
      parse_yaml(text, "t.yaml");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_NE(message("a: 1\nb: x\xF8y\n").find("t.yaml: not UTF-8 text: byte 0xF8 at line 2, column 5"),
            std::string::npos);
  EXPECT_NE(message("\xC0\x80: 1\n").find("byte 0xC0 at line 1, column 1"), std::string::npos);  // overlong
  EXPECT_NE(message("a: \xED\xA0\x80\n").find("byte 0xED"), std::string::npos);                  // surrogate
  EXPECT_NE(message("a: \xF4\x90\x80\x80\n").find("byte 0xF4"), std::string::npos);     // past U+10FFFF
  EXPECT_NE(message("a: \xE2\x82\n").find("byte 0xE2"), std::string::npos);             // cut short
  EXPECT_EQ(message("name: caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\n"), "accepted");  // é € 😀
}

// UTF-8 text whose escapes or control characters yaml-cpp turns into other
// bytes: every value read can be dumped (ids hash dumps), or the read is a
// ConfigError (found by tests/fuzz/fuzz_job_file: a NUL in a source's name).
TEST(Config, EveryValueReadIsUtf8) {
  static const char with_nul[] = "sources:\n  small \0_cnn: {seed: 0}\n";
  for (const std::string text :
       {std::string("b: \"x\\xA0y\"\n"), std::string("b: \"x\\x80\"\n"),
        std::string(with_nul, sizeof with_nul - 1), std::string("\"k\\xFF\": 1\n")}) {
    try {
      parse_yaml(text, "t.yaml").value.dump();  // a type_error (not UTF-8) would escape and fail the test
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("t.yaml"), std::string::npos) << e.what();
    }
  }
}

// A float where an integer is expected must fit one (found by the job-file
// fuzzer with UBSan: 1e28 cast to long long).
TEST(Config, AnIntegerGivenAsAHugeFloatIsOutOfRange) {
  try {
    merge_typed(json{{"train_size", 0}}, json{{"train_size", 1e28}}, "j.yaml", "recipe");
    FAIL() << "accepted 1e28 as an integer";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("out of range"), std::string::npos) << e.what();
  }
  EXPECT_EQ(merge_typed(json{{"n", 0}}, json{{"n", 2e3}}, "j.yaml", "r")["n"], json(2000));
}

// A list or mapping as a key (valid YAML) is refused naming the line, not
// left to yaml-cpp's conversion exception (found by tests/fuzz/fuzz_job_file).
TEST(Config, AKeyThatIsNotANameIsAConfigError) {
  try {
    parse_yaml("a: 1\nb: {c: 2, [x, y]: 3}\n", "t.yaml");
    FAIL() << "accepted a list as a key";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("t.yaml:2: key 'b': a key must be a name"), std::string::npos)
        << e.what();
  }
}

// YAML 1.2 core schema, one case per rule (yaml.org/spec/1.2.2, 10.3.2).
json scalar(const std::string& text) { return parse_yaml("v: " + text + "\n", "t.yaml").value["v"]; }

TEST(Config, CoreSchemaHexIsAnInteger) {
  EXPECT_EQ(scalar("0x10"), json(16));
  EXPECT_TRUE(scalar("0x10").is_number_integer());
  EXPECT_EQ(scalar("0xFf"), json(255));
}

TEST(Config, CoreSchemaOctalIsAnInteger) {
  EXPECT_EQ(scalar("0o17"), json(15));
  EXPECT_TRUE(scalar("0o17").is_number_integer());
  EXPECT_EQ(scalar("0o8"), json("0o8"));  // not octal digits: a string
}

TEST(Config, CoreSchemaDecimalIntegers) {
  EXPECT_EQ(scalar("+12"), json(12));
  EXPECT_EQ(scalar("-7"), json(-7));
  EXPECT_EQ(scalar("012"), json(12));  // YAML 1.2: base 10, not octal
}

TEST(Config, CoreSchemaFloats) {
  EXPECT_DOUBLE_EQ(scalar("1e3").get<double>(), 1000.0);
  EXPECT_TRUE(scalar("1e3").is_number_float());
  EXPECT_DOUBLE_EQ(scalar(".5").get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(scalar("-2.").get<double>(), -2.0);
}

TEST(Config, CoreSchemaInfinityAndNanAreRefusedNamingTheKey) {
  for (const char* text : {".inf", "-.inf", "+.Inf", ".nan", ".NaN"}) {
    try {
      scalar(text);
      FAIL() << text;
    } catch (const ConfigError& e) {
      EXPECT_EQ(e.key(), "v") << text;
      EXPECT_NE(std::string(e.what()).find("not supported"), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(scalar("'.inf'"), json(".inf"));  // quoted: a string
}

TEST(Config, CoreSchemaOutOfRangeIsRefused) {
  EXPECT_THROW(scalar("99999999999999999999"), ConfigError);
  EXPECT_THROW(scalar("0xFFFFFFFFFFFFFFFFFF"), ConfigError);
  EXPECT_THROW(scalar("1e999"), ConfigError);
}

TEST(Config, CoreSchemaLeavesOtherWordsStrings) {
  // Words that strtod or YAML 1.1 would read as numbers or booleans.
  for (const char* text : {"inf", "nan", "infinity", "0x", "-0x10", "1_000", "yes", "on", "0b101", "1:20"})
    EXPECT_EQ(scalar(text), json(text)) << text;
  EXPECT_TRUE(scalar("Null").is_null());
  EXPECT_EQ(scalar("FALSE"), json(false));
}

TEST(Config, DuplicateKeysAndSyntaxErrorsNameTheFile) {
  EXPECT_THROW(parse_yaml("a: 1\na: 2\n", "dup.yaml"), ConfigError);
  try {
    parse_yaml("a: [1,\n", "broken.yaml");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "broken.yaml");
    EXPECT_NE(std::string(e.what()).find("YAML syntax error at line"), std::string::npos);
  }
}

TEST(Config, MergeTypedChecksKeysAndTypes) {
  const json base = {{"lr", 0.1}, {"epochs", 3}, {"name", "x"}, {"opt", {{"beta", 0.9}}}, {"any", nullptr}};
  json merged =
      merge_typed(base, {{"lr", 1}, {"epochs", 4.0}, {"opt", {{"beta", 0.5}}}, {"any", {1, 2}}}, "f", "");
  EXPECT_EQ(merged["lr"], 1);
  EXPECT_EQ(merged["epochs"], 4);
  EXPECT_TRUE(merged["epochs"].is_number_integer());
  EXPECT_EQ(merged["opt"]["beta"], 0.5);
  EXPECT_EQ(merged["name"], "x");
  auto message = [&](const json& o) {
    try {
      merge_typed(base, o, "f.yaml", "recipe");
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("(none)");
  };
  EXPECT_EQ(message({{"epochs", 2.5}}), "f.yaml: key 'recipe.epochs': expected an integer, got 2.5");
  EXPECT_EQ(message({{"name", 3}}),
            "f.yaml: key 'recipe.name': expected a string (like \"x\"), got an integer 3");
  EXPECT_NE(message({{"nope", 1}})
                .find("key 'recipe.nope': unknown key; known keys here: any, epochs, lr, name, opt"),
            std::string::npos);
  EXPECT_NE(message({{"opt", {{"gamma", 1}}}}).find("key 'recipe.opt.gamma'"), std::string::npos);
}

TEST(Config, DescribesDifferences) {
  EXPECT_EQ(describe_differences({{"a", {{"b", 1}, {"c", 2}}}}, {{"a", {{"b", 1}, {"c", 3}}}, {"d", true}}),
            "a.c: 2 -> 3; d: (absent) -> true");
}

TEST(Ids, StableAcrossRunsAndPlatforms) {
  // Pinned: a change here would orphan every existing store. The value is
  // Python's uuid.uuid5(UUID("6f1d2a4e-9c3b-4d7a-8e21-5b0c7f3a9d14"), "featreuse").hex[:12].
  EXPECT_EQ(stable_id("featreuse"), "073f7df54c0a");
  EXPECT_NE(stable_id("{\"a\":1}"), stable_id("{\"a\":2}"));
}

TEST(Rng, DerivedSeedsAndShufflesAreFixed) {
  EXPECT_EQ(derive_seed(0, "shuffle", 1), derive_seed(0, "shuffle", 1));
  EXPECT_NE(derive_seed(0, "shuffle", 1), derive_seed(0, "shuffle", 2));
  EXPECT_NE(derive_seed(0, "shuffle", 1), derive_seed(1, "shuffle", 1));
  EXPECT_NE(derive_seed(0, "shuffle", 1), derive_seed(0, "subset", 1));
  const auto order = shuffled_range(1000, 42);
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), 1000u);
  EXPECT_EQ(order, shuffled_range(1000, 42));
  EXPECT_NE(order, shuffled_range(1000, 43));
  // Pinned (std::mt19937_64 is specified exactly by the standard): data orders
  // must not change between builds, or resumed studies would mix orders.
  EXPECT_EQ(shuffled_range(8, 7), (std::vector<int64_t>{2, 3, 5, 6, 1, 0, 4, 7}));
  EXPECT_EQ(derive_seed(7, "x", 0), 17262171730251860905ull);
}

TEST(Log, LevelsInAnyCaseUnknownOnesRefusedWithTheValidNames) {
  EXPECT_EQ(log::parse_level("INFO", "--log-level"), spdlog::level::info);
  EXPECT_EQ(log::parse_level("Debug", "--log-level"), spdlog::level::debug);
  EXPECT_EQ(log::parse_level("warning", "--log-level"), spdlog::level::warn);
  EXPECT_EQ(log::parse_level("OFF", "--log-level"), spdlog::level::off);
  for (const char* bad : {"verbose", "", "inf0"}) {
    try {
      log::parse_level(bad, "FEATREUSE_LOG_LEVEL");
      FAIL() << bad;
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("FEATREUSE_LOG_LEVEL: unknown log level"), std::string::npos);
      EXPECT_NE(std::string(e.what()).find("trace, debug, info, warn, error, critical, off"),
                std::string::npos);
    }
  }
}
