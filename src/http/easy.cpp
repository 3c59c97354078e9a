#include "http/detail/easy.hpp"

#include <curl/urlapi.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <string_view>

#include "tandem/http/errors.hpp"

namespace tandem::http::detail {

void curl_global() {
  static const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK)
    throw std::runtime_error(std::string("curl_global_init: ") + curl_easy_strerror(rc));
}

std::int64_t now_ns() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

request_state::~request_state() { curl_slist_free_all(header_list); }

namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool is_redirect(int status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// curl's CURLOPT_HEADERFUNCTION: one call per header line, status lines included, for every
// response of the request (1xx, redirects, the final one).
std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
  auto* st = static_cast<request_state*>(user);
  const std::size_t len = size * count;
  std::string_view line = trim(std::string_view(data, len));
  if (line.starts_with("HTTP/")) {  // "HTTP/1.1 200 OK", "HTTP/2 200"
    st->last_byte_ns = now_ns();    // once per response: its header lines arrive together
    std::string_view version = line.substr(0, line.find(' '));
    std::string_view rest = trim(line.substr(std::min(line.size(), version.size())));
    int status = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), status);
    if (ec != std::errc()) return 0;  // curl has already judged it HTTP; be strict anyway
    std::string_view reason = trim(rest.substr(static_cast<std::size_t>(end - rest.data())));
    st->resp.headers().clear();
    st->resp.set_status(status, std::string(reason));
    st->resp.set_version(std::string(version));
    st->final_headers = false;
  } else if (line.empty()) {  // the end of one response's headers
    const int status = st->resp.status();
    const bool followed =
        st->follow && is_redirect(status) && st->resp.headers().contains("location");
    if (status >= 200 && !followed) {
      st->final_headers = true;
      if (st->on_progress) st->on_progress(st);
    }
  } else if (line.front() == ' ' || line.front() == '\t') {
    // obs-fold (RFC 9112 5.2): a continuation of the previous field's value.
    auto& fields = st->resp.headers();
    if (!fields.empty()) {
      auto last = std::prev(fields.end());
      std::string value = last->second + " " + std::string(trim(line));
      std::string name = last->first;
      fields.remove(name);  // a folded field is rare; rebuilding it keeps headers' API small
      fields.add(std::move(name), std::move(value));
    }
  } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
    st->resp.headers().add(std::string(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
  }
  return len;
}

// curl's CURLOPT_WRITEFUNCTION: body bytes (decoded) of the final response.
std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
  auto* st = static_cast<request_state*>(user);
  const std::size_t len = size * count;
  st->last_byte_ns = now_ns();
  if (len > st->max_body - std::min(st->max_body, st->received)) {
    st->cap_hit = true;
    return 0;  // anything but len stops the transfer (CURLE_WRITE_ERROR)
  }
  if (st->stream) {
    if (st->pending.size() >= request_state::stream_high) {
      st->paused = true;  // curl keeps these bytes and offers them again after curl_easy_pause
      return CURL_WRITEFUNC_PAUSE;
    }
    st->pending.append(data, len);
  } else {
    st->resp.body().append(data, len);
  }
  st->received += len;
  if (st->stream && st->on_progress) st->on_progress(st);
  return len;
}

// curl's CURLOPT_XFERINFOFUNCTION, for fetch() only: curl calls it at least once a second while
// a transfer waits, which is how a blocking transfer notices that no byte came for too long.
int on_xferinfo(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* st = static_cast<request_state*>(user);
  const auto limit = static_cast<std::int64_t>(st->timeout.read * 1e9);
  if (limit > 0 && now_ns() - st->last_byte_ns > limit) {
    st->read_timeout_hit = true;
    return 1;  // CURLE_ABORTED_BY_CALLBACK
  }
  return 0;
}

struct curlu_deleter {
  void operator()(CURLU* u) const noexcept { curl_url_cleanup(u); }
};

// True for a URL that curl will take as it is: http:// or https://, a host, no whitespace or
// control characters. Parsing it with curl's URL API as well would cost more than the rest of a
// keep-alive request's setup; anything else takes the slow path, which names what is wrong.
bool plainly_valid(const std::string& url) noexcept {
  std::string_view rest;
  if (url.starts_with("http://"))
    rest = std::string_view(url).substr(7);
  else if (url.starts_with("https://"))
    rest = std::string_view(url).substr(8);
  else
    return false;
  if (rest.empty() || rest.front() == '/' || rest.front() == ':' || rest.front() == '?' ||
      rest.front() == '#')
    return false;  // no host
  for (char c : rest)
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  return true;
}

// The URL with `params` appended, percent-encoded; checks the scheme and the host first.
std::string build_url(const std::string& url, const request_options& o) {
  if (o.params.empty() && plainly_valid(url)) return url;
  std::unique_ptr<CURLU, curlu_deleter> u(curl_url());
  if (!u) throw std::bad_alloc();
  CURLUcode rc = curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0);
  if (rc == CURLUE_UNSUPPORTED_SCHEME)
    throw unsupported_scheme_error("unsupported URL scheme (http and https only)", url);
  if (rc != CURLUE_OK)
    throw invalid_url_error(std::string("invalid URL (") + curl_url_strerror(rc) + ")", url);
  char* part = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &part, 0) != CURLUE_OK)
    throw invalid_url_error("invalid URL (no scheme)", url);
  std::string scheme(part);
  curl_free(part);
  if (scheme != "http" && scheme != "https")
    throw unsupported_scheme_error(
        "unsupported URL scheme \"" + scheme + "\" (http and https only)", url);
  if (curl_url_get(u.get(), CURLUPART_HOST, &part, 0) != CURLUE_OK)
    throw invalid_url_error("invalid URL (no host)", url);
  curl_free(part);
  if (o.params.empty()) return url;
  for (const auto& [k, v] : o.params) {
    std::string kv = k + "=" + v;
    rc = curl_url_set(u.get(), CURLUPART_QUERY, kv.c_str(), CURLU_APPENDQUERY | CURLU_URLENCODE);
    if (rc != CURLUE_OK)
      throw invalid_url_error(
          std::string("invalid query parameter (") + curl_url_strerror(rc) + ")", url);
  }
  if (curl_url_get(u.get(), CURLUPART_URL, &part, 0) != CURLUE_OK)
    throw invalid_url_error("invalid URL", url);
  std::string out(part);
  curl_free(part);
  return out;
}

std::string escape(CURL* easy, const std::string& s) {
  char* e = curl_easy_escape(easy, s.data(), static_cast<int>(s.size()));
  if (!e) throw std::bad_alloc();
  std::string out(e);
  curl_free(e);
  return out;
}

// Fills st.body and returns its default Content-Type ("" when there is no body).
std::string encode_body(request_state& st, const request_options& o) {
  int bodies = int{o.data.has_value()} + int{o.text.has_value()} + int{o.json.has_value()} +
               int{o.form.has_value()};
  if (bodies > 1)
    throw std::invalid_argument("http request: set at most one of data, text, json and form");
  if (o.data) {
    st.body = *o.data;
    return "application/octet-stream";
  }
  if (o.text) {
    st.body = *o.text;
    return "text/plain; charset=utf-8";
  }
  if (o.json) {
    st.body = o.json->dump();
    return "application/json";
  }
  if (o.form) {
    for (const auto& [k, v] : *o.form) {
      if (!st.body.empty()) st.body += '&';
      st.body += escape(st.easy, k) + "=" + escape(st.easy, v);
    }
    return "application/x-www-form-urlencoded";
  }
  return {};
}

void append_header(request_state& st, const std::string& name, const std::string& value) {
  std::string line = name + ": " + value;
  curl_slist* l = curl_slist_append(st.header_list, line.c_str());
  if (!l) throw std::bad_alloc();
  st.header_list = l;
}

// Methods are upper case on the wire; "get" means GET, as in aiohttp (which upper-cases too).
std::string upper(const std::string& method) {
  std::string out = method;
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

long to_ms(double seconds) noexcept {
  return seconds <= 0 ? 0L : std::max(1L, static_cast<long>(std::llround(seconds * 1e3)));
}

const std::string& default_user_agent() {
  static const std::string ua =
      std::string("tandem/0.1 libcurl/") + curl_version_info(CURLVERSION_NOW)->version;
  return ua;
}

}  // namespace

void prepare(request_state& st, const std::string& method_as_given, const std::string& url,
             const request_options& o, const session_options& s, bool blocking) {
  CURL* e = st.easy;
  st.method = upper(method_as_given);
  const std::string& method = st.method;
  st.url = build_url(url, o);
  st.timeout = o.timeout.value_or(s.timeout);
  st.max_body = o.max_body_size.value_or(s.max_body_size);
  st.follow = o.allow_redirects;
  st.max_redirects = o.max_redirects.value_or(s.max_redirects);
  st.stream = o.stream;
  st.last_byte_ns = now_ns();
  const std::string content_type = encode_body(st, o);

  for (const auto& [name, value] : s.headers)
    if (!o.headers.contains(name)) append_header(st, name, value);
  for (const auto& [name, value] : o.headers) append_header(st, name, value);
  if (!content_type.empty() && !o.headers.contains("content-type") &&
      !s.headers.contains("content-type"))
    append_header(st, "Content-Type", content_type);

  curl_easy_setopt(e, CURLOPT_URL, st.url.c_str());
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: we may run on any thread
  curl_easy_setopt(e, CURLOPT_PROXY, "");     // environment proxies off (aiohttp's trust_env=False)
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");  // never follow to file://
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, st.follow ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_MAXREDIRS, static_cast<long>(st.max_redirects));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, to_ms(st.timeout.connect));
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to_ms(st.timeout.total));
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, s.verify_tls ? 1L : 0L);
  curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, s.verify_tls ? 2L : 0L);
  if (!s.ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, s.ca_file.c_str());
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION,
                   s.http2 ? CURL_HTTP_VERSION_2TLS : CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");  // every encoding curl decodes (aiohttp too)
  curl_easy_setopt(e, CURLOPT_USERAGENT,
                   s.user_agent.empty() ? default_user_agent().c_str() : s.user_agent.c_str());
  if (st.max_body < static_cast<std::size_t>(INT64_MAX))  // refuse an announced oversize body early
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(st.max_body));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, st.header_list);
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, st.errbuf);
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, &st);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, &st);
  if (blocking) {
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_xferinfo);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, &st);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
  }

  const bool has_body = !content_type.empty();
  if (method == "GET" && !has_body) {
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  } else {
    if (method != "POST") curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method.c_str());
    if (has_body || method == "POST") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(st.body.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, st.body.data());
    }
  }
}

std::exception_ptr finish(request_state& st, CURLcode code) {
  char* effective = nullptr;
  curl_easy_getinfo(st.easy, CURLINFO_EFFECTIVE_URL, &effective);
  std::string where = effective ? std::string(effective) : st.url;
  if (code == CURLE_OK && !st.cap_hit && !st.read_timeout_hit) {
    st.resp.set_url(std::move(where));  // version and reason came with the status line
    return nullptr;
  }
  const std::string detail = st.errbuf[0] ? std::string(st.errbuf) : curl_easy_strerror(code);
  auto seconds = [](double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", s);
    return std::string(buf);
  };
  if (st.read_timeout_hit)
    return std::make_exception_ptr(
        timeout_error("no data for " + seconds(st.timeout.read) + " s (read timeout)", where,
                      timeout_kind::read));
  if (st.cap_hit || code == CURLE_FILESIZE_EXCEEDED)
    return std::make_exception_ptr(body_too_large_error(
        "response body larger than max_body_size (" + std::to_string(st.max_body) + " bytes)",
        where));
  switch (code) {
    case CURLE_URL_MALFORMAT:
      return std::make_exception_ptr(invalid_url_error("invalid URL (" + detail + ")", where));
    case CURLE_UNSUPPORTED_PROTOCOL:
      return std::make_exception_ptr(unsupported_scheme_error(
          "unsupported scheme, http and https only (" + detail + ")", where));
    case CURLE_COULDNT_RESOLVE_HOST:
      return std::make_exception_ptr(dns_error("cannot resolve host (" + detail + ")", where));
    case CURLE_COULDNT_CONNECT: {
      long os = 0;
      curl_easy_getinfo(st.easy, CURLINFO_OS_ERRNO, &os);
      if (os == ECONNREFUSED)
        return std::make_exception_ptr(
            connection_refused_error("connection refused (" + detail + ")", where));
      return std::make_exception_ptr(connection_error("cannot connect (" + detail + ")", where));
    }
    case CURLE_OPERATION_TIMEDOUT: {
      curl_off_t connected_us = 0;
      curl_easy_getinfo(st.easy, CURLINFO_CONNECT_TIME_T, &connected_us);
      const bool in_connect = connected_us == 0 && st.timeout.connect > 0 &&
                              (st.timeout.total <= 0 || st.timeout.connect < st.timeout.total);
      if (in_connect)
        return std::make_exception_ptr(
            timeout_error("connect timed out after " + seconds(st.timeout.connect) + " s", where,
                          timeout_kind::connect));
      return std::make_exception_ptr(
          timeout_error("request timed out after " + seconds(st.timeout.total) + " s (total)",
                        where, timeout_kind::total));
    }
    case CURLE_TOO_MANY_REDIRECTS:
      return std::make_exception_ptr(too_many_redirects_error(
          "more than " + std::to_string(st.max_redirects) + " redirects", where));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
      return std::make_exception_ptr(tls_error("TLS failed (" + detail + ")", where));
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
      return std::make_exception_ptr(connection_error("connection lost (" + detail + ")", where));
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_HTTP3:
      return std::make_exception_ptr(protocol_error("invalid HTTP reply (" + detail + ")", where));
    default:
      return std::make_exception_ptr(error("request failed (" + detail + ")", where));
  }
}

std::optional<double> retry_delay(const retry_options& r, const std::string& method, int attempt,
                                  const std::exception_ptr& error, int status) {
  if (attempt >= r.attempts) return std::nullopt;
  static constexpr std::array<std::string_view, 6> idempotent = {"GET",    "HEAD",    "PUT",
                                                                 "DELETE", "OPTIONS", "TRACE"};
  if (r.idempotent_only &&
      std::find(idempotent.begin(), idempotent.end(), method) == idempotent.end())
    return std::nullopt;
  if (error) {
    if (!r.on_connection_errors) return std::nullopt;
    try {
      std::rethrow_exception(error);
    } catch (const tls_error&) {
      return std::nullopt;  // a certificate that failed will fail again
    } catch (const connection_error&) {
    } catch (const timeout_error&) {
    } catch (...) {
      return std::nullopt;
    }
  } else if (std::find(r.statuses.begin(), r.statuses.end(), status) == r.statuses.end()) {
    return std::nullopt;
  }
  double delay = std::min(r.max_backoff, r.backoff * std::ldexp(1.0, attempt - 1));
  thread_local std::minstd_rand rng{std::random_device{}()};
  const double j = std::clamp(r.jitter, 0.0, 1.0);
  delay *= std::uniform_real_distribution<double>(1.0 - j, 1.0 + j)(rng);
  return std::max(0.0, delay);
}

}  // namespace tandem::http::detail
