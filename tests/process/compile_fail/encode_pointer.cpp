// Must not compile: a pointer means nothing in another process.
#include "tandem/process/codec.hpp"

void send(tandem::encoder& e, int* p) { tandem::encode(e, p); }
