// Must not compile: a std::unique_ptr (here inside a container) cannot be sent; the error names it.
#include <map>
#include <memory>
#include <string>

#include "tandem/process/codec.hpp"

void send(tandem::encoder& e, const std::map<std::string, std::unique_ptr<int>>& m) {
  tandem::encode(e, m);
}
