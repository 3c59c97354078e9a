// A small JSON web service: the aiohttp.web / FastAPI shape. Python (aiohttp.web):
//     app.router.add_get("/todos/{id}", get_todo); app.router.add_post("/todos", add_todo)
//     web.run_app(app)
//
// Handlers are coroutines from a request to a response; routes capture path parameters. The
// program talks to itself with http::session to show every answer: 201, 200, 404, 405, 400.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include "tandem/aio.hpp"
#include "tandem/http.hpp"

namespace aio = tandem::aio;
namespace http = tandem::http;
using nlohmann::json;

namespace {

// The service's state, shared by the handlers through std::bind_front (a capturing lambda
// coroutine would lose its captures at the first suspension).
using todos = std::map<int, std::string>;

aio::task<http::response> add_todo(std::shared_ptr<todos> db, http::request rq) {
  json body;
  try {
    body = rq.json();
  } catch (const json::exception&) {
    co_return http::response(400, "body must be JSON");
  }
  int id = static_cast<int>(db->size()) + 1;
  (*db)[id] = body.value("title", "");
  co_return http::json_response({{"id", id}, {"title", (*db)[id]}}, 201);
}

aio::task<http::response> get_todo(std::shared_ptr<todos> db, http::request rq) {
  auto it = db->find(std::stoi(std::string(rq.param("id"))));
  if (it == db->end()) co_return http::response(404, "no such todo");
  co_return http::json_response({{"id", it->first}, {"title", it->second}});
}

aio::task<int> main_task() {
  auto db = std::make_shared<todos>();
  http::server app;
  app.post("/todos", std::bind_front(add_todo, db))
      .get("/todos/{id}", std::bind_front(get_todo, db));
  co_await app.start("127.0.0.1", 0);  // port 0: the kernel picks one
  const std::string base = "http://127.0.0.1:" + std::to_string(app.port());

  http::session s;
  http::request_options add;
  add.json = json{{"title", "write the docs"}};
  http::response created = co_await s.post(base + "/todos", add);
  http::response found = co_await s.get(base + "/todos/1");
  http::response missing = co_await s.get(base + "/todos/9");
  http::response wrong_method = co_await s.delete_(base + "/todos/1");
  http::request_options bad;
  bad.text = "not json";
  http::response bad_body = co_await s.post(base + "/todos", bad);
  std::printf(
      "POST /todos -> %d %s\nGET /todos/1 -> %d %s\nGET /todos/9 -> %d %s\n"
      "DELETE /todos/1 -> %d (Allow: %s)\nPOST not JSON -> %d %s\n",
      created.status(), created.text().c_str(), found.status(), found.text().c_str(),
      missing.status(), missing.text().c_str(), wrong_method.status(),
      std::string(wrong_method.headers().get("allow").value_or("")).c_str(), bad_body.status(),
      bad_body.text().c_str());

  co_await app.shutdown();  // graceful: requests in flight finish first
  bool ok = created.status() == 201 && found.json()["title"] == "write the docs" &&
            missing.status() == 404 && wrong_method.status() == 405 && bad_body.status() == 400;
  co_return ok ? 0 : 1;
}

}  // namespace

int main() { return aio::run(main_task()); }
