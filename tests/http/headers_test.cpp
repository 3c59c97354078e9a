// The http layer's plain values: header fields, reason phrases, responses, error messages.
#include <string>

#include <gtest/gtest.h>

#include "tandem/http.hpp"

namespace {

namespace http = tandem::http;

TEST(Headers, LookupIgnoresCaseAndKeepsSpelling) {
  http::headers h{{"Content-Type", "text/html"}, {"X-Id", "7"}};
  EXPECT_EQ(h.get("content-type").value_or(""), "text/html");
  EXPECT_EQ(h.get("CONTENT-TYPE").value_or(""), "text/html");
  EXPECT_TRUE(h.contains("x-id"));
  EXPECT_FALSE(h.get("x-missing").has_value());
  EXPECT_EQ(h.begin()->first, "Content-Type");
}

TEST(Headers, RepeatedFieldsAreKeptInOrder) {
  http::headers h;
  h.add("Set-Cookie", "a=1");
  h.add("Other", "x");
  h.add("set-cookie", "b=2");
  auto all = h.get_all("SET-COOKIE");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0], "a=1");
  EXPECT_EQ(all[1], "b=2");
  EXPECT_EQ(h.get("set-cookie").value_or(""), "a=1");
  EXPECT_EQ(h.size(), 3u);
}

TEST(Headers, SetReplacesEveryFieldOfTheName) {
  http::headers h{{"A", "1"}, {"a", "2"}, {"B", "3"}};
  h.set("A", "9");
  EXPECT_EQ(h.get_all("a").size(), 1u);
  EXPECT_EQ(h.get("a").value_or(""), "9");
  EXPECT_EQ(h.remove("b"), 1u);
  EXPECT_EQ(h.size(), 1u);
}

TEST(Headers, Iequals) {
  EXPECT_TRUE(http::iequals("Content-Length", "content-length"));
  EXPECT_FALSE(http::iequals("Content-Length", "content-lengt"));
  EXPECT_FALSE(http::iequals("a", "b"));
}

TEST(Status, ReasonPhrases) {
  EXPECT_EQ(http::reason_phrase(200), "OK");
  EXPECT_EQ(http::reason_phrase(404), "Not Found");
  EXPECT_EQ(http::reason_phrase(413), "Content Too Large");
  EXPECT_EQ(http::reason_phrase(599), "");
}

TEST(Response, ServerSideConstructionAndJson) {
  http::response r(201, "{\"a\": [1, 2]}", "application/json");
  EXPECT_EQ(r.status(), 201);
  EXPECT_EQ(r.reason(), "Created");
  EXPECT_EQ(r.headers().get("content-type").value_or(""), "application/json");
  EXPECT_EQ(r.json()["a"][1], 2);
  EXPECT_NO_THROW(r.raise_for_status());
  http::response j = http::json_response({{"ok", true}}, 202);
  EXPECT_EQ(j.status(), 202);
  EXPECT_EQ(j.text(), "{\"ok\":true}");
  EXPECT_THROW((void)http::response(200, "not json").json(), nlohmann::json::parse_error);
}

TEST(Response, RaiseForStatusCarriesStatusAndUrl) {
  http::response r(503);
  r.set_url("http://127.0.0.1:1/x");
  try {
    r.raise_for_status();
    FAIL();
  } catch (const http::response_error& e) {
    EXPECT_EQ(e.status(), 503);
    EXPECT_EQ(e.url(), "http://127.0.0.1:1/x");
    EXPECT_STREQ(e.what(), "503 Service Unavailable: http://127.0.0.1:1/x");
  }
}

TEST(Errors, EachIsAnHttpErrorWithItsUrl) {
  http::timeout_error t("request timed out after 1.000 s (total)", "http://h/",
                        http::timeout_kind::total);
  EXPECT_EQ(t.kind(), http::timeout_kind::total);
  EXPECT_STREQ(t.what(), "request timed out after 1.000 s (total): http://h/");
  const http::error& base = http::dns_error("cannot resolve host", "http://x.invalid/");
  EXPECT_EQ(base.url(), "http://x.invalid/");
  EXPECT_NE(dynamic_cast<const http::connection_error*>(&base), nullptr);
  const tandem::error& root = http::connection_refused_error("connection refused", "http://h/");
  EXPECT_NE(dynamic_cast<const http::connection_error*>(&root), nullptr);
}

}  // namespace
