#include "agent/api_request.h"

#include <gtest/gtest.h>

namespace dockmig::agent {
namespace {

TEST(HandoffRequest, ParsesContainerDestinationAndOptions) {
  Result<HandoffSpec> spec = parse_handoff_request(
      R"({"container":"web1","destination":"10.77.1.2:7070","options":{"keep_source":true,"target_name":"web1-b","zstd_level":5}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->container, "web1");
  EXPECT_EQ(spec->destination, "10.77.1.2:7070");
  EXPECT_TRUE(spec->options.keep_source);
  EXPECT_EQ(spec->options.target_name, "web1-b");
  EXPECT_EQ(spec->options.zstd_level, 5);
}

TEST(HandoffRequest, DefaultsTheOptions) {
  Result<HandoffSpec> spec = parse_handoff_request(R"({"container":"0123456789ab","destination":"edge-b:7070"})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_FALSE(spec->options.keep_source);
  EXPECT_EQ(spec->options.zstd_level, kZstdLevelAuto);
}

TEST(HandoffRequest, TakesAutoAsTheZstdLevelAndShowsItSo) {
  Result<HandoffSpec> spec =
      parse_handoff_request(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"zstd_level":"auto"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->options.zstd_level, kZstdLevelAuto);
  EXPECT_EQ(to_json(*spec)["options"]["zstd_level"], "auto");
  spec = parse_handoff_request(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"zstd_level":19}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(to_json(*spec)["options"]["zstd_level"], 19);
}

TEST(HandoffRequest, TakesABindMapAsDockmigMigrateDoesAndShowsItSo) {
  Result<HandoffSpec> spec = parse_handoff_request(
      R"({"container":"web1","destination":"10.77.1.2:7070","options":{"bind_map":["/srv/conf/=/edge/conf"]}})");
  ASSERT_TRUE(spec) << spec.error().message;
  ASSERT_EQ(spec->options.bind_map.size(), 1u);
  EXPECT_EQ(spec->options.bind_map[0], (BindMapping{"/srv/conf", "/edge/conf"}));
  EXPECT_EQ(to_json(*spec)["options"]["bind_map"], nlohmann::json::array({"/srv/conf=/edge/conf"}));
}

TEST(HandoffRequest, TakesCopiedBindsAsDockmigMigrateDoesAndRefusesWhatIsNoPath) {
  Result<HandoffSpec> spec = parse_handoff_request(
      R"({"container":"web1","destination":"10.77.1.2:7070","options":{"copy_binds":["/srv/data/"]}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->options.copy_binds, std::vector<std::string>{"/srv/data"});
  EXPECT_EQ(to_json(*spec)["options"]["copy_binds"], nlohmann::json::array({"/srv/data"}));
  for (const char* copies : {R"("/a")", R"([7])", R"(["a"])", R"(["/a/../etc"])"}) {
    Result<HandoffSpec> refused = parse_handoff_request(
        std::string(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"copy_binds":)") + copies + "}}");
    ASSERT_FALSE(refused) << copies;
    EXPECT_NE(refused.error().message.find("options.copy_binds"), std::string::npos) << refused.error().message;
  }
}

TEST(HandoffRequest, TakesTheTcpModeAndShowsItOnlyWhenNotTheDefault) {
  Result<HandoffSpec> spec =
      parse_handoff_request(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"tcp":"established"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->options.tcp, TcpMode::Established);
  EXPECT_EQ(to_json(*spec)["options"]["tcp"], "established");
  spec = parse_handoff_request(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"tcp":"close"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_FALSE(to_json(*spec)["options"].contains("tcp")) << "the same request as one from before the option";
  for (const char* bad : {R"("kept")", "true", "1"}) {
    Result<HandoffSpec> refused = parse_handoff_request(
        std::string(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"tcp":)") + bad + "}}");
    ASSERT_FALSE(refused) << bad;
    EXPECT_NE(refused.error().message.find("options.tcp"), std::string::npos) << refused.error().message;
  }
}

TEST(HandoffRequest, TakesTheRestoreModeAndShowsItOnlyWhenNotTheDefault) {
  for (const char* mode : {"eager", "lazy"}) {
    Result<HandoffSpec> spec = parse_handoff_request(
        std::string(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"restore":")") + mode + "\"}}");
    ASSERT_TRUE(spec) << spec.error().message;
    EXPECT_EQ(restore_mode_name(spec->options.restore), std::string(mode));
    EXPECT_EQ(to_json(*spec)["options"]["restore"], mode);
  }
  Result<HandoffSpec> spec =
      parse_handoff_request(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"restore":"auto"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->options.restore, RestoreMode::Auto);
  EXPECT_FALSE(to_json(*spec)["options"].contains("restore")) << "the same request as one from before the option";
  spec = parse_handoff_request(R"({"container":"web1","destination":"10.77.1.2:7070"})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->options.restore, RestoreMode::Auto) << "auto is the default, as for dockmig migrate";
  for (const char* bad : {R"("post-copy")", R"("Lazy")", "true", "1", "null"}) {
    Result<HandoffSpec> refused = parse_handoff_request(
        std::string(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"restore":)") + bad + "}}");
    ASSERT_FALSE(refused) << bad;
    EXPECT_EQ(refused.error().code, ErrorCode::InvalidInput);
    EXPECT_NE(refused.error().message.find("options.restore"), std::string::npos) << refused.error().message;
    EXPECT_NE(refused.error().message.find(R"("auto", "eager" or "lazy")"), std::string::npos) << refused.error().message;
  }
}

TEST(FleetHandoffRequest, TakesTheRestoreModeAsAHandoffDoes) {
  Result<FleetHandoffSpec> spec =
      parse_fleet_handoff_request(R"({"service":"counter","to":"edge-b","options":{"restore":"lazy"}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->options.restore, RestoreMode::Lazy);
  Result<FleetHandoffSpec> refused =
      parse_fleet_handoff_request(R"({"service":"counter","to":"edge-b","options":{"restore":"later"}})");
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("options.restore"), std::string::npos) << refused.error().message;
}

TEST(HandoffRequest, RefusesABindMapThatIsNotAListOfMappings) {
  for (const char* map : {R"("/a=/b")", R"([7])", R"(["/a"])", R"(["a=/b"])", R"(["/a/../etc=/b"])"}) {
    std::string body = std::string(R"({"container":"web1","destination":"10.77.1.2:7070","options":{"bind_map":)") +
                       map + "}}";
    Result<HandoffSpec> spec = parse_handoff_request(body);
    ASSERT_FALSE(spec) << map;
    EXPECT_NE(spec.error().message.find("options.bind_map"), std::string::npos) << spec.error().message;
  }
}

TEST(HandoffRequest, RefusesEachBadFieldNamingIt) {
  struct Case {
    const char* body;
    const char* says;
  };
  for (const Case& c : {
           Case{"", "not valid JSON"},
           Case{"{", "not valid JSON"},
           Case{"[1,2]", "must be a JSON object"},
           Case{R"({"destination":"10.0.0.1:1"})", "`container` is missing"},
           Case{R"({"container":"web1"})", "`destination` is missing"},
           Case{R"({"container":7,"destination":"10.0.0.1:1"})", "`container` must be a string"},
           Case{R"({"container":"../etc","destination":"10.0.0.1:1"})", "not a container name"},
           Case{R"({"container":"web 1","destination":"10.0.0.1:1"})", "not a container name"},
           Case{R"({"container":"web1","destination":"10.0.0.1"})", "not ADDR:PORT"},
           Case{R"({"container":"web1","destination":"10.0.0.1:0"})", "not ADDR:PORT"},
           Case{R"({"container":"web1","destination":"10.0.0.1:99999"})", "not ADDR:PORT"},
           Case{R"({"container":"web1","destination":"a;rm -rf:80"})", "not ADDR:PORT"},
           Case{R"({"container":"web1","destnation":"10.0.0.1:1"})", "unknown field `destnation`"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":[]})", "`options` must be an object"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"zstd_level":0}})", "zstd_level"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"zstd_level":3.5}})", "zstd_level"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"zstd_level":20}})", "zstd_level"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"zstd_level":"5"}})", "zstd_level"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"zstd_level":"max"}})", "zstd_level"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"keep_source":"yes"}})", "keep_source"},
           Case{R"({"container":"web1","destination":"10.0.0.1:1","options":{"dry_run":true}})", "unknown option"},
       }) {
    Result<HandoffSpec> spec = parse_handoff_request(c.body);
    ASSERT_FALSE(spec) << c.body;
    EXPECT_EQ(spec.error().code, ErrorCode::InvalidInput);
    EXPECT_NE(spec.error().message.find(c.says), std::string::npos) << c.body << " -> " << spec.error().message;
  }
}

TEST(HandoffRequest, ShowsAtMostAShortPrintableExcerptOfABadValue) {
  std::string name(5000, 'x');
  name += "\x01";
  Result<HandoffSpec> spec = parse_handoff_request(R"({"container":")" + name + R"(","destination":"a:1"})");
  ASSERT_FALSE(spec);
  EXPECT_LT(spec.error().message.size(), 200u);
}

TEST(HandoffRequest, RefusesBodiesOverTheLimit) {
  std::string body = R"({"container":"web1","destination":"10.0.0.1:1","options":{}})" + std::string(kMaxBodyBytes, ' ');
  EXPECT_FALSE(parse_handoff_request(body));
}

TEST(PrepareRequest, TakesAnImageOrAContainerButNotBoth) {
  Result<PrepareSpec> image = parse_prepare_request(R"({"image":"10.77.9.1:5000/dockmig/app:1","destination":"10.0.0.2:7070"})");
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_EQ(image->image, "10.77.9.1:5000/dockmig/app:1");
  Result<PrepareSpec> container = parse_prepare_request(R"({"container":"web1","destination":"10.0.0.2:7070"})");
  ASSERT_TRUE(container) << container.error().message;
  EXPECT_EQ(container->container, "web1");
  EXPECT_FALSE(parse_prepare_request(R"({"image":"a","container":"b","destination":"10.0.0.2:7070"})"));
  EXPECT_FALSE(parse_prepare_request(R"({"destination":"10.0.0.2:7070"})"));
  EXPECT_FALSE(parse_prepare_request(R"({"image":"a"})"));
}

TEST(PrepareRequest, TakesSeveralDestinations) {
  Result<PrepareSpec> one = parse_prepare_request(R"({"container":"web1","destination":"10.0.0.2:7070"})");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->destinations, std::vector<std::string>{"10.0.0.2:7070"});
  EXPECT_FALSE(one->listed);
  Result<PrepareSpec> two =
      parse_prepare_request(R"({"container":"web1","destinations":["10.0.0.2:7070","10.0.0.3:7070"]})");
  ASSERT_TRUE(two) << two.error().message;
  EXPECT_EQ(two->destinations.size(), 2u);
  EXPECT_TRUE(two->listed);
  EXPECT_FALSE(parse_prepare_request(R"({"container":"web1","destinations":[]})"));
  EXPECT_FALSE(parse_prepare_request(R"({"container":"web1","destinations":["10.0.0.2:7070","10.0.0.2:7070"]})"));
  EXPECT_FALSE(parse_prepare_request(R"({"container":"web1","destinations":["10.0.0.2"]})"));
  Result<PrepareSpec> named = parse_prepare_request(R"({"container":"web1","destinations":["edge-b","10.0.0.3:7070"]})");
  ASSERT_TRUE(named) << named.error().describe();
  EXPECT_EQ(named->destinations, (std::vector<std::string>{"edge-b", "10.0.0.3:7070"}));
  EXPECT_FALSE(parse_prepare_request(R"({"container":"web1","destinations":["edge b"]})"));
  EXPECT_FALSE(parse_prepare_request(R"({"container":"web1","destinations":[7070]})"));
  EXPECT_FALSE(parse_prepare_request(
      R"({"container":"web1","destination":"10.0.0.2:7070","destinations":["10.0.0.3:7070"]})"));
  std::string nine = R"({"container":"web1","destinations":[)";
  for (int i = 1; i <= 9; ++i) nine += (i > 1 ? "," : "") + std::string("\"10.0.0.") + std::to_string(i) + ":7070\"";
  EXPECT_FALSE(parse_prepare_request(nine + "]}"));
}

TEST(FleetHandoffRequest, TakesAServiceAndAHostName) {
  Result<FleetHandoffSpec> spec =
      parse_fleet_handoff_request(R"({"service":"counter","to":"edge-b","options":{"keep_source":true}})");
  ASSERT_TRUE(spec) << spec.error().message;
  EXPECT_EQ(spec->service, "counter");
  EXPECT_EQ(spec->to, "edge-b");
  EXPECT_TRUE(spec->options.keep_source);
  EXPECT_FALSE(parse_fleet_handoff_request(R"({"service":"counter"})"));
  EXPECT_FALSE(parse_fleet_handoff_request(R"({"to":"edge-b"})"));
  EXPECT_FALSE(parse_fleet_handoff_request(R"({"service":"counter","to":"edge/b"})"));
  EXPECT_FALSE(parse_fleet_handoff_request(R"({"service":"-x","to":"edge-b"})"));
  EXPECT_FALSE(parse_fleet_handoff_request(R"({"service":"counter","to":"edge-b","destination":"x"})"));
}

TEST(ImageRef, AcceptsRegistryPathTagAndDigestForms) {
  for (const char* ref : {"busybox", "library/busybox:1.36", "10.77.9.1:5000/dockmig/tiny:1", "localhost/app",
                          "registry.example.com/a/b/c:v1.2-rc_3",
                          "app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"})
    EXPECT_TRUE(valid_image_ref(ref)) << ref;
  for (const char* ref : {"", "UPPER", "a//b", "a:", ":tag", "a@sha256:12", "-a", "a/../b", "a b", "reg:99999999/a"})
    EXPECT_FALSE(valid_image_ref(ref)) << ref;
}

TEST(IdempotencyKey, IsOneTo255VisibleCharacters) {
  EXPECT_TRUE(check_idempotency_key("3f0c9a1e-5b8d-4c1e-9b7e-2a6f1d0c4e8b"));
  EXPECT_FALSE(check_idempotency_key(""));
  EXPECT_FALSE(check_idempotency_key(std::string(256, 'k')));
  EXPECT_FALSE(check_idempotency_key("has space"));
}

TEST(HandoffId, IsSixteenLowercaseHexDigits) {
  EXPECT_TRUE(valid_handoff_id("0123456789abcdef"));
  EXPECT_FALSE(valid_handoff_id("0123456789ABCDEF"));
  EXPECT_FALSE(valid_handoff_id("0123456789abcde"));
  EXPECT_FALSE(valid_handoff_id("../../etc/passwd"));
}

}  // namespace
}  // namespace dockmig::agent
