// The http layer: an async client session on libcurl, a blocking fetch for threads, and a small
// async server. docs/http.md is the guide.
#pragma once

#include "tandem/http/errors.hpp"
#include "tandem/http/fetch.hpp"
#include "tandem/http/headers.hpp"
#include "tandem/http/options.hpp"
#include "tandem/http/response.hpp"
#include "tandem/http/server.hpp"
#include "tandem/http/session.hpp"
#include "tandem/http/status.hpp"
