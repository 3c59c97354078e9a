// Must not compile: a std::thread cannot be sent to a worker process.
#include <thread>

#include "tandem/process/codec.hpp"

void send(tandem::encoder& e, const std::thread& t) { tandem::encode(e, t); }
