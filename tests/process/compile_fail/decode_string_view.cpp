// Must not compile: a std::string_view decoded in a worker would point into a freed buffer.
#include <string_view>

#include "tandem/process/codec.hpp"

std::string_view receive(tandem::decoder& d) { return tandem::decode<std::string_view>(d); }
